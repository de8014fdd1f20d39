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

static int cache_enabled;                        /* read-only after init */
static uint32_t cache_limit[TA_CACHE_BINS];      /* configured blocks per bin; read-only after init */
static ta_lock registry_lock;
static ta_cache *registry;                       /* guarded by registry_lock */

void ta_cache_init(int enabled, size_t bytes_per_thread) {
    ta_lock_init(&registry_lock, TA_RANK_CACHE_REGISTRY);
    /* An equal share of the budget per bin: the blocks a thread can cache, whole block sizes
     * counted, never exceed bytes_per_thread. */
    size_t share = bytes_per_thread / (TA_CACHE_BINS - 2);
    for (unsigned i = 2; i < TA_CACHE_BINS; i++) {
        size_t n = share / (i * TA_ALIGN);
        cache_limit[i] = (uint32_t)(n < TA_CACHE_BIN_MAX ? n : TA_CACHE_BIN_MAX);
    }
    cache_enabled = enabled && cache_limit[2] > 0;
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

static void cache_set_limits(ta_cache *c) {
    for (unsigned i = 0; i < TA_CACHE_BINS; i++) ta_atomic_store_relaxed(&c->bins[i].a_limit, cache_limit[i]);
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

/* Leaves the newest keep blocks on the bin and returns the rest to the arena under one lock. */
static void cache_flush_bin(ta_cache *c, ta_cache_bin *bin, uint32_t keep) {
    uint32_t count = ta_atomic_load_relaxed(&bin->a_count);
    if (count <= keep) return;
    ta_block *batch[TA_CACHE_BIN_MAX];
    ta_block *last_kept = NULL, *b = bin->head;
    for (uint32_t i = 0; i < keep; i++) {
        last_kept = b;
        b = cache_next(c, b);
    }
    uint32_t n = 0;
    for (; b != NULL && n < count - keep; n++) {
        if (TA_UNLIKELY(!ta_block_is(b, TA_STATE_CACHED))) cache_header_fault(b);
        batch[n] = b;
        b = cache_next(c, b);
    }
    if (TA_UNLIKELY(b != NULL || n != count - keep)) cache_link_fault(last_kept ? last_kept : bin->head);
    if (last_kept) cache_link(last_kept, NULL); else bin->head = NULL;
    ta_atomic_store_relaxed(&bin->a_count, keep);
    ta_arena_free_batch(c->arena, batch, n);
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
        if (bin && ta_atomic_load_relaxed(&bin->a_count) < cache_limit[size / TA_ALIGN]) {
            ta_atomic_store_relaxed(&b->a_tag, ta_atomic_load_relaxed(&b->a_tag) ^ (TA_STATE_QUEUED ^ TA_STATE_CACHED));
            cache_link(b, bin->head);
            bin->head = b;
            ta_atomic_store_relaxed(&bin->a_count, ta_atomic_load_relaxed(&bin->a_count) + 1);
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
    cache_service(c);
    if (ta_remote_nonempty(&a->remote)) cache_take_remote(c, a);
    size_t cls = bsize / TA_ALIGN;
    ta_cache_bin *bin = &c->bins[cls];
    if (bin->head != NULL) {   /* remote frees just taken; malloc(0) with bin 2 filled; a flush request */
        ta_block *b = bin->head;
        if (TA_UNLIKELY(!ta_block_is(b, TA_STATE_CACHED))) cache_header_fault(b);
        return cache_pop(bin, b, cache_next(c, b));
    }
    /* One block for the caller and a batch to cache, carved side by side from one free run. The
     * batch starts small and doubles with each refill of the bin, up to half its limit. */
    uint32_t cap = cache_limit[cls] / 2, fill = c->fill[cls] ? c->fill[cls] : TA_CACHE_FILL_FIRST;
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

void ta_cache_tick_slow(void) {
    ta_cache *c = ta_cache_mine();
    c->tick_countdown = TA_CACHE_TICK_FREES;
    ta_arena *a = c->arena;
    /* the thread's own arena when its tick is due (which ticks the idle ones too), else the idle
     * arenas whose tick is due: an idle owner's memory goes back a decay time after it went quiet,
     * whenever this thread's own tick falls */
    if (a && ta_os_now_ms() >= ta_atomic_load_relaxed(&a->a_next_tick_ms)) ta_decay_tick(a, 0);
    else ta_decay_tick_idle_others();
}

void ta_cache_free_slow(ta_cache *c, ta_segment *s, ta_block *b, uint64_t tag) {
    ta_arena *a = s->arena;
    if (a != c->arena) { cache_free_remote(c, s, b, tag); return; }
    size_t size = b->size, cls = size / TA_ALIGN;
    if (c->state == TA_CACHE_NEW) cache_setup(c);
    if (c->state == TA_CACHE_ON && size <= TA_CACHE_MAX_BLOCK && cache_limit[cls] != 0) {
        cache_service(c);
        ta_cache_bin *bin = &c->bins[cls];
        ta_atomic_store_relaxed(&bin->a_limit, cache_limit[cls]);   /* lowered by a collect request */
        uint32_t count = ta_atomic_load_relaxed(&bin->a_count);
        if (count >= cache_limit[cls]) {
            cache_flush_bin(c, bin, cache_limit[cls] / 2);
            ta_decay_maybe(a);
        }
        ta_atomic_store_relaxed(&b->a_tag, ta_atomic_load_relaxed(&b->a_tag) ^ (TA_STATE_USED ^ TA_STATE_CACHED));
        cache_link(b, bin->head);
        bin->head = b;
        ta_atomic_store_relaxed(&bin->a_count, ta_atomic_load_relaxed(&bin->a_count) + 1);
        return;
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
