/* api_fast.h - the fast paths of malloc and free, written once and compiled twice: as ta_malloc and
 * ta_free (api.c) and as the C library's malloc and free (shim/override.c). Each copy names its own
 * exits, so the drop-in's names carry no test of their own on the fast path: the tooling of the
 * drop-in (shim/hooks.h: TAMALLOC_TRACE, the SIGUSR2 heap map) is looked at in the C names' exits
 * only. TAMALLOC_TRACE turns the thread cache off (init.c), so that every traced call leaves the
 * fast path and is recorded; a pending heap map is written at the next exit (at the latest
 * TA_CACHE_TICK_FREES cached frees later, when the tick countdown leaves).
 *
 * Each function is TA_ALWAYS_INLINE with its exits passed as constant function pointers, which the
 * compiler turns into direct calls and jumps: no indirect call remains (objdump of libtamalloc.so
 * shows malloc's and ta_malloc's bodies side by side). */
#ifndef TA_API_FAST_H
#define TA_API_FAST_H

#include <stddef.h>
#include <stdint.h>

#include "alloc/block.h"
#include "alloc/cache.h"
#include "alloc/config.h"
#include "alloc/platform/atomic.h"
#include "alloc/platform/compiler.h"
#include "alloc/segmap.h"
#include "alloc/segment.h"
#include "alloc/track.h"

/* The exits of the fast paths, as api.c implements them. */
/* Every allocation of n bytes the bins do not serve at once (empty bin, size past the cache). */
/* Also every allocation that runs the thread's heap-profile count out (ta_cache.prof_left). The fast
 * paths leave with a tail call (a jump), so the exit's own return address is the program's, where a
 * sampled stack starts (TA_RETURN_ADDRESS in the exit; inside malloc when the call is not a jump,
 * as at -O0, which pprof skips as the allocator's frame). */
TA_HIDDEN TA_NOINLINE TA_COLD void *ta_malloc_slow(size_t n);
/* Every allocation past the fast path: n bytes aligned to align; ra, the return address of the
 * program's call (where a heap-profile sample's stack starts). Samples when the thread's count ran
 * out (ta_cache.prof_left < 0: the caller subtracted n). */
TA_HIDDEN void *ta_alloc_slow(size_t n, size_t align, void *ra);
/* free of p whose span sp is not an arena segment (NULL, a large block, not tamalloc's), or that is
 * misaligned or in the first TA_ALIGN bytes of a segment. */
TA_HIDDEN TA_NOINLINE TA_COLD void ta_free_slow(void *p, ta_span *sp);
/* The header before p, in segment s, did not verify as USED: a heap-profile sample (state SAMPLED)
 * is accounted and freed; anything else is reported as the fault it is (no return). */
TA_HIDDEN TA_NOINLINE TA_COLD void ta_free_odd(void *p, ta_segment *s);

typedef void *(*ta_malloc_exit_fn)(size_t n);
typedef void (*ta_free_span_exit_fn)(void *p, ta_span *sp);
typedef void (*ta_free_cache_exit_fn)(ta_cache *c, ta_segment *s, ta_block *b, uint64_t tag);
typedef void (*ta_free_tick_exit_fn)(void);
typedef void (*ta_free_odd_exit_fn)(void *p, ta_segment *s);

/* malloc, fast path: one TLS base, the heap profiler's byte count (a subtraction and a branch, taken
 * once per sample: prof.h), one size compare, the bin's head; then the popped block's
 * safe-linked next pointer is verified (it must stay in the block's segment: a use-after-free write
 * over the link is caught here) and its state goes from CACHED to USED by flipping the state bits of
 * the tag it has (a load and a store). No lock, no atomic read-modify-write. The keyed tag is not
 * recomputed here: a header written over while the block sat in the bin keeps a tag that no longer
 * verifies, with the flip or without, so the block's free (or realloc, or usable size), which
 * verifies the USED tag in full, reports it (misuse case corrupt_cached_header). An empty bin (a
 * thread without a cache yet, an allocator not initialised, the cache off) leaves through slow; a
 * link out of the segment through ta_cache_pop_slow, which verifies the header as well. */
static TA_ALWAYS_INLINE void *ta_malloc_fast(size_t n, ta_malloc_exit_fn slow) {
    ta_cache *c = ta_cache_mine();
    if (TA_UNLIKELY(ta_prof_count(c, n))) return slow(n);   /* heap profile: sample */
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
    return slow(n);
}

/* free, fast path: segmap lookup (two loads, no NULL test: provenance), span kind, alignment and
 * the offset in the segment (the header read below stays inside the mapping), the keyed tag with
 * state USED (a load: a double free, an interior pointer, a forged or corrupted header fail here),
 * then, for a small block of the caller's own arena whose bin has room, a store of state CACHED and
 * a push, and a countdown to the next clock read (every TA_CACHE_TICK_FREES pushes: decay ticks
 * under light traffic too). NULL, large blocks and foreign pointers leave through span_exit; other
 * arenas' blocks, blocks too big to cache and full bins through cache_exit (ta_cache_free_slow's
 * contract: the USED tag is verified); a tag that is not USED through odd_exit (a heap-profile
 * sample is freed there, which costs the fast path nothing; anything else is a fault). */
static TA_ALWAYS_INLINE void ta_free_fast(void *p, ta_free_span_exit_fn span_exit, ta_free_cache_exit_fn cache_exit,
                                          ta_free_tick_exit_fn tick_exit, ta_free_odd_exit_fn odd_exit) {
    ta_span *sp = ta_segmap_find(p);
    if (TA_UNLIKELY(sp->kind != TA_SPAN_SEGMENT || ((uintptr_t)p & (TA_ALIGN - 1)) ||
                    ((uintptr_t)p & (TA_SEGMENT_MASK & ~(uintptr_t)(TA_ALIGN - 1))) == 0)) {
        span_exit(p, sp);
        return;
    }
    ta_segment *s = (ta_segment *)sp;
    ta_block *b = ta_block_of(p);
    size_t size = b->size;
    uint64_t tag = ta_atomic_load_relaxed(&b->a_tag);
    if (TA_UNLIKELY(tag != ta_block_tag(b, size, TA_STATE_USED))) {   /* a sample, or a fault */
        odd_exit(p, s);
        return;
    }
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
            if (TA_UNLIKELY(--c->tick_countdown < 0)) tick_exit();   /* decay, every 256 */
            return;
        }
    }
    cache_exit(c, s, b, tag);
}

#endif
