/* compiler.h - compiler attributes and the clang thread-safety macros.
 * Owns: every __attribute__ spelling the library uses, so the rest of the code reads as intent.
 * Relies on: GCC or clang. No OS headers, no runtime code. */
#ifndef TA_PLATFORM_COMPILER_H
#define TA_PLATFORM_COMPILER_H

#define TA_LIKELY(x)        __builtin_expect(!!(x), 1)
#define TA_UNLIKELY(x)      __builtin_expect(!!(x), 0)
#define TA_NOINLINE         __attribute__((noinline))
#define TA_COLD             __attribute__((cold))
#define TA_ALWAYS_INLINE    inline __attribute__((always_inline))
/* The return address of the (outermost, not inlined) function it is written in. */
#define TA_RETURN_ADDRESS() __builtin_return_address(0)
#define TA_HIDDEN           __attribute__((visibility("hidden")))
#define TA_EXPORT           __attribute__((visibility("default")))
#define TA_NORETURN         __attribute__((noreturn))
#define TA_CACHELINE        64
#define TA_CACHELINE_ALIGNED __attribute__((aligned(TA_CACHELINE)))
#define TA_UNUSED           __attribute__((unused))
#define TA_TLS_IE           __attribute__((tls_model("initial-exec")))
/* A hint to bring the line at p into the cache; never faults, whatever p is. */
#define TA_PREFETCH(p)      __builtin_prefetch((p), 0, 3)

/* Clang thread-safety analysis (-Wthread-safety under --config=clang). In C, clang 14 accepts these
 * on functions and types but not guarded_by on struct members, so fields carry a comment instead. */
#if defined(__clang__)
#define TA_TSA(x)           __attribute__((x))
#else
#define TA_TSA(x)
#endif
#define TA_CAPABILITY(x)    TA_TSA(capability(x))
#define TA_REQUIRES(...)    TA_TSA(requires_capability(__VA_ARGS__))
#define TA_ACQUIRE(...)     TA_TSA(acquire_capability(__VA_ARGS__))
#define TA_RELEASE(...)     TA_TSA(release_capability(__VA_ARGS__))
#define TA_EXCLUDES(...)    TA_TSA(locks_excluded(__VA_ARGS__))
#define TA_TRY_ACQUIRE(...) TA_TSA(try_acquire_capability(__VA_ARGS__))
#define TA_NO_TSA           TA_TSA(no_thread_safety_analysis)

#endif
