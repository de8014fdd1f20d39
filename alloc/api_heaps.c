/* api_heaps.c - first-class heaps (issue 22): ta_heap_new, ta_heap_malloc/calloc/realloc/
 * aligned_alloc, ta_heap_destroy, ta_heap_get_stats, and what ta_free and ta_realloc need to know
 * about a heap's blocks.
 *
 * A heap is an arena of the arena table's second range (arena_table.h), marked `user` and never
 * assigned to a thread. So:
 *   - allocation takes the heap's lock (any thread may allocate from it at once) and never goes
 *     through a thread cache: a heap's block never enters a cache;
 *   - its a_threads stays 0, so ta_free of its block from any thread fails the fast path's
 *     s->arena == c->arena test and goes to cache_free_remote, whose ownerless branch pushes it to
 *     the heap's remote queue and drains it at once (trylock); it never sits in an outbox either.
 *     Hence nothing outside the heap points into its segments, and destroy can unmap them;
 *   - large blocks are plain mappings linked into the heap's list (under its lock), never kept for
 *     reuse, never grown in place (realloc moves them within the heap).
 *
 * Handles. A ta_heap * is not a pointer: it encodes (generation << 20 | slot << 4 | 0x8). The
 * slot's generation is odd while the heap lives and is bumped by create and destroy, so a
 * destroyed heap's handle never matches again, even when its slot serves a new heap; anything
 * else (a real pointer is 16-byte aligned) fails the low-bits test. Both are TA_FAULT_INVALID_HEAP.
 *
 * SYNCHRONIZATION
 *   The heap's arena lock (rank 3) guards its free list, segments and large-block list; slots are
 *   claimed and given back under the arena-table lock (rank 2), never while holding an arena lock.
 *   ta_heap_destroy racing with another call on the same heap (an allocation, a free of one of its
 *   blocks) is the program's bug and is not detected; destroy racing with ta_collect, stats, the
 *   walk, ta_check or the heap map of other threads is fine: they lock the arena and find it empty.
 *   Destroy unmaps with no lock held. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "tamalloc.h"
#include "alloc/api_internal.h"
#include "alloc/arena_table.h"
#include "alloc/fault.h"
#include "alloc/init.h"
#include "alloc/large.h"
#include "alloc/stats.h"
#include "alloc/track.h"

/* ---------------------------------------------------------------------------------------------
 * Handles.
 * ------------------------------------------------------------------------------------------- */

#define HEAP_TAG 0x8u

static ta_heap *heap_handle(unsigned slot, uint32_t gen) {
    return (ta_heap *)(uintptr_t)(((uint64_t)gen << 20) | ((uint64_t)slot << 4) | HEAP_TAG);
}

/* The live heap's arena, else a fault naming the handle (op: what was asked). */
static ta_arena *heap_arena(ta_heap *h, const char *op) {
    uintptr_t v = (uintptr_t)h;
    ta_arena *a = (v & 15u) == HEAP_TAG ? ta_arena_table_user_at((unsigned)((v >> 4) & 0xffffu)) : NULL;
    uint32_t gen = (uint32_t)(v >> 20);
    if (TA_UNLIKELY(a == NULL || !(gen & 1u) || ta_atomic_load_acquire(&a->a_user_gen) != gen))
        ta_fault(TA_FAULT_INVALID_HEAP, h, op);
    return a;
}

/* ---------------------------------------------------------------------------------------------
 * Destroyed mappings, remembered so that a later free names the heap (best effort, like the
 * large-block history): the last HEAP_HISTORY segments and large mappings destroy unmapped.
 * ------------------------------------------------------------------------------------------- */

#define HEAP_HISTORY 256u
static ta_atomic_uptr heap_history_base[HEAP_HISTORY], heap_history_end[HEAP_HISTORY];
static ta_atomic_size heap_history_next;

static void heap_history_note(const void *base, size_t size) {
    size_t i = ta_atomic_add_relaxed(&heap_history_next, (size_t)1) % HEAP_HISTORY;
    ta_atomic_store_relaxed(&heap_history_base[i], (uintptr_t)0);
    ta_atomic_store_relaxed(&heap_history_end[i], (uintptr_t)base + size);
    ta_atomic_store_relaxed(&heap_history_base[i], (uintptr_t)base);
}

int ta_heap_was_destroyed(const void *p) {
    uintptr_t a = (uintptr_t)p;
    for (unsigned i = 0; i < HEAP_HISTORY; i++) {
        uintptr_t b = ta_atomic_load_relaxed(&heap_history_base[i]);
        if (b && a >= b && a < ta_atomic_load_relaxed(&heap_history_end[i])) return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Allocation.
 * ------------------------------------------------------------------------------------------- */

static int heap_is_large(size_t n, size_t align) {
    return n >= ta_small_limit() || (align > TA_ALIGN && align >= ta_small_limit() / 4);
}

/* A fresh mapping (zero), linked into the heap's list. */
static void *heap_large_alloc(ta_arena *a, size_t n, size_t align) {
    void *p = ta_large_alloc(n, align);
    if (p == NULL) return NULL;
    ta_large *l = (ta_large *)ta_segmap_lookup(p);
    ta_arena_lock(a);
    l->heap = a;
    l->heap_prev = NULL;
    l->heap_next = a->user_large;
    if (a->user_large) a->user_large->heap_prev = l;
    a->user_large = l;
    a->user_large_n++;
    a->user_large_usable += l->usable;
    a->user_large_mapped += l->map_size;
    ta_arena_unlock(a);
    return p;
}

/* n bytes aligned to align (a power of two >= TA_ALIGN) from heap arena a; *fresh: zero already. */
static void *heap_alloc(ta_arena *a, size_t n, size_t align, int *fresh) {
    void *p;
    *fresh = 0;
    if (heap_is_large(n, align)) {
        *fresh = 1;
        p = heap_large_alloc(a, n, align);
    } else {
        p = ta_arena_alloc(a, ta_block_size_for(n), align);
    }
    ta_track_malloc(p, n, 0);
    return p;
}

void ta_heap_large_free(ta_large *l) {
    ta_arena *a = l->heap;
    ta_arena_lock(a);
    if (l->heap_prev) l->heap_prev->heap_next = l->heap_next; else a->user_large = l->heap_next;
    if (l->heap_next) l->heap_next->heap_prev = l->heap_prev;
    a->user_large_n--;
    a->user_large_usable -= l->usable;
    a->user_large_mapped -= l->map_size;
    ta_arena_unlock(a);
    ta_large_unmap(l);   /* released by the caller (counted in the kept bytes until now) */
}

/* p, a live block of heap arena a, resized: in place when it can, else moved within the heap. */
void *ta_heap_realloc_in(ta_arena *a, void *p, const ta_ptr_info *info, size_t n) {
    if (n == 0) { ta_free(p); return NULL; }
    if (info->large == NULL && !heap_is_large(n, TA_ALIGN) && ta_arena_resize(a, info->block, ta_block_size_for(n))) {
        ta_track_resize(p, n);
        return p;
    }
    if (info->large != NULL && n <= info->usable && heap_is_large(n, TA_ALIGN) && n >= info->usable / 2) {
        ta_track_resize(p, n);
        return p;
    }
    int fresh;
    void *q = heap_alloc(a, n, TA_ALIGN, &fresh);
    ta_track_resize(p, info->usable);
    if (q == NULL) return NULL;   /* p untouched */
    memcpy(q, p, info->usable < n ? info->usable : n);
    ta_free(p);
    return q;
}

/* ---------------------------------------------------------------------------------------------
 * The public functions.
 * ------------------------------------------------------------------------------------------- */

TA_EXPORT ta_heap *ta_heap_new(void) {
    ta_init();
    uint32_t gen;
    ta_arena *a = ta_arena_table_user_claim(&gen);
    if (a == NULL) { errno = ENOMEM; return NULL; }
    return heap_handle(a->user - 1, gen);
}

TA_EXPORT void *ta_heap_malloc(ta_heap *h, size_t n) {
    ta_arena *a = heap_arena(h, "ta_heap_malloc");
    int fresh;
    return heap_alloc(a, n, TA_ALIGN, &fresh);
}

TA_EXPORT void *ta_heap_calloc(ta_heap *h, size_t n, size_t size) {
    ta_arena *a = heap_arena(h, "ta_heap_calloc");
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) { errno = ENOMEM; return NULL; }
    int fresh;
    void *p = heap_alloc(a, total, TA_ALIGN, &fresh);
    if (p != NULL && !fresh) memset(p, 0, total);
    return p;
}

TA_EXPORT void *ta_heap_aligned_alloc(ta_heap *h, size_t align, size_t n) {
    ta_arena *a = heap_arena(h, "ta_heap_aligned_alloc");
    if (align == 0 || (align & (align - 1)) != 0) { errno = EINVAL; return NULL; }
    if (align < TA_ALIGN) align = TA_ALIGN;
    int fresh;
    return heap_alloc(a, n, align, &fresh);
}

TA_EXPORT void *ta_heap_realloc(ta_heap *h, void *p, size_t n) {
    ta_arena *a = heap_arena(h, "ta_heap_realloc");
    if (p == NULL) return ta_heap_malloc(h, n);
    ta_ptr_info info = ta_ptr_lookup(p, "ta_heap_realloc");
    ta_arena *owner = info.large ? info.large->heap : info.segment->arena;
    if (TA_UNLIKELY(owner != a)) ta_fault(TA_FAULT_HEAP_MISMATCH, p, "ta_heap_realloc of a block that is not this heap's");
    return ta_heap_realloc_in(a, p, &info, n);
}

TA_EXPORT void ta_heap_destroy(ta_heap *h) {
    if (h == NULL) return;
    ta_arena *a = heap_arena(h, "ta_heap_destroy");
    uint32_t gen = (uint32_t)((uintptr_t)h >> 20);
    /* dead first (even), so a second destroy racing with this one is reported, not run twice */
    if (!atomic_compare_exchange_strong(&a->a_user_gen, &gen, gen + 1)) ta_fault(TA_FAULT_INVALID_HEAP, h, "ta_heap_destroy (concurrent)");
    ta_large *large;
    ta_segment *s = ta_arena_discard_user(a, &large);   /* queued remote frees: gone with their segments */
    while (s) {
        ta_segment *next = s->next;
        heap_history_note(s, TA_SEGMENT_SIZE);
        ta_segment_unmap(s);
        s = next;
    }
    while (large) {
        ta_large *next = large->heap_next;
        heap_history_note(large, large->map_size);
        ta_large_discard(large);
        large = next;
    }
    ta_arena_table_user_release(a);
}

TA_EXPORT int ta_heap_get_stats(ta_heap *h, ta_stats *out) {
    ta_arena *a = heap_arena(h, "ta_heap_get_stats");
    ta_arena_stats as;
    ta_stats_gather_arena(a->index, &as);
    memset(out, 0, sizeof *out);
    ta_arena_lock(a);
    size_t lusable = a->user_large_usable, lmapped = a->user_large_mapped;
    ta_arena_unlock(a);
    out->allocated = as.allocated + lusable;
    out->free = as.free;
    out->free_blocks = as.free_blocks;
    out->mapped = as.mapped + lmapped;
    out->large_allocated = lusable;
    out->arenas = 1;
    out->remote_pushed = as.remote_pushed;
    out->remote_drained = as.remote_drained;
    out->purged = as.purged;
    out->dirty = as.dirty;
    out->searches = as.searches;
    out->search_steps = as.search_steps;
    out->search_max_steps = as.search_max_steps;
    return 0;
}
