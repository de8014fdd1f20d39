/* api.c - ta_malloc, ta_free, ta_calloc, ta_usable_size. The fast paths, served by the thread's
 * cache (cache.h), are in api_fast.h; everything that is not the common case leaves through a
 * TA_NOINLINE ..._slow function: below, or the cache's in cache.c. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "tamalloc.h"
#include "alloc/api_fast.h"
#include "alloc/api_internal.h"
#include "alloc/arena_table.h"
#include "alloc/cache.h"
#include "alloc/decay.h"
#include "alloc/diagnose.h"
#include "alloc/fault.h"
#include "alloc/init.h"
#include "alloc/large.h"
#include "alloc/platform/unwind.h"
#include "alloc/prof.h"
#include "alloc/track.h"

/* The fast paths are in api_fast.h (the C library's malloc and free in shim/override.c compile the
 * same bodies with their own exits); these are the ta_* names' copies, with the plain exits. */
TA_EXPORT void *ta_malloc(size_t n) { return ta_malloc_fast(n, ta_malloc_slow); }

TA_EXPORT void ta_free(void *p) { ta_free_fast(p, ta_free_slow, ta_cache_free_slow, ta_cache_tick_slow, ta_free_odd); }

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

static void *alloc_plain(size_t n, size_t align, int *fresh);

/* The thread's heap-profile count ran out at this allocation of n bytes (align as for
 * ta_alloc_slow). Returns 1 with *out set (NULL + ENOMEM when out of memory) when it is sampled
 * (*fresh: 1 when the block is a fresh mapping, whose bytes are zero):
 * its stack, from ra, is recorded; an arena block is allocated as usual and then marked SAMPLED
 * (its free fails the fast path's USED check and is accounted in ta_free_odd: the fast path pays
 * nothing), a large block records its stack in its ta_large. Returns 0 when the allocation goes on
 * unsampled: the profiler is off (the count is then set never to run out), this was the thread's
 * first count, or the unwinder itself allocated. */
static TA_ALWAYS_INLINE int prof_sample(ta_cache *c, size_t n, size_t align, void *ra, void **out, int *fresh) {
    int first = c->prof_rng == 0;
    c->prof_left = (uint64_t)ta_prof_next(&c->prof_rng);
    if (first || ta_prof_rate == 0 || c->prof_busy) return 0;
    /* walked from here, inlined into the exit */
    void *frames[TA_PROF_UNWIND_FRAMES];
    c->prof_busy = 1;
    int k = ta_os_backtrace(frames, TA_PROF_UNWIND_FRAMES, &c->prof_stack);
    ta_prof_stack *st = ta_prof_record(n, frames, k, ra);
    c->prof_busy = 0;
    if (st == NULL) return 0;
    void *p = alloc_plain(n, align, fresh);
    *out = p;
    if (p == NULL) {
        ta_prof_unrecord(st, n);
        return 1;
    }
    ta_span *sp = ta_segmap_lookup(p);
    if (sp->kind == TA_SPAN_LARGE) {
        ((ta_large *)sp)->prof = st;
        ((ta_large *)sp)->prof_size = n;
    } else if (ta_prof_track(p, st, n) == 0) {
        ta_block *b = ta_block_of(p);
        ta_atomic_store_relaxed(&b->a_tag, ta_atomic_load_relaxed(&b->a_tag) ^ (TA_STATE_USED ^ TA_STATE_SAMPLED));
    } else {
        ta_prof_unrecord(st, n);   /* no room in the table of live samples: served unsampled */
    }
    return 1;
}

void *ta_alloc_slow(size_t n, size_t align, void *ra) {
    ta_init();
    void *p;
    int fresh;
    if (TA_UNLIKELY((int64_t)ta_cache_mine()->prof_left < 0) && prof_sample(ta_cache_mine(), n, align, ra, &p, &fresh)) {
        ta_track_malloc(p, n, 0);
        return p;
    }
    p = alloc_plain(n, align, &fresh);
    ta_track_malloc(p, n, 0);
    return p;
}

/* The allocation itself: a large mapping (*fresh: 1 when newly mapped, so zero), or the thread's
 * bins and arena (*fresh 0). */
static void *alloc_plain(size_t n, size_t align, int *fresh) {
    void *p;
    *fresh = 0;
    if (n >= ta_small_limit() || (align > TA_ALIGN && align >= ta_small_limit() / 4)) {
        p = large_alloc(n, align, fresh);
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
    return p;
}

void *ta_malloc_slow(size_t n) { return ta_alloc_slow(n, TA_ALIGN, TA_RETURN_ADDRESS()); }

/* The header before p (aligned, past its segment's first 16 bytes) did not verify as USED. A
 * heap-profile sample is claimed (SAMPLED -> USED by compare-and-swap: of two racing frees one
 * wins, the other is reported), taken out of the profiler's table and freed as any block. */
void ta_free_odd(void *p, ta_segment *s) {
    ta_block *b = ta_block_of(p);
    if (ta_prof_rate != 0) {
        uint64_t tag = ta_block_tag(b, b->size, TA_STATE_SAMPLED), used = tag ^ (TA_STATE_SAMPLED ^ TA_STATE_USED);
        if (ta_atomic_cas_strong_acq_rel(&b->a_tag, &tag, used)) {
            if (ta_prof_untrack(p) != 0) ta_fault(TA_FAULT_CORRUPT_HEADER, p, "free of a sampled block the profiler does not know");
            ta_track_free(p, b->size - TA_HDR);   /* as the fast path does for an unsampled block */
            ta_cache_free_slow(ta_cache_mine(), s, b, used);
            return;
        }
    }
    ta_diagnose_fault(b, s->start, s->end, p, "free");
}

void ta_free_slow(void *p, ta_span *sp) {
    if (p == NULL) return;
    if (((uintptr_t)p & (TA_ALIGN - 1)) != 0) ta_fault(TA_FAULT_MISALIGNED_POINTER, p, "free");
    if (sp->kind == 0) {
        if (ta_large_was_freed(p)) ta_fault(TA_FAULT_DOUBLE_FREE, p, "free of an unmapped large block");
        if (ta_heap_was_destroyed(p)) ta_fault(TA_FAULT_INVALID_POINTER, p, "free of a block of a destroyed heap");
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
    if (TA_UNLIKELY(l->heap != NULL)) {   /* a user heap's: out of its list, unmapped */
        ta_heap_large_free(l);
        return;
    }
    if (TA_UNLIKELY(l->prof != NULL)) {   /* a heap-profile sample */
        ta_prof_release(l->prof, l->prof_size);
        l->prof = NULL;
    }
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
        if (ta_heap_was_destroyed(p)) ta_fault(TA_FAULT_INVALID_POINTER, p, "a block of a destroyed heap");
        ta_fault(TA_FAULT_INVALID_POINTER, p, op);
    }
    if (sp->kind == TA_SPAN_LARGE) {
        info.large = (ta_large *)sp;
        info.usable = ta_large_usable(info.large, p, op);
        return info;
    }
    ta_segment *s = (ta_segment *)sp;
    ta_block *b = ta_block_of(p);
    if ((char *)b < s->start) ta_diagnose_fault(b, s->start, s->end, p, op);
    if (!ta_block_is(b, TA_STATE_USED)) {
        if (ta_prof_rate == 0 || !ta_block_is(b, TA_STATE_SAMPLED)) ta_diagnose_fault(b, s->start, s->end, p, op);
        info.sampled = 1;   /* a heap-profile sample (realloc counts it freed: ta_prof_unsample) */
    }
    info.segment = s;
    info.block = b;
    info.usable = ta_block_usable(b);
    return info;
}

void ta_prof_unsample(ta_ptr_info *info, void *p) {
    if (info->large) {
        ta_prof_release(info->large->prof, info->large->prof_size);
        info->large->prof = NULL;
        return;
    }
    ta_block *b = info->block;
    uint64_t tag = ta_block_tag(b, b->size, TA_STATE_SAMPLED);
    if (!ta_atomic_cas_strong_acq_rel(&b->a_tag, &tag, tag ^ (TA_STATE_SAMPLED ^ TA_STATE_USED)))
        ta_fault(TA_FAULT_DOUBLE_FREE, p, "realloc of a block freed meanwhile (concurrent)");
    if (ta_prof_untrack(p) != 0) ta_fault(TA_FAULT_CORRUPT_HEADER, p, "realloc of a sampled block the profiler does not know");
    info->sampled = 0;
}

TA_EXPORT void *ta_calloc(size_t n, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) { errno = ENOMEM; return NULL; }
    if (TA_UNLIKELY(ta_small_limit() == 0)) ta_init();   /* the limit is 0 until initialised */
    void *ra = TA_RETURN_ADDRESS();
    if (total < ta_small_limit()) {
        void *p = ta_malloc(total);
        if (p != NULL) memset(p, 0, total);
        return p;
    }
    /* A fresh mapping is zero already; a kept one is cleared. */
    ta_cache *c = ta_cache_mine();
    void *p;
    int fresh;
    if (TA_UNLIKELY(ta_prof_count(c, total)) && prof_sample(c, total, TA_ALIGN, ra, &p, &fresh)) {
        if (p != NULL && !fresh) memset(p, 0, total);
        ta_track_malloc(p, total, 1);
        return p;
    }
    p = large_alloc(total, TA_ALIGN, &fresh);
    if (p == NULL) return NULL;
    if (!fresh) memset(p, 0, total);
    ta_track_malloc(p, total, 1);
    return p;
}

TA_EXPORT size_t ta_usable_size(const void *p) {
    if (p == NULL) return 0;
    return ta_ptr_lookup(p, "usable size").usable;
}
