/* shim/hooks.h - the drop-in's tooling dispatch: TAMALLOC_TRACE recording (trace.h), the
 * TAMALLOC_HEAP_MAP file, written at exit and, after a SIGUSR2, by the next allocation call
 * that leaves the fast path, and (TAMALLOC_PROF_SIGNAL=1) a heap profile after a SIGUSR2 the same
 * way.
 *
 * The C library names test one word, ta_hooks: malloc and free in their exits only (api_fast.h;
 * tracing turns the thread cache off, so every traced call reaches one, and a heap map requested
 * by SIGUSR2 is written at the next exit, at the latest when the free countdown runs out), the
 * other names on every call. Zero (the common case, after the first call) costs one relaxed load
 * and a not-taken branch; non-zero sends the call to its ta_hooked_* twin here, which services a
 * pending heap-map request, calls the ta_* function and records it. Linked only into
 * tamalloc_override and libtamalloc.so: a program that uses only the ta_* API gets neither the
 * constructor nor the SIGUSR2 handler of this file. */
#ifndef TA_SHIM_HOOKS_H
#define TA_SHIM_HOOKS_H

#include <stddef.h>

#include "alloc/platform/atomic.h"
#include "alloc/platform/compiler.h"

enum {
    TA_HOOK_TRACE = 1,       /* TAMALLOC_TRACE is recording */
    TA_HOOK_HEAP_MAP = 2,    /* SIGUSR2 asked for a heap map */
    TA_HOOK_UNDECIDED = 4,   /* the first call has not read the options yet */
    TA_HOOK_PROF = 8,        /* SIGUSR2 asked for a heap profile (TAMALLOC_PROF_SIGNAL=1) */
};
extern ta_atomic_int ta_hooks TA_HIDDEN;

static TA_ALWAYS_INLINE int ta_hooks_active(void) { return ta_atomic_load_relaxed(&ta_hooks) != 0; }

/* Decides the hooks at the first call and writes a pending heap map; for an exit that has done its
 * call's work already (free's tick countdown). */
TA_HIDDEN void ta_hooks_service(void);

/* The C library names' work when ta_hooks is non-zero. */
TA_HIDDEN void *ta_hooked_malloc(size_t size);
TA_HIDDEN void ta_hooked_free(void *p);
TA_HIDDEN void *ta_hooked_calloc(size_t n, size_t size);
TA_HIDDEN void *ta_hooked_realloc(void *p, size_t size);
TA_HIDDEN void *ta_hooked_reallocarray(void *p, size_t n, size_t size);
TA_HIDDEN int ta_hooked_posix_memalign(void **out, size_t alignment, size_t size);
TA_HIDDEN void *ta_hooked_aligned_alloc(size_t alignment, size_t size);
/* memalign, valloc and pvalloc (the shim computes the page alignment and size of the last two). */
TA_HIDDEN void *ta_hooked_memalign(size_t alignment, size_t size);

#endif
