"""Compiler options shared by every tamalloc target."""

TA_COPTS = [
    "-std=c11",
    "-O2",  # the allocator is hot in every test, sanitizer runs included
    "-fomit-frame-pointer",  # Bazel's toolchain keeps frame pointers; the fast paths do without
    "-D_GNU_SOURCE",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-fvisibility=hidden",
    "-ftls-model=initial-exec",
]

# Tests may use internals and POSIX extensions; they keep warnings as errors.
TA_TEST_COPTS = [
    "-std=gnu11",
    "-D_GNU_SOURCE",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-parameter",
]
