/* cache.c - the per-thread cache's slow paths: set-up, refill, flush, remote batches, thread exit,
 * collect requests, the registry that stats and ta_collect read, and fork (see cache.h).
 *
 * SYNCHRONIZATION
 *   A cache's heads, links and outboxes are touched only by its thread. Counts and limits are
 *   relaxed atomics: the owner writes counts, stats read them; the owner restores limits, another
 *   thread's ta_collect lowers them to 0 (with a_flush set) so the owner's next free comes here.
 *   The registry (every live cache in state ON) is guarded by registry_lock, rank 1: it is never
 *   held while another lock is taken, and fork takes it first. Arena locks are taken only through
 *   the arena's batch functions, one arena at a time. */
#include "alloc/cache.h"

#include <errno.h>

#include "alloc/arena_table.h"
#include "alloc/decay.h"
#include "alloc/fault.h"
#include "alloc/platform/lock.h"
#include "alloc/platform/tls.h"

__thread ta_cache ta_cache_tls TA_TLS_IE;

/* Read-only after init. */
static int cache_enabled;
static size_t cache_budget;                      /* bytes one thread may cache: TAMALLOC_CACHE_BYTES */
static uint16_t cache_max[TA_CACHE_BINS];        /* the most blocks bin i may hold: the whole budget,
                                                    at most TA_CACHE_BIN_MAX */
static uint16_t cache_start[TA_CACHE_BINS];      /* bin i's limit at set-up: for the small bins an
                                                    equal share of a TA_CACHE_START_PART of the
                                                    budget, 0 for the larger ones */
static uint64_t cache_scavenge_period_ms;        /* TAMALLOC_DECAY_MS */
static ta_lock registry_lock;
static ta_cache *registry;                       /* guarded by registry_lock */

void ta_cache_init(int enabled, size_t bytes_per_thread, unsigned scavenge_ms) {
    ta_lock_init(&registry_lock, TA_RANK_CACHE_REGISTRY);
    /* Every small bin starts with an equal share of part of the budget, the larger bins with none
     * (a block of 1-4 KiB held for nothing is a hole the arena cannot use); the rest goes to the
     * bins whose blocks are reused (cache_grow): the limits' bytes never exceed bytes_per_thread,
     * so neither do the blocks a thread caches. */
    size_t share = bytes_per_thread / TA_CACHE_START_PART / TA_CACHE_SMALL_BINS;
    for (unsigned i = 2; i < TA_CACHE_BINS; i++) {
        size_t size = i * TA_ALIGN, most = bytes_per_thread / size;
        size_t start = size <= TA_CACHE_SMALL_BLOCK ? share / size : 0;
        cache_max[i] = (uint16_t)(most < TA_CACHE_BIN_MAX ? most : TA_CACHE_BIN_MAX);
        cache_start[i] = (uint16_t)(start < cache_max[i] ? start : cache_max[i]);
    }
    cache_budget = bytes_per_thread;
    cache_scavenge_period_ms = scavenge_ms;
    /* off when the budget is too small for one 32-byte block per bin */
    cache_enabled = enabled && bytes_per_thread / TA_CACHE_SMALL_BINS >= 2 * TA_ALIGN;
}

/* ---------------------------------------------------------------------------------------------
 * Links: verified before they are followed.
 * ------------------------------------------------------------------------------------------- */

static TA_NOINLINE TA_COLD TA_NORETURN void cache_link_fault(ta_block *b) {
    ta_fault(TA_FAULT_CORRUPT_LINK, ta_block_user(b), "thread cache link written after free");
}

static TA_NOINLINE TA_COLD TA_NORETURN void cache_header_fault(ta_block *b) {
    ta_fault(TA_FAULT_CORRUPT_HEADER, ta_block_user(b), "header of a block in a thread cache written after free");
}

/* The block after b on its bin, or NULL: a link outside b's segment must land, aligned, on the
 * block area of a segment of this thread's arena (segmap proves it), else the link was written. */
static ta_block *cache_next(ta_cache *c, ta_block *b) {
    uintptr_t *slot = (uintptr_t *)ta_block_user(b);
    ta_block *next = ta_link_decode(slot, *slot);
    if (next == NULL) return NULL;
    if ((uintptr_t)next & (TA_ALIGN - 1)) cache_link_fault(b);
    if (ta_cache_link_near(b, next)) {
        if ((char *)next < ta_segment_of(b)->start) cache_link_fault(b);
        return next;
    }
    ta_span *sp = ta_segmap_lookup(next);
    if (!sp || sp->kind != TA_SPAN_SEGMENT || ((ta_segment *)sp)->arena != c->arena ||
        (char *)next < ((ta_segment *)sp)->start)
        cache_link_fault(b);
    return next;
}

static TA_ALWAYS_INLINE void cache_link(ta_block *b, ta_block *next) {
    uintptr_t *slot = (uintptr_t *)ta_block_user(b);
    *slot = ta_link_encode(slot, next);
}

/* ---------------------------------------------------------------------------------------------
 * Set-up, registry, limits.
 * ------------------------------------------------------------------------------------------- */

/* Every bin back to its start limit, the rest of the budget to room (set-up, after a collect). */
static void cache_set_limits(ta_cache *c) {
    size_t held = 0;
    for (unsigned i = 0; i < TA_CACHE_BINS; i++) {
        c->lim[i] = cache_start[i];
        held += (size_t)cache_start[i] * i * TA_ALIGN;
        ta_atomic_store_relaxed(&c->bins[i].a_limit, cache_start[i]);
    }
    c->room = cache_budget - held;
    c->large_room = cache_budget / TA_CACHE_LARGE_PART;
    for (unsigned i = 0; i < TA_CACHE_BINS; i++) c->refills[i] = 0;
    for (unsigned w = 0; w < sizeof c->touched / sizeof c->touched[0]; w++) c->touched[w] = 0;
}

static TA_ALWAYS_INLINE uint64_t cache_bit(size_t cls) { return (uint64_t)1 << (cls & 63); }

/* A larger bin (past TA_CACHE_SMALL_BLOCK) with limit 0 is inactive: its sizes take the paths of
 * uncached sizes, and nothing of it is cached, until a run of TA_CACHE_LARGE_RUN allocations of its
 * size in a row activates it (cache_refill_slow). A random mix of sizes never does; a batch of one
 * size does at once. */
static TA_ALWAYS_INLINE int cache_bin_active(const ta_cache *c, size_t cls) {
    return cls * TA_ALIGN <= TA_CACHE_SMALL_BLOCK || c->lim[cls] != 0;
}

/* Adds up to add blocks to bin cls's limit, as far as cache_max and the room left in the budget
 * (for a larger bin, in its part of the budget) allow. Returns the bin's limit now. */
static uint32_t cache_raise(ta_cache *c, size_t cls, size_t add) {
    uint32_t lim = c->lim[cls];
    size_t size = cls * TA_ALIGN;
    int large = size > TA_CACHE_SMALL_BLOCK;
    if (add > (size_t)cache_max[cls] - lim) add = (size_t)cache_max[cls] - lim;
    if (add > c->room / size) add = c->room / size;
    if (large && add > c->large_room / size) add = c->large_room / size;
    lim += (uint32_t)add;
    c->room -= add * size;
    if (large) c->large_room -= add * size;
    c->lim[cls] = (uint16_t)lim;
    return lim;
}

/* Lowers bin cls's limit to lim (<= its limit now): the bytes it held go back to room (and, for a
 * larger bin, to its part of the budget). The inverse of cache_raise. */
static void cache_lower(ta_cache *c, size_t cls, uint32_t lim) {
    size_t size = cls * TA_ALIGN, back = (size_t)(c->lim[cls] - lim) * size;
    c->room += back;
    if (size > TA_CACHE_SMALL_BLOCK) c->large_room += back;
    c->lim[cls] = (uint16_t)lim;
}

/* Bin cls overflowed: a free found it at its limit. If it was refilled since its last overflow,
 * the blocks it gave back then were wanted again, so its limit doubles (cache_raise). Returns the
 * bin's limit now. */
static uint32_t cache_grow(ta_cache *c, size_t cls) {
    unsigned refills = c->refills[cls];
    c->touched[cls >> 6] |= cache_bit(cls);
    c->refills[cls] = 0;
    if (refills == 0) return c->lim[cls];
    return cache_raise(c, cls, c->lim[cls] ? c->lim[cls] : 1);
}

/* First slow path of a thread: joins the registry and arms the thread-exit flush, or turns the
 * cache off for good (disabled, or the thread is already past its exit hook). */
static TA_NOINLINE void cache_setup(ta_cache *c) {
    if (!cache_enabled || ta_tls_exited() || ta_tls_register_exit() != 0) {
        c->state = TA_CACHE_OFF;
        return;
    }
    ta_lock_acquire(&registry_lock);
    c->prev = NULL;
    c->next = registry;
    if (registry) registry->prev = c;
    registry = c;
    ta_lock_release(&registry_lock);
    cache_set_limits(c);
    c->state = TA_CACHE_ON;
}

static void cache_unregister(ta_cache *c) {
    ta_lock_acquire(&registry_lock);
    if (c->prev) c->prev->next = c->next; else registry = c->next;
    if (c->next) c->next->prev = c->prev;
    c->next = c->prev = NULL;
    ta_lock_release(&registry_lock);
}

/* ---------------------------------------------------------------------------------------------
 * Flush: bins back to the arena, outboxes to their owners' queues.
 * ------------------------------------------------------------------------------------------- */

/* Leaves the newest keep blocks on the bin and returns the rest to the arena, TA_CACHE_FLUSH_CHUNK
 * blocks under one lock. The chain is verified (links, headers) before any block leaves it. */
static void cache_flush_bin(ta_cache *c, ta_cache_bin *bin, uint32_t keep) {
    uint32_t count = ta_atomic_load_relaxed(&bin->a_count);
    if (count <= keep) return;
    ta_block *last_kept = NULL, *b = bin->head;
    for (uint32_t i = 0; i < keep; i++) {
        last_kept = b;
        b = cache_next(c, b);
    }
    ta_block *first = b;
    uint32_t n = 0;
    for (; b != NULL && n < count - keep; n++) {
        if (TA_UNLIKELY(!ta_block_is(b, TA_STATE_CACHED))) cache_header_fault(b);
        b = cache_next(c, b);
    }
    if (TA_UNLIKELY(b != NULL || n != count - keep)) cache_link_fault(last_kept ? last_kept : bin->head);
    if (last_kept) cache_link(last_kept, NULL); else bin->head = NULL;
    ta_atomic_store_relaxed(&bin->a_count, keep);
    /* each link is read (and verified) again before its block leaves: the chain is out of the bin */
    ta_block *batch[TA_CACHE_FLUSH_CHUNK];
    size_t k = 0;
    for (b = first; n > 0; n--) {
        ta_block *next = n > 1 ? cache_next(c, b) : NULL;
        batch[k++] = b;
        if (k == TA_CACHE_FLUSH_CHUNK) { ta_arena_free_batch(c->arena, batch, k); k = 0; }
        b = next;
    }
    if (k) ta_arena_free_batch(c->arena, batch, k);
}

/* Pushes an outbox's chain to its owner's remote queue with one compare-and-swap. */
static void cache_outbox_push(ta_outbox *o) {
    ta_arena *owner = ta_atomic_load_relaxed(&o->a_owner);
    if (owner == NULL) return;
    ta_block *head = o->head, *tail = o->tail;
    uint32_t n = ta_atomic_load_relaxed(&o->a_count);
    o->head = o->tail = NULL;
    ta_atomic_store_relaxed(&o->a_count, 0);
    ta_atomic_store_relaxed(&o->a_owner, (ta_arena *)NULL);
    ta_arena_free_remote_chain(owner, head, tail, n);
}

static void cache_outboxes_push(ta_cache *c) {
    for (unsigned j = 0; j < TA_OUTBOX_SLOTS; j++) cache_outbox_push(&c->out[j]);
}

static void cache_flush_all(ta_cache *c) {
    for (unsigned i = 0; i < TA_CACHE_BINS; i++) cache_flush_bin(c, &c->bins[i], 0);
    cache_outboxes_push(c);
}

/* Every slow path of a cache in state ON: a flush asked for by ta_collect, then the batches of
 * remote frees waiting in the outboxes. */
static void cache_service(ta_cache *c) {
    if (TA_UNLIKELY(ta_atomic_load_relaxed(&c->a_flush)) && ta_atomic_exchange_acquire(&c->a_flush, 0)) {
        cache_flush_all(c);
        cache_set_limits(c);
        return;
    }
    cache_outboxes_push(c);
}

/* ---------------------------------------------------------------------------------------------
 * The slow paths of ta_malloc and ta_free.
 * ------------------------------------------------------------------------------------------- */

static TA_ALWAYS_INLINE void *cache_pop(ta_cache_bin *bin, ta_block *b, ta_block *next) {
    bin->head = next;
    ta_atomic_store_relaxed(&bin->a_count, ta_atomic_load_relaxed(&bin->a_count) - 1);
    ta_atomic_store_relaxed(&b->a_tag, ta_atomic_load_relaxed(&b->a_tag) ^ (TA_STATE_CACHED ^ TA_STATE_USED));
    return ta_block_user(b);
}

/* Pushes b, whose state is from (USED at a free, QUEUED for a remote free taken), onto bin. */
static TA_ALWAYS_INLINE void cache_push(ta_cache_bin *bin, ta_block *b, uint64_t from) {
    ta_atomic_store_relaxed(&b->a_tag, ta_atomic_load_relaxed(&b->a_tag) ^ (from ^ TA_STATE_CACHED));
    cache_link(b, bin->head);
    bin->head = b;
    ta_atomic_store_relaxed(&bin->a_count, ta_atomic_load_relaxed(&bin->a_count) + 1);
}

void *ta_cache_pop_slow(ta_cache *c, ta_cache_bin *bin, ta_block *b) {
    if (TA_UNLIKELY(!ta_block_is(b, TA_STATE_CACHED))) cache_header_fault(b);
    return cache_pop(bin, b, cache_next(c, b));
}

/* Remote frees queued for the thread's arena go straight into its bins where they have room (a
 * producer thread refills mostly from what consumers freed), the rest back to the arena under one
 * lock. Each entry is verified as the arena's drain verifies it. The queue is taken with one
 * exchange, which is safe against the arena's own drains and other threads of the arena. */
static void cache_take_remote(ta_cache *c, ta_arena *a) {
    ta_block *b = ta_remote_take_all(&a->remote);
    ta_block *rest[TA_DRAIN_BATCH];
    size_t nrest = 0, n = 0;
    ta_block *from = NULL;   /* the entry whose link led to b */
    while (b != NULL) {
        /* b must be an aligned block start in a segment of a, and QUEUED; an entry in the segment of
         * the one before (verified) needs no segment-map lookup to be safe to read */
        int near = from && ta_cache_link_near(from, b) && (char *)b >= ta_segment_of(b)->start;
        ta_span *sp = near ? NULL : ta_segmap_lookup(b);
        if (TA_UNLIKELY(((uintptr_t)b & (TA_ALIGN - 1)) ||
                        (!near && (!sp || sp->kind != TA_SPAN_SEGMENT || ((ta_segment *)sp)->arena != a)) ||
                        !ta_block_is(b, TA_STATE_QUEUED))) {
            if (from) ta_fault(TA_FAULT_CORRUPT_LINK, ta_block_user(from), "remote free queue link written after free");
            ta_fault(TA_FAULT_CORRUPT_LINK, b, "remote free queue entry");
        }
        ta_remote_prefetch_ahead(b);
        ta_block *next = ta_remote_next(b);
        size_t size = b->size;
        ta_cache_bin *bin = size <= TA_CACHE_MAX_BLOCK ? ta_cache_bin_of_size(c, size) : NULL;
        /* a full bin grows as at a local free's overflow: a refill since its last overflow means
         * the remote frees it takes are reused (a producer's); a_limit follows at the next free */
        uint32_t count = bin ? ta_atomic_load_relaxed(&bin->a_count) : 0;
        if (bin && cache_bin_active(c, size / TA_ALIGN) &&
            (count < c->lim[size / TA_ALIGN] || count < cache_grow(c, size / TA_ALIGN))) {
            cache_push(bin, b, TA_STATE_QUEUED);
        } else {
            rest[nrest++] = b;
            if (nrest == TA_DRAIN_BATCH) { ta_arena_free_batch(a, rest, nrest); nrest = 0; }
        }
        n++;
        from = b;
        b = next;
    }
    if (nrest) ta_arena_free_batch(a, rest, nrest);
    ta_atomic_add_relaxed(&a->a_drained, n);
}

void *ta_cache_alloc_uncached_slow(ta_cache *c, ta_arena *a, size_t bsize, size_t align) {
    if (c->state == TA_CACHE_ON && ta_remote_nonempty(&a->remote)) cache_take_remote(c, a);
    void *p = ta_arena_alloc(a, bsize, align);
    ta_decay_maybe(a);
    return p;
}

void *ta_cache_refill_slow(ta_cache *c, ta_arena *a, size_t n) {
    size_t bsize = ta_block_size_for(n);
    if (TA_UNLIKELY(c->state != TA_CACHE_ON)) {
        if (c->state == TA_CACHE_NEW) cache_setup(c);
        if (c->state != TA_CACHE_ON) {
            void *p = ta_arena_alloc(a, bsize, TA_ALIGN);
            ta_decay_maybe(a);
            return p;
        }
    }
    size_t cls = bsize / TA_ALIGN;
    if (!cache_bin_active(c, cls)) {
        /* an inactive larger bin: served as an uncached size, unless this allocation makes a run */
        if (cls != c->run_cls) {
            c->run_cls = (uint16_t)cls;
            c->run_len = 0;
        }
        if (++c->run_len < TA_CACHE_LARGE_RUN || cache_raise(c, cls, 1) == 0)
            return ta_cache_alloc_uncached_slow(c, a, bsize, TA_ALIGN);
        ta_atomic_store_relaxed(&c->bins[cls].a_limit, c->lim[cls]);
    }
    /* an empty bin a malloc wanted is in use: the next scavenge leaves its limit alone */
    c->touched[cls >> 6] |= cache_bit(cls);
    cache_service(c);
    if (ta_remote_nonempty(&a->remote)) cache_take_remote(c, a);
    ta_cache_bin *bin = &c->bins[cls];
    if (bin->head != NULL) {   /* remote frees just taken; malloc(0) with bin 2 filled; a flush request */
        ta_block *b = bin->head;
        if (TA_UNLIKELY(!ta_block_is(b, TA_STATE_CACHED))) cache_header_fault(b);
        return cache_pop(bin, b, cache_next(c, b));
    }
    /* One block for the caller and a batch to cache, carved side by side from one free run. The
     * batch starts small and doubles with each refill of the bin, up to half its limit. A refill
     * marks the bin: if it overflows next, its blocks are reused and its limit grows. */
    if (c->refills[cls] < 255) c->refills[cls]++;
    uint32_t cap = c->lim[cls] / 2, fill = c->fill[cls] ? c->fill[cls] : TA_CACHE_FILL_FIRST;
    if (fill > cap) fill = cap;
    c->fill[cls] = (uint16_t)(fill * 2 < cap ? fill * 2 : cap);
    ta_block *first;
    size_t k = ta_arena_alloc_batch(a, bsize, 1 + fill, &first);
    if (TA_UNLIKELY(k == 0)) return NULL;   /* errno ENOMEM */
    ta_decay_maybe(a);
    if (k > 1) {
        ta_block *b = (ta_block *)((char *)first + bsize);
        bin->head = b;
        for (size_t i = 2; i < k; i++) {
            ta_block *next = (ta_block *)((char *)b + bsize);
            cache_link(b, next);
            b = next;
        }
        cache_link(b, NULL);
        ta_atomic_store_relaxed(&bin->a_count, (uint32_t)(k - 1));
    }
    return ta_block_user(first);
}

/* A free of another arena's block: claim it (USED -> QUEUED by compare-and-swap, so of two racing
 * frees one wins and the other is reported), then batch it for its owner. */
static void cache_free_remote(ta_cache *c, ta_segment *s, ta_block *b, uint64_t tag) {
    ta_arena *owner = s->arena;
    /* tag: the USED tag the caller verified; the claim fails only if another free won meanwhile */
    if (TA_UNLIKELY(!ta_atomic_cas_strong_acq_rel(&b->a_tag, &tag, tag ^ (TA_STATE_USED ^ TA_STATE_QUEUED))))
        ta_fault(TA_FAULT_DOUBLE_FREE, ta_block_user(b), "free (concurrent)");
    if (TA_UNLIKELY(c->state != TA_CACHE_ON)) {
        if (c->state == TA_CACHE_NEW) cache_setup(c);
        if (c->state != TA_CACHE_ON) { ta_arena_free_remote(owner, b); return; }
    }
    if (TA_UNLIKELY(ta_atomic_load_acquire(&owner->a_threads) == 0)) {
        ta_arena_free_remote(owner, b);   /* no thread would drain a batch: push and drain now */
        return;
    }
    ta_outbox *o = &c->out[owner->index & (TA_OUTBOX_SLOTS - 1)];
    if (ta_atomic_load_relaxed(&o->a_owner) != owner) {
        cache_outbox_push(o);
        ta_atomic_store_relaxed(&o->a_owner, owner);
        o->tail = b;
    }
    cache_link(b, o->head);
    o->head = b;
    uint32_t i = ta_atomic_load_relaxed(&o->a_count), n = i + 1;
    ta_remote_set_ahead(b, i >= TA_REMOTE_AHEAD ? o->recent[i % TA_REMOTE_AHEAD] : NULL);
    o->recent[i % TA_REMOTE_AHEAD] = b;
    ta_atomic_store_relaxed(&o->a_count, n);
    if (n >= TA_OUTBOX_BATCH) {
        cache_outbox_push(o);
        ta_decay_poll_owner(owner);   /* a slow path: an idle owner's arena ticks when due */
    }
}

/* Once per decay time (from the tick): a bin that was neither refilled nor overflowed since the
 * last scavenge gives back half its limit's growth (its limit halves, down to its start), and the
 * blocks it holds past the new limit go back to the arena. A bin in steady use keeps what it grew
 * to; one whose reuse stopped returns its blocks and its share of the budget over a few periods. */
static void cache_scavenge(ta_cache *c, uint64_t now) {
    c->scavenge_ms = now + cache_scavenge_period_ms;
    cache_service(c);
    for (unsigned i = 2; i < TA_CACHE_BINS; i++) {
        if ((c->touched[i >> 6] & cache_bit(i)) || c->lim[i] <= cache_start[i]) continue;
        uint32_t lim = c->lim[i] / 2 > cache_start[i] ? c->lim[i] / 2 : cache_start[i];
        cache_lower(c, i, lim);
        cache_flush_bin(c, &c->bins[i], lim);
        if (ta_atomic_load_relaxed(&c->bins[i].a_limit) != 0) ta_atomic_store_relaxed(&c->bins[i].a_limit, lim);
    }
    for (unsigned w = 0; w < sizeof c->touched / sizeof c->touched[0]; w++) c->touched[w] = 0;
}

void ta_cache_tick_slow(void) {
    ta_cache *c = ta_cache_mine();
    c->tick_countdown = TA_CACHE_TICK_FREES;
    uint64_t now = ta_os_now_ms();
    if (c->state == TA_CACHE_ON && now >= c->scavenge_ms) cache_scavenge(c, now);
    ta_arena *a = c->arena;
    /* the thread's own arena when its tick is due (which ticks the idle ones too), else the idle
     * arenas whose tick is due: an idle owner's memory goes back a decay time after it went quiet,
     * whenever this thread's own tick falls */
    if (!a || !ta_decay_poll_at(a, now)) ta_decay_tick_idle_others();
}

void ta_cache_free_slow(ta_cache *c, ta_segment *s, ta_block *b, uint64_t tag) {
    ta_arena *a = s->arena;
    if (a != c->arena) { cache_free_remote(c, s, b, tag); return; }
    size_t size = b->size, cls = size / TA_ALIGN;
    if (c->state == TA_CACHE_NEW) cache_setup(c);
    if (c->state == TA_CACHE_ON && size <= TA_CACHE_MAX_BLOCK && cache_max[cls] != 0 && cache_bin_active(c, cls)) {
        cache_service(c);
        ta_cache_bin *bin = &c->bins[cls];
        uint32_t count = ta_atomic_load_relaxed(&bin->a_count), lim = c->lim[cls];
        if (count >= lim && count >= (lim = cache_grow(c, cls))) {
            cache_flush_bin(c, bin, lim / 2);
            ta_decay_maybe(a);
        }
        ta_atomic_store_relaxed(&bin->a_limit, lim);   /* grown, or lowered by a collect request */
        if (lim != 0) {   /* 0: a start share too small for one block, and no room to grow */
            cache_push(bin, b, TA_STATE_USED);
            if (TA_UNLIKELY(--c->tick_countdown < 0)) ta_cache_tick_slow();   /* as the fast push counts */
            return;
        }
    }
    /* Not cached: the block goes back to the arena now (verified USED by the caller). */
    ta_atomic_store_relaxed(&b->a_tag, ta_atomic_load_relaxed(&b->a_tag) ^ (TA_STATE_USED ^ TA_STATE_QUEUED));
    ta_arena_free_local(a, b);
    ta_decay_maybe(a);
}

/* ---------------------------------------------------------------------------------------------
 * Thread exit, collect, stats, fork.
 * ------------------------------------------------------------------------------------------- */

void ta_cache_thread_exit(void) {
    ta_cache *c = ta_cache_mine();
    if (c->state == TA_CACHE_ON) {
        cache_flush_all(c);
        cache_unregister(c);
    }
    c->state = TA_CACHE_OFF;
    for (unsigned i = 0; i < TA_CACHE_BINS; i++) ta_atomic_store_relaxed(&c->bins[i].a_limit, 0);
}

void ta_cache_collect(void) {
    ta_cache *c = ta_cache_mine();
    if (c->state == TA_CACHE_ON) cache_flush_all(c);
    ta_lock_acquire(&registry_lock);
    for (ta_cache *o = registry; o; o = o->next) {
        if (o == c) continue;
        ta_atomic_store_relaxed(&o->a_flush, 1);
        for (unsigned i = 0; i < TA_CACHE_BINS; i++) ta_atomic_store_relaxed(&o->bins[i].a_limit, 0);
    }
    ta_lock_release(&registry_lock);
}

void ta_cache_arena_totals(const ta_arena *a, ta_cache_totals *out) {
    out->blocks = out->bytes = out->batched = 0;
    ta_lock_acquire(&registry_lock);
    for (ta_cache *c = registry; c; c = c->next) {
        for (unsigned j = 0; j < TA_OUTBOX_SLOTS; j++)
            if (ta_atomic_load_relaxed(&c->out[j].a_owner) == a) out->batched += ta_atomic_load_relaxed(&c->out[j].a_count);
        if (c->arena != a) continue;
        for (unsigned i = 2; i < TA_CACHE_BINS; i++) {
            size_t n = ta_atomic_load_relaxed(&c->bins[i].a_count);
            out->blocks += n;
            out->bytes += n * (i * TA_ALIGN - TA_HDR);
        }
    }
    ta_lock_release(&registry_lock);
}

void ta_cache_fork_prepare(void) { ta_lock_fork_prepare(&registry_lock); }
void ta_cache_fork_parent(void) { ta_lock_fork_release(&registry_lock); }
void ta_cache_fork_child(void) {
    ta_lock_fork_release(&registry_lock);
    /* Only the forking thread lives on; the other caches' memory is still mapped, but their
     * threads are gone (and may have been mid-operation): their blocks stay out of the arenas. */
    ta_cache *c = ta_cache_mine();
    registry = c->state == TA_CACHE_ON ? c : NULL;
    c->next = c->prev = NULL;
}
