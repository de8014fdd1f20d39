/* prof_prog.h - what the heap profiler's test programs share.
 * NOIPA: a call site the tests look for by name. GCC: not inlined and no clone made of it
 * (site_big.constprop.0 would be the name in the profile); clang has no such attribute and makes no
 * such clones. */
#ifndef TA_TESTS_PROF_PROG_H
#define TA_TESTS_PROF_PROG_H

#if defined(__clang__)
#define NOIPA __attribute__((noinline))
#else
#define NOIPA __attribute__((noinline, noipa))
#endif

#endif
