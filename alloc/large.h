/* large.h - blocks at or above the mmap threshold, each in its own mapping.
 *
 *    base (aligned to TA_SEGMENT_SIZE, or to the requested alignment when larger)
 *    +-----------+- ... -+------------+------------------------+--------+-- page slack --+
 *    | ta_large  |       | ta_block   | user bytes (usable)    | canary |                |
 *    +-----------+- ... -+------------+------------------------+--------+----------------+
 *                                     ^ user = base + offset
 *
 * The block header before the user pointer has state LARGE, so free/realloc/usable-size validate
 * a large block the same way as an arena block; the canary after the usable end catches an
 * overflow on free. Large blocks take no arena lock; totals are process-wide atomics (this is the
 * mmap path, never the fast path). */
#ifndef TA_LARGE_H
#define TA_LARGE_H

#include <stddef.h>

#include "alloc/block.h"
#include "alloc/platform/compiler.h"
#include "alloc/segmap.h"

typedef struct ta_large {
    ta_span span;        /* kind = TA_SPAN_LARGE; first, for segmap lookups */
    size_t map_size;     /* bytes mapped at base */
    char *user;          /* the one valid user pointer of this mapping */
    size_t usable;       /* bytes usable at user */
    struct ta_prof_stack *prof;   /* a heap-profile sample: the stack it was allocated from (prof.h);
                                     NULL for every other block (set by the placing of a block) */
    size_t prof_size;    /* a sample: the bytes it was asked for */
    /* A user heap's block (api_heaps.c): the heap's arena, and its list of live large blocks, which
     * ta_heap_destroy unmaps; guarded by that arena's lock. NULL for every other block (set by the
     * placing of a block). A heap's large block is never kept for reuse nor grown in place. */
    struct ta_arena *heap;
    struct ta_large *heap_next, *heap_prev;
} ta_large;

typedef struct ta_large_totals {
    size_t live;         /* live large blocks */
    size_t usable;       /* their usable bytes */
    size_t mapped;       /* bytes mapped for large blocks, live or freed and kept for reuse */
    size_t cached;       /* of those, freed mappings kept for reuse */
} ta_large_totals;

/* n user bytes aligned to align (a power of two >= TA_ALIGN). NULL + ENOMEM on failure. */
TA_HIDDEN void *ta_large_alloc(size_t n, size_t align);
/* The mapping size a block of n bytes aligned to align needs (for matching a kept mapping). -1 when
 * no mapping can hold it. */
TA_HIDDEN int ta_large_need(size_t n, size_t align, size_t *map_size);
/* How much larger than need a kept mapping may be and still be reused as it is: up to twice the
 * size (plus 64 KiB). Cutting a mapping down is a munmap and the pages come back later as faults;
 * on bench/churn (128 KiB..2 MiB blocks that grow), a quarter ran 12-22% fewer operations per
 * second than twice at 1, 2 and 4 threads, for 0.2-0.7 MB less peak RSS. A reused block wastes at
 * most this much. */
static inline size_t ta_large_slack(size_t need) { return need + ((size_t)64 << 10); }
/* A freed mapping laid out again as a block of n bytes aligned to align (the mapping's base must be
 * aligned to it); its resident pages are reused, no page is faulted in again. When it is at most
 * ta_large_slack larger than the block needs, no system call; when larger, the pages past the block
 * are unmapped; when smaller, the mapping grows by mremap (in place, or moved with its pages).
 * Returns the user pointer, or NULL with errno ENOMEM and l unmapped (it could not grow). */
TA_HIDDEN void *ta_large_reuse(ta_large *l, size_t n, size_t align);
/* Frees a large block found by segmap lookup: validates pointer, state and canary (faults), then the
 * block's state is QUEUED (a second free or a use is reported) while the mapping stays mapped: the
 * caller keeps it for reuse or gives it to ta_large_unmap. */
TA_HIDDEN void ta_large_release(ta_large *l, void *user);
TA_HIDDEN void ta_large_unmap(ta_large *l);
/* A live block unmapped without a free (ta_heap_destroy): counted out of the live totals, then
 * unregistered and unmapped (not noted as freed: a later free of it names the destroyed heap). */
TA_HIDDEN void ta_large_discard(ta_large *l);
/* Grows live block l to n usable bytes without copying: within its mapping, or by mremap in place
 * or to a new address (the pages move, nothing is copied). Returns the user pointer (changed if the
 * mapping moved), or NULL with errno ENOMEM and l unchanged. */
TA_HIDDEN void *ta_large_grow(ta_large *l, size_t n);
/* Usable size; validates like free ("realloc"/"usable size" name the operation in faults). */
TA_HIDDEN size_t ta_large_usable(ta_large *l, const void *user, const char *op);
TA_HIDDEN void ta_large_get_totals(ta_large_totals *out);
/* Was user a large block that has been freed and unmapped? (best effort: a small history) */
TA_HIDDEN int ta_large_was_freed(const void *user);

#endif
