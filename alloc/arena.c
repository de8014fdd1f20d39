/* arena.c - allocation, local and remote free, draining, growth and release for one arena.
 *
 * SYNCHRONIZATION
 *   a->lock guards the free list, the segment list, pending, and the counters above `remote` in
 *   struct ta_arena. Only threads assigned to the arena take its lock to allocate or free; other
 *   threads push onto a->remote without it. Exceptions that take any arena's lock: ta_collect,
 *   ta_check, ta_heap_walk, stats, fork and a pusher draining an arena with no live thread; a user
 *   heap (api_heaps.c) has no thread at all, so every thread allocating from it or freeing into it
 *   takes its lock (frees through the ownerless push-and-drain); they
 *   take arena locks in ascending index order, one at a time (fork: all at once, ascending).
 *   Lock ranks (platform/lock.h): cache_registry(1) < arena_table(2) < arena(3) < segmap(4), checked
 *   on every acquire in TA_DEBUG builds. The segmap lock may be taken while
 *   an arena lock is held, never the reverse. mmap/munmap run with no arena lock held: growth maps
 *   first and then links under the lock; release unlinks under the lock and unmaps after.
 *
 * INVARIANTS (check.c verifies them)
 *   allocated == sum of usable sizes of USED, QUEUED and CACHED blocks (every block out of the
 *   arena: with the user, on its way back, or in a thread cache); live_blocks == their count;
 *   fl.bytes + sum of sizes of those blocks == nsegments * TA_SEGMENT_DATA_SIZE;
 *   empty_segments == number of segments whose first block is free and spans the whole area;
 *   remote.a_pushed - a_drained == blocks on the queue + pending chain (when quiescent). */
#include "alloc/arena.h"

#include <errno.h>

#include "alloc/fault.h"
#include "alloc/options.h"
#include "alloc/platform/os.h"
#include "alloc/segment.h"

void (*ta_arena_full_check)(ta_arena *a);

/* Level 2 only: the full invariant walk after an operation, still under the lock. */
static TA_NOINLINE void arena_full_check_locked(ta_arena *a) TA_REQUIRES(a->lock, a->fl) {
    if (ta_arena_full_check) ta_arena_full_check(a);
}

void ta_arena_init(ta_arena *a, unsigned index) {
    ta_lock_init(&a->lock, TA_RANK_ARENA);
    ta_fl_init(&a->fl, ta_opt.check);
    a->segments = NULL;
    a->nsegments = a->empty_segments = 0;
    a->pending = NULL;
    a->allocated = a->live_blocks = 0;
    a->purging_size = a->purging_blocks = 0;
    ta_atomic_store_relaxed(&a->a_drained, (size_t)0);
    a->index = index;
    ta_atomic_store_relaxed(&a->a_next_tick_ms, (uint64_t)0);
    ta_atomic_store_relaxed(&a->a_clock_ms, ta_os_now_ms());
    a->tick_ops = 0;
    ta_atomic_store_relaxed(&a->a_tick_due, 0);
    a->lcache_n = 0;
    a->lcache_bytes = 0;
    ta_atomic_store_relaxed(&a->lcache_churn.a_start_ms, 0);
    ta_atomic_store_relaxed(&a->lcache_churn.a_n, 0);
    ta_remote_init(&a->remote);
    a->user_large = NULL;
    a->user_large_n = a->user_large_usable = a->user_large_mapped = 0;
    /* a_threads is left alone: assignment may count a thread in before the arena is initialised */
    ta_atomic_store_release(&a->a_ready, 1);
}

/* ---------------------------------------------------------------------------------------------
 * The segment list: address order, each segment's whole area one free block when linked.
 * ------------------------------------------------------------------------------------------- */

void ta_arena_link_segment_locked(ta_arena *a, ta_segment *s) {
    ta_segment *prev = NULL, *at = a->segments;
    while (at && at < s) { prev = at; at = at->next; }
    s->prev = prev;
    s->next = at;
    if (prev) prev->next = s; else a->segments = s;
    if (at) at->prev = s;
    ta_fl_add_segment_locked(&a->fl, s);
    if (TA_UNLIKELY(a->fl.level >= 2)) ta_fl_poison(s->start + TA_POISON_SKIP, s->end);
}

void ta_arena_unlink_segment_locked(ta_arena *a, ta_segment *s) {
    ta_fl_drop_segment_locked(&a->fl, s);
    if (s->prev) s->prev->next = s->next; else a->segments = s->next;
    if (s->next) s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Freeing under the lock, draining, releasing empty segments.
 * ------------------------------------------------------------------------------------------- */

typedef ta_arena_unmap_list arena_unmap_list;
#define arena_unmap_all ta_arena_unmap_all

void ta_arena_unmap_all(ta_arena_unmap_list *l) {
    while (l->head) {
        ta_segment *s = l->head;
        l->head = s->next;
        ta_segment_unmap(s);
    }
}

/* A release produced free block m. A segment that became empty stays mapped: decay (decay.c)
 * unmaps it once it has stayed empty for a tick, ta_collect at once. */
static void arena_note_free_locked(ta_arena *a, ta_block *m) TA_REQUIRES(a->lock, a->fl) {
    if (ta_segment_is_empty(m)) a->empty_segments++;
}

static void arena_release_locked(ta_arena *a, ta_block *b) TA_REQUIRES(a->lock, a->fl) {
    a->allocated -= ta_block_usable(b);
    a->live_blocks--;
    arena_note_free_locked(a, ta_fl_release_locked(&a->fl, b));
}

/* Counts an operation; every TA_TICK_OPS reads the clock and flags a due decay tick. */
static TA_ALWAYS_INLINE void arena_count_op_locked(ta_arena *a) TA_REQUIRES(a->lock, a->fl) {
    if (TA_LIKELY(++a->tick_ops < TA_TICK_OPS)) return;
    a->tick_ops = 0;
    uint64_t now = ta_os_now_ms(), last = ta_atomic_load_relaxed(&a->a_clock_ms);
    ta_atomic_store_relaxed(&a->a_clock_ms, now);
    if (now >= ta_atomic_load_relaxed(&a->a_next_tick_ms))
        ta_atomic_store_relaxed(&a->a_tick_due, now - last >= ta_opt.decay_ms ? 2 : 1);
}

void ta_arena_take_free_locked(ta_arena *a, ta_block *b) {
    if (ta_segment_is_empty(b)) a->empty_segments--;
    ta_fl_remove_locked(&a->fl, b);
    ta_block_set(b, b->size, TA_STATE_PURGING);
    a->allocated += ta_block_usable(b);
    a->live_blocks++;
    a->purging_size += b->size;
    a->purging_blocks++;
}

void ta_arena_put_back_locked(ta_arena *a, ta_block *b) {
    a->purging_size -= b->size;
    a->purging_blocks--;
    arena_release_locked(a, b);
}

void ta_arena_drop_empty_locked(ta_arena *a, ta_segment *s, ta_arena_unmap_list *out) {
    a->fl.purged -= TA_PAGE * ta_segment_touch(s, s->start, s->end);   /* its pages go with it */
    ta_arena_unlink_segment_locked(a, s);
    a->nsegments--;
    a->empty_segments--;
    s->next = out->head;
    out->head = s;
}

/* Drains up to budget remote frees; returns how many. Each queued block must lie in one of this
 * arena's segments (checked through segmap before its header is read) and be QUEUED. */
static size_t arena_drain_locked(ta_arena *a, size_t budget) TA_REQUIRES(a->lock, a->fl) {
    size_t n = 0;
    ta_block *from = NULL;   /* the entry whose link led to b; NULL when b came from the queue head */
    while (n < budget) {
        if (!a->pending) {
            a->pending = ta_remote_take_all(&a->remote);
            if (!a->pending) break;
            from = NULL;
        }
        ta_block *b = a->pending;
        ta_span *sp = ta_segmap_lookup(b);
        if (TA_UNLIKELY(((uintptr_t)b & (TA_ALIGN - 1)) || !sp || sp->kind != TA_SPAN_SEGMENT ||
                        ((ta_segment *)sp)->arena != a || !ta_block_is(b, TA_STATE_QUEUED))) {
            /* name the freed block whose link word was overwritten when there is one */
            if (from) ta_fault(TA_FAULT_CORRUPT_LINK, ta_block_user(from), "remote free queue link written after free");
            ta_fault(TA_FAULT_CORRUPT_LINK, b, "remote free queue entry");
        }
        ta_remote_prefetch_ahead(b);
        a->pending = ta_remote_next(b);
        from = b;
        arena_release_locked(a, b);
        n++;
    }
    ta_atomic_add_relaxed(&a->a_drained, n);
    return n;
}

static TA_ALWAYS_INLINE int arena_has_remote(ta_arena *a) TA_REQUIRES(a->lock, a->fl) {
    return a->pending != NULL || ta_remote_nonempty(&a->remote);
}

void ta_arena_free_local(ta_arena *a, ta_block *b) {
    ta_arena_lock(a);
    arena_release_locked(a, b);
    if (TA_UNLIKELY(arena_has_remote(a))) arena_drain_locked(a, TA_DRAIN_BATCH);
    if (TA_UNLIKELY(a->fl.level >= 2)) arena_full_check_locked(a);
    arena_count_op_locked(a);
    ta_arena_unlock(a);
}

void ta_arena_drain_all(ta_arena *a) {
    ta_arena_lock(a);
    while (arena_drain_locked(a, TA_DRAIN_BATCH) == TA_DRAIN_BATCH) {}
    ta_arena_unlock(a);
}

void ta_arena_drain_all_locked(ta_arena *a) {
    while (arena_drain_locked(a, TA_DRAIN_BATCH) == TA_DRAIN_BATCH) {}
}

/* After a push: if a has no live thread, nobody would drain it, so the pusher does. */
static void arena_drain_if_ownerless(ta_arena *a) TA_EXCLUDES(a->lock) {
    if (TA_UNLIKELY(ta_atomic_load_acquire(&a->a_threads) == 0) && ta_arena_trylock(a)) {
        while (arena_drain_locked(a, TA_DRAIN_BATCH) == TA_DRAIN_BATCH) {}
        ta_arena_unlock(a);
    }
}

void ta_arena_free_remote(ta_arena *a, ta_block *b) {
    ta_remote_push(&a->remote, b);
    arena_drain_if_ownerless(a);
}

void ta_arena_free_remote_chain(ta_arena *a, ta_block *head, ta_block *tail, size_t n) {
    ta_remote_push_chain(&a->remote, head, tail, n);
    arena_drain_if_ownerless(a);
}

/* blocks[i..j) side by side in memory, in ascending or descending address order from blocks[i]
 * (a bin's blocks carved together and freed in order): they go back as one block, one release and
 * one index update instead of one each. Each header was verified by the caller (CACHED or QUEUED),
 * so joining them loses no check: the absorbed ones become MERGED, as coalescing leaves them. */
static size_t arena_release_run_locked(ta_arena *a, ta_block *const *blocks, size_t i, size_t n) TA_REQUIRES(a->lock, a->fl) {
    ta_block *lo = blocks[i];
    char *end = (char *)lo + lo->size;
    size_t usable = ta_block_usable(lo), j = i + 1;
    for (; j < n; j++) {
        ta_block *b = blocks[j];
        if ((char *)b == end) end += b->size;                       /* the next one up */
        else if ((char *)b + b->size == (char *)lo) lo = b;         /* the next one down */
        else break;
        usable += ta_block_usable(b);
    }
    if (j - i > 1) {
        for (size_t k = i; k < j; k++)
            if (blocks[k] != lo) ta_fl_mark_merged(&a->fl, blocks[k]);
        ta_block_set(lo, (size_t)(end - (char *)lo), TA_STATE_QUEUED);   /* one claimed block */
        a->allocated -= usable - ta_block_usable(lo);   /* the release below takes lo's usable */
        a->live_blocks -= j - i - 1;
    }
    arena_release_locked(a, lo);
    return j;
}

void ta_arena_free_batch(ta_arena *a, ta_block *const *blocks, size_t n) {
    ta_arena_lock(a);
    for (size_t i = 0; i < n;) i = arena_release_run_locked(a, blocks, i, n);
    arena_count_op_locked(a);
    ta_arena_unlock(a);
}

void ta_arena_collect(ta_arena *a) {
    arena_unmap_list out = {NULL};
    ta_arena_lock(a);
    while (arena_drain_locked(a, TA_DRAIN_BATCH) == TA_DRAIN_BATCH) {}
    for (ta_segment *s = a->segments, *next; s; s = next) {
        next = s->next;
        ta_block *first = (ta_block *)s->start;
        if (ta_segment_is_free_start(s, first) && ta_segment_is_empty(first)) ta_arena_drop_empty_locked(a, s, &out);
    }
    ta_arena_unlock(a);
    arena_unmap_all(&out);
}

/* ---------------------------------------------------------------------------------------------
 * Allocation.
 * ------------------------------------------------------------------------------------------- */

static TA_ALWAYS_INLINE void *arena_carve_locked(ta_arena *a, ta_block *b, size_t front, size_t bsize) TA_REQUIRES(a->lock, a->fl) {
    if (TA_UNLIKELY(ta_segment_is_empty(b))) {   /* an empty segment in use again */
        a->empty_segments--;
        ta_segment_of(b)->empty_ticks = 0;
    }
    ta_block *u = ta_fl_carve_locked(&a->fl, b, front, bsize);
    a->allocated += ta_block_usable(u);
    a->live_blocks++;
    return ta_block_user(u);
}

/* Carves up to want blocks of bsize bytes from the front of free block b (see ta_arena_alloc_batch):
 * every block has exactly bsize bytes unless a single block absorbs a remainder too small to stand
 * alone; the first is USED, the others CACHED. */
static size_t arena_carve_batch_locked(ta_arena *a, ta_block *b, size_t bsize, size_t want, ta_block **first)
    TA_REQUIRES(a->lock, a->fl) {
    size_t k = b->size / bsize;
    if (k > want) k = want;
    size_t rest = b->size - k * bsize;
    if (rest && rest < TA_MIN_BLOCK && k > 1) k--;   /* the remainder then stands as a free block */
    if (TA_UNLIKELY(ta_segment_is_empty(b))) {   /* an empty segment in use again */
        a->empty_segments--;
        ta_segment_of(b)->empty_ticks = 0;
    }
    ta_block *u = ta_fl_carve_locked(&a->fl, b, 0, k * bsize);
    a->allocated += u->size - k * TA_HDR;
    a->live_blocks += k;
    if (k > 1) {
        ta_block_set(u, bsize, TA_STATE_USED);
        for (size_t i = 1; i < k; i++) ta_block_set((ta_block *)((char *)u + i * bsize), bsize, TA_STATE_CACHED);
    }
    *first = u;
    return k;
}

/* One locked attempt: one next-fit search, carve. 0 when nothing fits. (No drain: the cache takes
 * the remote queue into its bins before it refills, see cache.c.) */
static size_t arena_alloc_batch_once(ta_arena *a, size_t bsize, size_t want, ta_block **first) TA_EXCLUDES(a->lock) {
    ta_arena_lock(a);
    size_t front = 0, k = 0;
    ta_block *b = ta_fl_find_locked(&a->fl, bsize, TA_ALIGN, &front);
    if (b) k = arena_carve_batch_locked(a, b, bsize, want, first);
    arena_count_op_locked(a);
    ta_arena_unlock(a);
    return k;
}

/* A freshly mapped segment joins the arena: one free block spanning it. */
static void arena_add_segment_locked(ta_arena *a, ta_segment *s) TA_REQUIRES(a->lock, a->fl) {
    ta_arena_link_segment_locked(a, s);
    a->nsegments++;
    a->empty_segments++;
}

/* Maps a segment with no lock held, then links it. Returns 0, or -1 (errno ENOMEM). */
static TA_NOINLINE int arena_grow_slow(ta_arena *a) TA_EXCLUDES(a->lock) {
    ta_segment *s = ta_segment_map(a);
    if (!s) { errno = ENOMEM; return -1; }
    ta_arena_lock(a);
    arena_add_segment_locked(a, s);
    ta_arena_unlock(a);
    return 0;
}

size_t ta_arena_alloc_batch(ta_arena *a, size_t bsize, size_t want, ta_block **first) {
    size_t k = arena_alloc_batch_once(a, bsize, want, first);
    while (TA_UNLIKELY(k == 0)) {
        if (arena_grow_slow(a) != 0) return 0;
        k = arena_alloc_batch_once(a, bsize, want, first);   /* another thread may take it first */
    }
    return k;
}

/* Nothing fit: map a segment with no lock held, then link it and carve from the list. */
static TA_NOINLINE void *arena_alloc_grow_slow(ta_arena *a, size_t bsize, size_t align) TA_EXCLUDES(a->lock) {
    ta_segment *s = ta_segment_map(a);
    if (!s) { errno = ENOMEM; return NULL; }
    ta_arena_lock(a);
    arena_add_segment_locked(a, s);
    size_t front = 0;
    ta_block *b = ta_fl_find_locked(&a->fl, bsize, align, &front);
    void *p = b ? arena_carve_locked(a, b, front, bsize) : NULL;
    ta_arena_unlock(a);
    if (!p) errno = ENOMEM;   /* only when bsize cannot fit a segment: callers route those to large */
    return p;
}

void *ta_arena_alloc(ta_arena *a, size_t bsize, size_t align) {
    ta_arena_lock(a);
    if (TA_UNLIKELY(arena_has_remote(a))) arena_drain_locked(a, TA_DRAIN_BATCH);
    size_t front = 0;
    ta_block *b = ta_fl_find_locked(&a->fl, bsize, align, &front);
    void *p = b ? arena_carve_locked(a, b, front, bsize) : NULL;
    if (TA_UNLIKELY(a->fl.level >= 2)) arena_full_check_locked(a);
    arena_count_op_locked(a);
    ta_arena_unlock(a);
    return TA_LIKELY(p != NULL) ? p : arena_alloc_grow_slow(a, bsize, align);
}

int ta_arena_resize(ta_arena *a, ta_block *b, size_t new_bsize) {
    ta_arena_lock(a);
    size_t before = ta_block_usable(b);
    int ok = ta_fl_resize_locked(&a->fl, b, new_bsize);   /* b stays, so no segment empties */
    a->allocated += ta_block_usable(b);
    a->allocated -= before;
    ta_arena_unlock(a);
    return ok;
}

/* ---------------------------------------------------------------------------------------------
 * User heaps: dropping everything at once.
 * ------------------------------------------------------------------------------------------- */

/* Visits segments and large blocks, never a block: the cost grows with segments. The queued remote
 * frees are not walked: the queue is reset empty with its counters. */
ta_segment *ta_arena_discard_user(ta_arena *a, ta_large **large) {
    ta_arena_lock(a);
    ta_segment *segs = a->segments;
    *large = a->user_large;
    a->pending = NULL;
    a->segments = NULL;
    a->nsegments = a->empty_segments = 0;
    a->allocated = a->live_blocks = 0;
    a->purging_size = a->purging_blocks = 0;
    ta_fl_init(&a->fl, a->fl.level);
    a->user_large = NULL;
    a->user_large_n = a->user_large_usable = a->user_large_mapped = 0;
    ta_remote_init(&a->remote);
    ta_atomic_store_relaxed(&a->a_drained, (size_t)0);
    ta_arena_unlock(a);
    return segs;
}

/* ---------------------------------------------------------------------------------------------
 * Walk and fork.
 * ------------------------------------------------------------------------------------------- */

int ta_arena_walk(ta_arena *a, ta_arena_visit_fn fn, void *ctx) {
    int rc = 0;
    ta_arena_lock(a);
    for (ta_segment *s = a->segments; s && !rc; s = s->next) {
        for (char *at = s->start; at < s->end && !rc;) {
            ta_block *b = (ta_block *)at;
            if (b->size < TA_MIN_BLOCK || b->size > (size_t)(s->end - at)) break;   /* corrupt: check reports it */
            int is_free = ta_segment_is_free_start(s, b);
            rc = fn(a, b, is_free, b == a->fl.rover, ctx);
            at += b->size;
        }
    }
    ta_arena_unlock(a);
    return rc;
}

void ta_arena_fork_prepare(ta_arena *a) { ta_lock_fork_prepare(&a->lock); }
void ta_arena_fork_parent(ta_arena *a) { ta_lock_fork_release(&a->lock); }
/* One pass over the segments putting every PURGING run back (ta_arena_recover_purging); a run put
 * back coalesces with its free neighbours, so the walk goes on from the end of the block it became
 * part of. */
static void arena_recover_purging_locked(ta_arena *a) TA_REQUIRES(a->lock, a->fl) {
    for (ta_segment *s = a->segments; s && a->purging_blocks; s = s->next) {
        ta_block *prev = NULL;
        for (char *at = s->start; at < s->end;) {
            ta_block *b = (ta_block *)at;
            if (b->size < TA_MIN_BLOCK || b->size > (size_t)(s->end - at)) break;   /* corrupt: check reports it */
            if (ta_block_is(b, TA_STATE_PURGING)) {
                ta_arena_put_back_locked(a, b);
                if (prev && ta_segment_is_free_start(s, prev) && (char *)prev + prev->size > at) b = prev;
            }
            prev = b;
            at = (char *)b + b->size;
        }
    }
}

void ta_arena_recover_purging(ta_arena *a) {
    ta_arena_lock(a);
    arena_recover_purging_locked(a);
    ta_arena_unlock(a);
}

void ta_arena_fork_child(ta_arena *a) {
    ta_lock_fork_release(&a->lock);
    ta_atomic_store_relaxed(&a->a_threads, (size_t)0);   /* only the forking thread survives */
}
