"""ta_test: a cc_test of the public ta_* API, re-run under environment variants.

ta_test(name = "x_test", srcs = ["x_test.c"]) emits
    x_test          the plain test (glibc keeps malloc; the test calls ta_* directly; thread caches on)
    x_test_arenas1  the same binary with TAMALLOC_ARENAS=1 (every thread shares one arena)
    x_test_check2   the same binary with TAMALLOC_CHECK=2 (full invariant checks; caches off)
    x_test_cache0   the same binary with TAMALLOC_CACHE=0 (every call goes to the arena)
    x_test_all      a test_suite of all of them.
env_variants = False emits only the plain test (still wrapped in <name>_all).
"""

load("//alloc:copts.bzl", "TA_TEST_COPTS")

TA_ENV_VARIANTS = {
    "arenas1": {"TAMALLOC_ARENAS": "1"},
    "cache0": {"TAMALLOC_CACHE": "0"},
    "check2": {"TAMALLOC_CHECK": "2"},
}

def ta_test(name, srcs, deps = [], env_variants = True, env = {}, **kwargs):
    common = dict(
        srcs = srcs,
        copts = TA_TEST_COPTS,
        deps = deps + ["//alloc:tamalloc", "//tests/testlib", "@cmocka"],
        malloc = "//alloc:system_malloc",
        **kwargs
    )
    native.cc_test(name = name, env = env, **common)
    tests = [name]
    for suffix, extra in (TA_ENV_VARIANTS.items() if env_variants else []):
        variant_env = dict(env)
        variant_env.update(extra)
        native.cc_test(name = name + "_" + suffix, env = variant_env, **common)
        tests.append(name + "_" + suffix)
    native.test_suite(name = name + "_all", tests = tests)
