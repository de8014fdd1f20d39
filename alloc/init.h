/* init.h - process-wide one-time initialisation as an atomic state machine
 * (uninitialised -> initialising -> ready). Until ready, ta_small_limit is 0, so every ta_malloc
 * takes its slow path, which calls ta_init(): the uninitialised state is data, not a fast-path
 * branch. Phase 1 (no call that may allocate) ends by publishing ready; phase 2 then registers the
 * fork handlers, which may allocate, so a re-entrant malloc from there is served normally. */
#ifndef TA_INIT_H
#define TA_INIT_H

#include <stddef.h>

#include "alloc/platform/atomic.h"
#include "alloc/platform/compiler.h"

/* Requests below this go to the arenas; 0 until init is done (read on every ta_malloc). */
extern ta_atomic_size ta_small_limit_a TA_HIDDEN;

static TA_ALWAYS_INLINE size_t ta_small_limit(void) { return ta_atomic_load_relaxed(&ta_small_limit_a); }
/* The mmap threshold follows the program, as glibc's does, but only where mappings churn: when the
 * free of a mapped block of `usable` bytes (under TA_MMAP_THRESHOLD_MAX) overflowed its arena's
 * kept mappings (ta_decay_large_put), the limit rises past it, so the program's next blocks of that
 * size come from the arenas, whose free pages are reused in place (and go back by decay once they
 * stay free), not from fresh mappings faulted in page by page and unmapped at each free. A program
 * whose few mapped blocks the kept mappings serve keeps them mapped (exact, unfragmented). Never
 * lowered; fixed when TAMALLOC_MMAP_THRESHOLD is set or by ta_small_limit_fix. */
TA_HIDDEN void ta_small_limit_follow(size_t usable);
/* mallopt(M_MMAP_THRESHOLD): from now on requests of limit bytes or more get their own mapping (the
 * caller checks limit against TA_MMAP_THRESHOLD_MIN..MAX), and the limit no longer follows the
 * program, as TAMALLOC_MMAP_THRESHOLD would have fixed it. Initialises the allocator first. */
TA_HIDDEN void ta_small_limit_fix(size_t limit);
/* Returns once the allocator is ready. */
TA_HIDDEN void ta_init(void);

#endif
