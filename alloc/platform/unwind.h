/* unwind.h - the calling thread's stack, for the heap profiler's samples.
 *
 * Contract:
 *  - ta_os_backtrace(pcs, max) stores the return addresses of the caller's frames, innermost first
 *    (the first is an address in the function it is written in: it is always inlined, so no frame
 *    of its own is unwound), up to max; returns how many. errno is preserved. It unwinds by the
 *    .eh_frame tables, so it works for code built without frame pointers (GCC's default at -O2):
 *      - with libunwind (Debian's libunwind8), once ta_os_unwind_load found it: unw_backtrace,
 *        which keeps a per-thread cache of each return address's frame layout (its memory is
 *        mmap'ed, not malloc'ed): about 65 ns for 8 frames on the machine of the benchmarks;
 *      - else with libgcc's _Unwind_Backtrace, linked in (-static-libgcc, alloc/BUILD): about
 *        900 ns for 9 frames (its CFA programs are interpreted anew for every frame). With
 *        glibc >= 2.35 it finds each frame's tables through _dl_find_object, which takes no lock
 *        and does not allocate.
 *  - ta_os_unwind_load(): dlopen's libunwind.so.8 (RTLD_LOCAL: none of its names are seen by the
 *    program) and takes unw_backtrace from it; 0, or -1 when it is not there (libgcc's unwinder
 *    stays). dlopen allocates: called once, when the profiler is on, from the load-time constructor
 *    after tamalloc's initialisation, never from an allocation. Nothing is loaded with the profiler
 *    off, so libtamalloc.so needs only libc.so.6.
 * Layer L0 (platform). */
#ifndef TA_PLATFORM_UNWIND_H
#define TA_PLATFORM_UNWIND_H

#include <errno.h>
#include <stdint.h>
#include <unwind.h>

#include "alloc/platform/compiler.h"

typedef int (*ta_unw_backtrace_fn)(void **pcs, int max);
extern ta_unw_backtrace_fn ta_os_unw_backtrace TA_HIDDEN;   /* libunwind's, or NULL */
TA_HIDDEN int ta_os_unwind_load(void);

typedef struct ta_unwind { void **pcs; int n, max; } ta_unwind;

static _Unwind_Reason_Code ta_unwind_frame(struct _Unwind_Context *ctx, void *arg) {
    ta_unwind *u = arg;
    if (u->n >= u->max) return _URC_END_OF_STACK;
    uintptr_t ip = _Unwind_GetIP(ctx);
    if (ip == 0) return _URC_END_OF_STACK;
    u->pcs[u->n++] = (void *)ip;
    return _URC_NO_REASON;
}

static TA_ALWAYS_INLINE int ta_os_backtrace(void **pcs, int max) {
    int saved = errno;
    ta_unw_backtrace_fn fast = ta_os_unw_backtrace;
    int n;
    if (fast) {
        n = fast(pcs, max);
        if (n < 0) n = 0;
    } else {
        ta_unwind u = {pcs, 0, max};
        _Unwind_Backtrace(ta_unwind_frame, &u);
        n = u.n;
    }
    errno = saved;
    return n;
}

#endif
