/* unwind.h - the calling thread's stack, for the heap profiler's samples.
 *
 * Contract: ta_os_backtrace(pcs, max) stores the return addresses of the caller's frames,
 * innermost first (the first is an address in the function it is written in: it is always inlined,
 * so no frame of its own is unwound), up to max; returns how many. It unwinds by the .eh_frame
 * tables (libgcc's _Unwind_Backtrace), so it works for code built without frame pointers (GCC's
 * default at -O2). The unwinder is libgcc's own, linked in (-static-libgcc, alloc/BUILD): nothing
 * is dlopen'ed at the first call, as glibc's backtrace() does with libgcc_s (which allocates), and
 * with glibc >= 2.35 it finds each frame's tables through _dl_find_object, which takes no lock and
 * does not allocate. errno is preserved. About 90 ns a frame on the machine of the benchmarks.
 * Debian's libunwind (unw_backtrace, which caches each return address's frame layout) unwinds the
 * same 8 frames in 65 ns, and was tried (dlopen'ed with the profiler on): under TSan it reported a
 * data race inside libunwind (a global signal mask written under its lock, read without) and
 * forked children of stress/prof_dump failed, so the unwinder that is fork-safe and race-free
 * (_dl_find_object, no lock) stays.
 * Layer L0 (platform). */
#ifndef TA_PLATFORM_UNWIND_H
#define TA_PLATFORM_UNWIND_H

#include <errno.h>
#include <stdint.h>
#include <unwind.h>

#include "alloc/platform/compiler.h"

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
    ta_unwind u = {pcs, 0, max};
    _Unwind_Backtrace(ta_unwind_frame, &u);
    errno = saved;
    return u.n;
}

#endif
