/* api.c - ta_malloc, ta_free, ta_calloc, ta_usable_size: the fast paths, top of file, served by
 * the thread's cache (cache.h). Everything that is not the common case leaves through a
 * TA_NOINLINE ..._slow function: below, or the cache's in cache.c. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "tamalloc.h"
#include "alloc/api_internal.h"
#include "alloc/arena_table.h"
#include "alloc/cache.h"
#include "alloc/decay.h"
#include "alloc/diagnose.h"
#include "alloc/fault.h"
#include "alloc/init.h"
#include "alloc/large.h"
#include "alloc/track.h"

static TA_NOINLINE TA_COLD void *malloc_slow(size_t n);
static TA_NOINLINE TA_COLD void free_slow(void *p, ta_span *sp);
static TA_NOINLINE TA_COLD TA_NORETURN void free_fault(void *p, ta_segment *s);

/* Fast path, budget: one TLS base, one size compare, the bin's head; then the popped block's
 * safe-linked next pointer is verified (it must stay in the block's segment: a use-after-free write
 * over the link is caught here) and its state goes from CACHED to USED by flipping the state bits of
 * the tag it has (a load and a store). No lock, no atomic read-modify-write. The keyed tag is not
 * recomputed here: a header written over while the block sat in the bin keeps a tag that no longer
 * verifies, with the flip or without, so the block's free (or realloc, or usable size), which
 * verifies the USED tag in full, reports it (misuse case corrupt_cached_header). An empty bin (a
 * thread without a cache yet, an allocator not initialised, TAMALLOC_CACHE=0) and a link out of the
 * segment leave through _slow, which verifies the header as well. */
TA_EXPORT void *ta_malloc(size_t n) {
    ta_cache *c = ta_cache_mine();
    if (TA_LIKELY(n <= TA_CACHE_MAX_REQUEST)) {
        ta_cache_bin *bin = ta_cache_bin_of_size(c, ta_cache_class(n) * TA_ALIGN);
        ta_block *b = bin->head;
        if (TA_LIKELY(b != NULL)) {
            uintptr_t *slot = (uintptr_t *)ta_block_user(b);
            ta_block *next = ta_link_decode(slot, *slot);
            if (TA_UNLIKELY(!ta_cache_link_near(b, next))) {
                slot = ta_cache_pop_slow(c, bin, b);
            } else {
                bin->head = next;
                ta_atomic_store_relaxed(&bin->a_count, ta_atomic_load_relaxed(&bin->a_count) - 1);
                ta_atomic_store_relaxed(&b->a_tag, ta_atomic_load_relaxed(&b->a_tag) ^ (TA_STATE_CACHED ^ TA_STATE_USED));
            }
            ta_track_malloc(slot, n, 0);
            return slot;
        }
    }
    return malloc_slow(n);
}

/* Fast path, budget: segmap lookup (two loads, no NULL test: provenance), span kind, alignment and
 * the offset in the segment (the header read below stays inside the mapping), the keyed tag with
 * state USED (a load: a double free, an interior pointer, a forged or corrupted header fail here),
 * then, for a small block of the caller's own arena whose bin has room, a store of state CACHED and
 * a push, and a countdown to the next clock read (every TA_CACHE_TICK_FREES pushes: decay ticks
 * under light traffic too). NULL, large blocks, other arenas' blocks and full bins leave through
 * _slow. */
TA_EXPORT void ta_free(void *p) {
    ta_span *sp = ta_segmap_find(p);
    if (TA_UNLIKELY(sp->kind != TA_SPAN_SEGMENT || ((uintptr_t)p & (TA_ALIGN - 1)) ||
                    ((uintptr_t)p & (TA_SEGMENT_MASK & ~(uintptr_t)(TA_ALIGN - 1))) == 0)) {
        free_slow(p, sp);
        return;
    }
    ta_segment *s = (ta_segment *)sp;
    ta_block *b = ta_block_of(p);
    size_t size = b->size;
    uint64_t tag = ta_atomic_load_relaxed(&b->a_tag);
    if (TA_UNLIKELY(tag != ta_block_tag(b, size, TA_STATE_USED))) free_fault(p, s);
    ta_track_free(p, size - TA_HDR);
    ta_cache *c = ta_cache_mine();
    if (TA_LIKELY(s->arena == c->arena && size <= TA_CACHE_MAX_BLOCK)) {
        ta_cache_bin *bin = ta_cache_bin_of_size(c, size);
        uint32_t count = ta_atomic_load_relaxed(&bin->a_count);
        if (TA_LIKELY(count < ta_atomic_load_relaxed(&bin->a_limit))) {
            ta_atomic_store_relaxed(&b->a_tag, tag ^ (TA_STATE_USED ^ TA_STATE_CACHED));
            uintptr_t *slot = (uintptr_t *)p;
            *slot = ta_link_encode(slot, bin->head);
            bin->head = b;
            ta_atomic_store_relaxed(&bin->a_count, count + 1);
            if (TA_UNLIKELY(--c->tick_countdown < 0)) ta_cache_tick_slow();   /* decay, every 256 */
            return;
        }
    }
    ta_cache_free_slow(c, s, b, tag);
}

/* ------------------------------------------------------------------------------------------- */

/* The calling thread's arena for keeping freed large mappings (NULL before its first allocation). */
static ta_arena *large_arena(void) {
    ta_arena *a = ta_cache_mine()->arena;
    return a ? a : ta_arena_mine();
}

/* A large block: a mapping this thread's arena kept from an earlier free, resized if need be (its
 * pages are there already: *fresh = 0, contents not zero), else a fresh mapping (*fresh = 1). A kept
 * mapping that cannot grow means the system is out of memory: NULL, ENOMEM (the mapping is gone). */
static void *large_alloc(size_t n, size_t align, int *fresh) {
    ta_arena *a = large_arena();
    size_t need;
    if (a) ta_decay_poll(a);   /* a slow path: tick when due */
    if (a && ta_large_need(n, align, &need) == 0) {
        ta_large *l = ta_decay_large_take(a, need, align);
        if (l) {
            *fresh = 0;
            return ta_large_reuse(l, n, align);
        }
    }
    *fresh = 1;
    return ta_large_alloc(n, align);
}

void *ta_alloc_slow(size_t n, size_t align) {
    ta_init();
    void *p;
    if (n >= ta_small_limit() || (align > TA_ALIGN && align >= ta_small_limit() / 4)) {
        int fresh;
        p = large_alloc(n, align, &fresh);
    } else {
        ta_cache *c = ta_cache_mine();
        ta_arena *a = c->arena;
        if (TA_UNLIKELY(a == NULL)) {
            a = ta_arena_mine();
            if (!a) a = ta_arena_table_assign();
            c->arena = a;
        }
        if (align <= TA_ALIGN && n <= TA_CACHE_MAX_REQUEST) p = ta_cache_refill_slow(c, a, n);
        else p = ta_cache_alloc_uncached_slow(c, a, ta_block_size_for(n), align);
    }
    ta_track_malloc(p, n, 0);
    return p;
}

static void *malloc_slow(size_t n) { return ta_alloc_slow(n, TA_ALIGN); }

/* The header before p (aligned, past its segment's first 16 bytes) did not verify as USED. */
static void free_fault(void *p, ta_segment *s) {
    ta_diagnose_fault(ta_block_of(p), s->start, s->end, p, "free");
}

static void free_slow(void *p, ta_span *sp) {
    if (p == NULL) return;
    if (((uintptr_t)p & (TA_ALIGN - 1)) != 0) ta_fault(TA_FAULT_MISALIGNED_POINTER, p, "free");
    if (sp->kind == 0) {
        if (ta_large_was_freed(p)) ta_fault(TA_FAULT_DOUBLE_FREE, p, "free of an unmapped large block");
        ta_fault(TA_FAULT_INVALID_POINTER, p, "free");
    }
    if (sp->kind == TA_SPAN_SEGMENT) {   /* an aligned pointer in the first 16 bytes of a segment */
        ta_segment *s = (ta_segment *)sp;
        ta_diagnose_fault(ta_block_of(p), s->start, s->end, p, "free");
    }
    ta_large *l = (ta_large *)sp;
    size_t usable = ta_large_usable(l, p, "free");
    ta_track_free(p, usable);
    ta_large_release(l, p);   /* validated, state QUEUED: a second free or a use is reported */
    ta_arena *a = large_arena();
    /* kept for reuse until the decay time passes; when the kept ones overflow, blocks of this size
     * are being freed faster than mappings can be kept: the next ones come from the arenas */
    if (!a) {
        ta_large_unmap(l);
        if (ta_decay_large_unkept()) ta_small_limit_follow(usable);
    } else if (ta_decay_large_put(a, l)) {
        ta_small_limit_follow(usable);
    }
}

ta_ptr_info ta_ptr_lookup(const void *p, const char *op) {
    ta_ptr_info info = {0};
    if (((uintptr_t)p & (TA_ALIGN - 1)) != 0) ta_fault(TA_FAULT_MISALIGNED_POINTER, p, op);
    ta_span *sp = ta_segmap_lookup(p);
    if (sp == NULL) {
        if (ta_large_was_freed(p)) ta_fault(TA_FAULT_USE_AFTER_FREE, p, op);
        ta_fault(TA_FAULT_INVALID_POINTER, p, op);
    }
    if (sp->kind == TA_SPAN_LARGE) {
        info.large = (ta_large *)sp;
        info.usable = ta_large_usable(info.large, p, op);
        return info;
    }
    ta_segment *s = (ta_segment *)sp;
    ta_block *b = ta_block_of(p);
    if ((char *)b < s->start || !ta_block_is(b, TA_STATE_USED)) ta_diagnose_fault(b, s->start, s->end, p, op);
    info.segment = s;
    info.block = b;
    info.usable = ta_block_usable(b);
    return info;
}

TA_EXPORT void *ta_calloc(size_t n, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) { errno = ENOMEM; return NULL; }
    if (TA_UNLIKELY(ta_small_limit() == 0)) ta_init();   /* the limit is 0 until initialised */
    if (total < ta_small_limit()) {
        void *p = ta_malloc(total);
        if (p != NULL) memset(p, 0, total);
        return p;
    }
    /* A fresh mapping is zero already; a kept one is cleared. */
    int fresh;
    void *p = large_alloc(total, TA_ALIGN, &fresh);
    if (p == NULL) return NULL;
    if (!fresh) memset(p, 0, total);
    ta_track_malloc(p, total, 1);
    return p;
}

TA_EXPORT size_t ta_usable_size(const void *p) {
    if (p == NULL) return 0;
    return ta_ptr_lookup(p, "usable size").usable;
}
