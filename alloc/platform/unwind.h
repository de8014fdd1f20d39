/* unwind.h - the calling thread's stack, for the heap profiler's samples.
 *
 * Contract: ta_os_backtrace(pcs, max, stack) stores the return addresses of the frames above the
 * function it is written in (the first is that function's own return address), innermost first,
 * up to max; returns how many. stack is the thread's ta_os_stack (zero-initialised, owned by the
 * thread). errno is preserved; nothing is allocated, except once per thread (the stack's bounds).
 *
 * How. Frames are found by their DWARF call-frame information (.eh_frame), so code built without
 * frame pointers (GCC's default at -O2) is unwound in full. libgcc's unwinder (_Unwind_Backtrace,
 * linked in: -static-libgcc in alloc/BUILD, so nothing is dlopen'ed at the first sample as glibc's
 * backtrace() does with libgcc_s; it finds each frame's tables through glibc's _dl_find_object,
 * without a lock or an allocation) interprets the tables anew for every frame: about 100 ns a
 * frame. So the rule of each return address - where its frame's CFA is (%rsp or %rbp plus an
 * offset), where %rbp was saved, that the return address sits just below the CFA - is asked of
 * libgcc once (__frame_state_for, exported by libgcc for GCC 2's programs) and kept in a table
 * shared by all threads (one 16-byte slot per return address, 8192 slots, lock-free). The walk
 * starts from its own registers (%rsp, %rbp, return address, taken by a 6-instruction stub) and
 * applies each frame's rule: a table look-up and one or two loads, about 7 ns a frame
 * (bench/unwind_cost). It is exact wherever the rules are: frames of any size, alloca and frame
 * pointers included. Where there is no such rule (a signal frame, a CFA given by a DWARF
 * expression as in stack-realigning functions, code without unwind tables) or the walk would
 * leave the thread's stack (pthread_getattr_np, once per thread: a coroutine's stack), the stack
 * is unwound by libgcc instead; tests/unit:unwind_test checks both against libgcc frame for frame.
 * What is not checked: code unloaded by dlclose and other code loaded at its addresses keeps the
 * first code's rules, and would give wrong stacks (its reads stay on the thread's stack). Debian's
 * libunwind (unw_backtrace, which caches rules too) was tried and removed: under TSan it reported a
 * data race inside libunwind and forked children of stress/prof_dump failed.
 * Layer L0 (platform). */
#ifndef TA_PLATFORM_UNWIND_H
#define TA_PLATFORM_UNWIND_H

#include <stdint.h>

#include "alloc/platform/compiler.h"

/* The thread's stack, as the walk bounds its reads: found at the first walk. */
typedef struct ta_os_stack {
    uintptr_t lo, hi;   /* [lo, hi): the thread's stack */
    int known;          /* 0 not looked up yet, 1 lo/hi hold it, -1 not available */
} ta_os_stack;

TA_HIDDEN int ta_os_backtrace_from(void **pcs, int max, uintptr_t cfa, uintptr_t ra, ta_os_stack *stack);

/* Walks from the calling function's frame: its CFA and return address. */
#define ta_os_backtrace(pcs, max, stack) \
    ta_os_backtrace_from((pcs), (max), (uintptr_t)__builtin_dwarf_cfa(), \
                         (uintptr_t)__builtin_return_address(0), (stack))

/* Stacks walked by the rules, and stacks unwound by libgcc, since the start (tests, bench). */
typedef struct ta_os_unwind_counts { uint64_t walked, unwound; } ta_os_unwind_counts;
TA_HIDDEN ta_os_unwind_counts ta_os_unwind_counts_get(void);

#endif
