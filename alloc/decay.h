/* decay.h - giving memory back to the OS over time: the arenas' own operations read the clock every
 * TA_TICK_OPS and flag a tick every TAMALLOC_DECAY_MS; the caller (the thread cache's slow paths)
 * runs it once it holds no lock; large allocations and frees and thread exit tick by the clock, a
 * batch of remote frees ticks the idle arenas (an idle arena's tick drains its remote queue); with
 * TAMALLOC_BACKGROUND=1 (background.c) a thread also ticks every arena that is due. A tick
 *   - unmaps freed large mappings kept for reuse (ta_decay_large_*) that have waited a decay time;
 *   - unmaps empty segments, beyond the one an arena keeps, that were empty at the previous tick;
 *   - gives back (madvise MADV_DONTNEED) the whole pages inside free runs of at least
 *     TA_PURGE_MIN_RUN that were free and resident at the previous tick too (candidates), and makes
 *     the others candidates. A run being purged is taken off the free list as if allocated, so the
 *     madvise runs with the lock released and nobody can carve into the pages meanwhile.
 * ta_collect and malloc_trim run an immediate tick ("all"): every free page, every empty segment,
 * every kept large mapping. Purged pages read back as zero; freelist.c forgets them as soon as it
 * writes there (carving), and fl.purged counts them. */
#ifndef TA_DECAY_H
#define TA_DECAY_H

#include <stddef.h>

#include "alloc/arena.h"
#include "alloc/platform/compiler.h"
#include "alloc/platform/os.h"

/* One decay pass over arena a now; all: give back everything at once (collect). */
TA_HIDDEN void ta_decay_tick(ta_arena *a, int all) TA_EXCLUDES(a->lock);
/* Runs a tick when the arena's operations flagged one due. */
static TA_ALWAYS_INLINE void ta_decay_maybe(ta_arena *a) {
    if (TA_UNLIKELY(ta_arena_tick_due(a))) ta_decay_tick(a, 0);
}
/* Runs a tick when one is due by the clock at now; returns whether it did. */
static inline int ta_decay_poll_at(ta_arena *a, uint64_t now) {
    if (now < ta_atomic_load_relaxed(&a->a_next_tick_ms)) return 0;
    ta_decay_tick(a, 0);
    return 1;
}
/* Runs a tick when one is due by the clock (slow paths that do not count arena operations:
 * large frees, thread exit). */
static inline void ta_decay_poll(ta_arena *a) { (void)ta_decay_poll_at(a, ta_os_now_ms()); }
/* A thread that pushed a batch of remote frees to an arena whose tick is due: ticks, by trylock,
 * the arenas nobody else would (no live thread, or owners idle for a decay time), so frees sent to
 * an idle owner go back without it (a busy owner ticks itself). */
TA_HIDDEN void ta_decay_tick_idle_others(void);
static inline void ta_decay_poll_owner(ta_arena *owner) {
    if (ta_os_now_ms() >= ta_atomic_load_relaxed(&owner->a_next_tick_ms)) ta_decay_tick_idle_others();
}
/* In a forked child, after the arena's own fork handler: puts back the runs a vanished thread of the
 * parent was giving back (ta_arena_recover_purging), unless this thread was doing so itself. */
TA_HIDDEN void ta_decay_fork_child(ta_arena *a);
/* The background purge's round (background.c, TAMALLOC_BACKGROUND): every arena whose tick is due
 * gets it now, if its lock is free at once (a busy arena ticks itself). */
TA_HIDDEN void ta_decay_background_round(void);

/* Freed large mappings kept for reuse, a few per arena (the freeing thread's), under its lock. */
/* Keeps l (released by ta_large_release) for reuse; an entry pushed out is unmapped. Returns 1 when
 * a whole cache's worth (TA_LARGE_CACHE_SLOTS) of kept mappings has been pushed out for room within
 * one decay period (the program frees mapped blocks faster than they can be kept: the caller raises
 * the mmap threshold, ta_small_limit_follow), else 0. */
TA_HIDDEN int ta_decay_large_put(ta_arena *a, ta_large *l) TA_EXCLUDES(a->lock);
/* A mapped block freed by a thread without an arena is unmapped at once (no cache to keep it in):
 * returns 1 when TA_LARGE_CACHE_SLOTS such frees came within one decay period, as
 * ta_decay_large_put does for a cache's pushes out. */
TA_HIDDEN int ta_decay_large_unkept(void);
/* A kept mapping for a block that needs map_size bytes at a base aligned to align, removed from the
 * cache: the smallest one that fits as it is (up to ta_large_slack larger), else the one closest in
 * size (ta_large_reuse cuts it down, or grows it at most twofold); NULL when none is aligned and at
 * least half the size. */
TA_HIDDEN ta_large *ta_decay_large_take(ta_arena *a, size_t map_size, size_t align) TA_EXCLUDES(a->lock);

#endif
