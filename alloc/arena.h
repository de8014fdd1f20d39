/* arena.h - one arena: a lock, an address-ordered next-fit free list over its segments, and the
 * remote free queue other threads push onto. Which thread uses which arena is arena_table's job. */
#ifndef TA_ARENA_H
#define TA_ARENA_H

#include <stddef.h>

#include "alloc/freelist.h"
#include "alloc/large.h"
#include "alloc/platform/atomic.h"
#include "alloc/platform/compiler.h"
#include "alloc/platform/lock.h"
#include "alloc/remote.h"
#include "alloc/segment.h"

/* Events counted over one decay period (decay.c's churn rule for mapped blocks): the count starts
 * again once a decay time has passed since start. Relaxed atomics, so that one shared by threads
 * needs no lock (a restart racing with a count loses that count at most). */
typedef struct ta_churn_window {
    ta_atomic_u64 a_start_ms;
    ta_atomic_size a_n;
} ta_churn_window;

typedef struct ta_arena {
    /* --- owner side: everything below up to `remote` is guarded by `lock` --- */
    ta_lock lock;
    ta_freelist fl;               /* free blocks of all its segments, address order */
    ta_segment *segments;         /* its segments, address order */
    size_t nsegments;
    size_t empty_segments;        /* segments whose whole area is one free block */
    ta_block *pending;            /* remote frees taken from the queue, not yet drained */
    size_t allocated;             /* usable bytes in live blocks */
    size_t live_blocks;           /* live (USED) blocks */
    size_t purging_size;          /* free runs out of the list while decay gives their pages back
                                     (PURGING, counted in allocated and live_blocks): their bytes */
    size_t purging_blocks;        /* and their count; stats report them as free, not allocated */
    ta_atomic_size a_drained;     /* remote frees drained (under the lock, or into a thread cache
                                     by a thread of this arena: relaxed adds) */
    unsigned index;               /* position in the arena table (fixed) */
    ta_atomic_int a_ready;        /* 1 once initialised (release/acquire) */
    /* giving memory back over time (decay.c); guarded by `lock` */
    ta_atomic_u64 a_next_tick_ms; /* the next decay tick is due at this time (ta_os_now_ms); read
                                     without the lock by other arenas' ticks (idle arenas) */
    unsigned tick_ops;            /* operations since the clock was last read */
    ta_atomic_u64 a_clock_ms;     /* when the clock was last read (every TA_TICK_OPS operations) */
    ta_atomic_int a_tick_due;     /* set under the lock; the caller runs the tick after unlocking:
                                     1 due, 2 due after the arena sat idle for a decay time (what is
                                     free has been free that long: no candidate round needed) */
    unsigned lcache_n;            /* freed large mappings kept for reuse */
    size_t lcache_bytes;          /* their mapped bytes */
    ta_large *lcache[TA_LARGE_CACHE_SLOTS];
    uint64_t lcache_ms[TA_LARGE_CACHE_SLOTS];   /* when each was freed */
    ta_churn_window lcache_churn; /* kept mappings pushed out for room, over a decay period */
    /* user heaps (api_heaps.c; 0 / NULL in the threads' arenas): a user heap is an arena of the
     * table's second range, never assigned to a thread, so a_threads stays 0 and every free of its
     * blocks by any thread is a remote push the pusher drains at once (ta_arena_free_remote): no
     * thread cache or outbox ever holds one of its blocks.
     * Invariant: user_large_n == length of user_large; user_large_usable, user_large_mapped == sums
     * of their usable and mapped bytes. */
    unsigned user;                /* 1 + the heap's slot; fixed while the slot is claimed */
    ta_large *user_large;         /* its live large blocks */
    size_t user_large_n, user_large_usable, user_large_mapped;
    /* --- producers' line: written by other threads' frees --- */
    TA_CACHELINE_ALIGNED ta_remote remote;
    /* --- assignment line: live threads holding this arena --- */
    TA_CACHELINE_ALIGNED ta_atomic_size a_threads;
    /* user heaps: odd while the heap lives; bumped when created and when destroyed, so a handle
     * (slot, generation) of a destroyed heap never matches again (arena_table.c, api_heaps.c) */
    ta_atomic_u32 a_user_gen;
    int user_busy;                /* slot claimed (arena table lock) */
} ta_arena;

/* Takes and gives back the arena's lock; for the thread-safety analysis, holding it also holds the
 * free list (a->fl), which every ta_fl_*_locked function requires. */
static TA_ALWAYS_INLINE void ta_arena_lock(ta_arena *a) TA_ACQUIRE(a->lock, a->fl) TA_NO_TSA { ta_lock_acquire(&a->lock); }
static TA_ALWAYS_INLINE void ta_arena_unlock(ta_arena *a) TA_RELEASE(a->lock, a->fl) TA_NO_TSA { ta_lock_release(&a->lock); }
static TA_ALWAYS_INLINE int ta_arena_trylock(ta_arena *a) TA_TRY_ACQUIRE(1, a->lock, a->fl) TA_NO_TSA {
    return ta_lock_try(&a->lock);
}

/* a must be zero-filled storage (the table's static array, or a test's). */
TA_HIDDEN void ta_arena_init(ta_arena *a, unsigned index);
/* TAMALLOC_CHECK=2: run after every locked allocation and free (set once by init). */
extern void (*ta_arena_full_check)(ta_arena *a) TA_HIDDEN;

/* A USED block of at least bsize bytes (a ta_block_size_for value) whose user pointer is aligned
 * to align; grows by a segment when nothing fits. NULL with errno ENOMEM when the OS refuses. */
TA_HIDDEN void *ta_arena_alloc(ta_arena *a, size_t bsize, size_t align) TA_EXCLUDES(a->lock);
/* Frees claimed block b (state QUEUED) of this arena, from a thread using this arena. */
TA_HIDDEN void ta_arena_free_local(ta_arena *a, ta_block *b) TA_EXCLUDES(a->lock);
/* Frees claimed block b of arena a from a thread using another arena: a lock-free push. If a has
 * no live thread, the pusher drains it so nothing is stranded. */
TA_HIDDEN void ta_arena_free_remote(ta_arena *a, ta_block *b) TA_EXCLUDES(a->lock);
/* The thread caches' refill: one lock, one next-fit search for a free block of at least bsize
 * bytes (growing by a segment when none fits), and up to want adjacent blocks of bsize bytes carved
 * from its front in address order. It does not drain the remote queue (the cache takes it). *first is USED (the caller's malloc); the others, at
 * *first + i * bsize, are CACHED. Returns how many (>= 1), or 0 with errno ENOMEM. */
TA_HIDDEN size_t ta_arena_alloc_batch(ta_arena *a, size_t bsize, size_t want, ta_block **first) TA_EXCLUDES(a->lock);
/* The thread caches' flush: n blocks of a (verified by the cache: CACHED, or QUEUED ones it took
 * from the remote queue) go back under one lock, each coalescing through the normal release path. */
TA_HIDDEN void ta_arena_free_batch(ta_arena *a, ta_block *const *blocks, size_t n) TA_EXCLUDES(a->lock);
/* A chain of n claimed blocks of a (QUEUED), linked head -> tail as the remote queue links them,
 * pushed with one compare-and-swap; drained now if a has no live thread. */
TA_HIDDEN void ta_arena_free_remote_chain(ta_arena *a, ta_block *head, ta_block *tail, size_t n);
/* Resizes USED block b of a in place (caller uses arena a). Returns 1 on success. */
TA_HIDDEN int ta_arena_resize(ta_arena *a, ta_block *b, size_t new_bsize) TA_EXCLUDES(a->lock);
/* Drains the whole remote queue and unmaps every empty segment. */
TA_HIDDEN void ta_arena_collect(ta_arena *a) TA_EXCLUDES(a->lock);
/* Drains every queued remote free (used by thread exit and ownerless pushes). */
TA_HIDDEN void ta_arena_drain_all(ta_arena *a) TA_EXCLUDES(a->lock);
/* The same, lock held (decay.c: an idle arena's tick, so frees its idle owner would drain only at
 * its next call can go back). */
TA_HIDDEN void ta_arena_drain_all_locked(ta_arena *a) TA_REQUIRES(a->lock, a->fl);

/* Adds mapped segment s (owned by a) to a's address-ordered segment list and its whole block area
 * to the free list; unlinking removes an empty segment (its one free block) from both. The caller
 * maps before and unmaps after, with the lock released, and keeps nsegments/empty_segments. */
TA_HIDDEN void ta_arena_link_segment_locked(ta_arena *a, ta_segment *s) TA_REQUIRES(a->lock, a->fl);
TA_HIDDEN void ta_arena_unlink_segment_locked(ta_arena *a, ta_segment *s) TA_REQUIRES(a->lock, a->fl);

/* ---- for decay.c: taking free runs out to give their pages back, and putting them back ---- */

/* Segments unlinked under the lock, unmapped by the caller after unlocking. */
typedef struct ta_arena_unmap_list { ta_segment *head; } ta_arena_unmap_list;
TA_HIDDEN void ta_arena_unmap_all(ta_arena_unmap_list *l);
/* Takes listed free block b off the free list as if allocated (state PURGING, counted in
 * allocated), so no one carves it while its pages are given back with the lock released. */
TA_HIDDEN void ta_arena_take_free_locked(ta_arena *a, ta_block *b) TA_REQUIRES(a->lock, a->fl);
/* Puts a block taken so (or any claimed block) back: coalescing release. */
TA_HIDDEN void ta_arena_put_back_locked(ta_arena *a, ta_block *b) TA_REQUIRES(a->lock, a->fl);
/* In a forked child: runs another thread of the parent had out of the list for decay when the
 * process forked (PURGING) would never come back, that thread being gone: every one goes back to
 * the free list (its pages as they were, purged or not). Locks a. */
TA_HIDDEN void ta_arena_recover_purging(ta_arena *a) TA_EXCLUDES(a->lock);
/* Unlinks the empty segment s (its one free block) for unmapping after unlock. */
TA_HIDDEN void ta_arena_drop_empty_locked(ta_arena *a, ta_segment *s, ta_arena_unmap_list *out) TA_REQUIRES(a->lock, a->fl);
/* Is a decay tick due (set by the arena's operations every TA_TICK_OPS, from the clock)? */
static TA_ALWAYS_INLINE int ta_arena_tick_due(ta_arena *a) { return ta_atomic_load_relaxed(&a->a_tick_due) != 0; }

/* ta_heap_destroy (user arenas only): under the lock, takes every segment and large block out of a
 * and resets it empty (a new free list, counters zero, the remote queue and its counters too);
 * remote frees still queued are dropped (their blocks lie in those segments). Returns the segments, linked by next, for
 * the caller to unmap with the lock released; *large gets the large blocks (heap_next links). */
TA_HIDDEN ta_segment *ta_arena_discard_user(ta_arena *a, ta_large **large) TA_EXCLUDES(a->lock);

/* Heap walk over the arena's blocks in address order (locks the arena). */
typedef int (*ta_arena_visit_fn)(ta_arena *a, ta_block *b, int is_free, int is_rover, void *ctx);
TA_HIDDEN int ta_arena_walk(ta_arena *a, ta_arena_visit_fn fn, void *ctx) TA_EXCLUDES(a->lock);

TA_HIDDEN void ta_arena_fork_prepare(ta_arena *a);
TA_HIDDEN void ta_arena_fork_parent(ta_arena *a);
TA_HIDDEN void ta_arena_fork_child(ta_arena *a);

#endif
