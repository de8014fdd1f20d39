/* api_realloc.c - ta_realloc and ta_reallocarray: NULL and zero cases, resize in place (shrink, or
 * grow into a free next neighbour) when the caller's thread uses the block's arena, else move. A
 * user heap's block stays in its heap (api_heaps.c). */
#include <errno.h>
#include <string.h>

#include "tamalloc.h"
#include "alloc/api_internal.h"
#include "alloc/arena_table.h"
#include "alloc/init.h"
#include "alloc/track.h"

static void *realloc_move(void *p, size_t old_usable, size_t n) {
    void *q = ta_malloc(n);
    ta_track_resize(p, old_usable);   /* the user's again: all its usable bytes, as copied below */
    if (q == NULL) return NULL;   /* p is untouched */
    memcpy(q, p, old_usable < n ? old_usable : n);
    ta_free(p);
    return q;
}

TA_EXPORT void *ta_realloc(void *p, size_t n) {
    if (p == NULL) return ta_malloc(n);
    ta_ptr_info info = ta_ptr_lookup(p, "realloc");
    if (n == 0) { ta_free(p); return NULL; }
    ta_arena *heap = info.large ? info.large->heap : info.segment->arena->user ? info.segment->arena : NULL;
    if (TA_UNLIKELY(heap != NULL)) return ta_heap_realloc_in(heap, p, &info, n);   /* stays in its heap */
    ta_track_free(p, info.usable);   /* the allocator's until it is handed back below */
    if (TA_UNLIKELY(info.sampled || (info.large && info.large->prof != NULL)))
        ta_prof_unsample(&info, p);   /* a heap-profile sample: counted freed; resized as any block */
    if (info.large) {
        /* Keep the mapping while the new size still needs a large block and wastes under half. */
        if (n <= info.usable && n >= ta_small_limit() && n >= info.usable / 2) { ta_track_resize(p, n); return p; }
        if (n > info.usable) {   /* grow without copying: in its mapping, or by mremap */
            void *q = ta_large_grow(info.large, n);
            if (q != NULL) { ta_track_resize(q, n); return q; }
        }
        return realloc_move(p, info.usable, n);
    }
    if (n < ta_small_limit()) {
        size_t bsize = ta_block_size_for(n);
        ta_arena *a = info.segment->arena;
        if (a == ta_arena_mine()) {
            if (ta_arena_resize(a, info.block, bsize)) { ta_track_resize(p, n); return p; }
        } else if (bsize <= info.block->size) {
            ta_track_resize(p, n);
            return p;   /* shrinking a block of another arena: keep it rather than take its lock */
        }
    }
    return realloc_move(p, info.usable, n);
}

TA_EXPORT void *ta_reallocarray(void *p, size_t n, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) { errno = ENOMEM; return NULL; }
    return ta_realloc(p, total);
}
