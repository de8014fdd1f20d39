/* api_internal.h - what the api*.c files share: validating a user pointer for an operation. */
#ifndef TA_API_INTERNAL_H
#define TA_API_INTERNAL_H

#include <stddef.h>

#include "alloc/block.h"
#include "alloc/large.h"
#include "alloc/platform/compiler.h"
#include "alloc/segment.h"

typedef struct ta_ptr_info {
    ta_segment *segment;   /* arena block: its segment and header */
    ta_block *block;
    ta_large *large;       /* or a large block */
    size_t usable;
    int sampled;           /* an arena block that is a heap-profile sample (state SAMPLED) */
} ta_ptr_info;

/* Validates live user pointer p for op ("realloc", "usable size"); faults with a precise name
 * (invalid, misaligned, interior, use after free, corrupted) when it is not one. */
TA_HIDDEN ta_ptr_info ta_ptr_lookup(const void *p, const char *op);
/* p (looked up in info) is a heap-profile sample that realloc is about to resize: its sample is
 * counted freed and the block goes on as an unsampled one (state USED). A block moved by realloc
 * is a new allocation, counted (and maybe sampled) as malloc counts it. */
TA_HIDDEN void ta_prof_unsample(ta_ptr_info *info, void *p);

/* Every allocation that is not ta_malloc's fast path: initialises, assigns the thread an arena,
 * routes large sizes and large alignments (align, a power of two >= TA_ALIGN) to their own mapping. */
TA_HIDDEN void *ta_alloc_slow(size_t n, size_t align, void *ra);   /* api_fast.h */

/* Writes the JSON heap map (ta_heap_map's format) to fd with write(2), never allocating. 0, or -1
 * when a write failed. The drop-in's TAMALLOC_HEAP_MAP file uses it too. */
TA_HIDDEN int ta_heapmap_write_fd(int fd);

/* User heaps (api_heaps.c). */
struct ta_arena;
/* Frees large block l of a heap (l->heap; validated and released by ta_large_release): out of the
 * heap's list, then unmapped (a heap's mappings are never kept for reuse). */
TA_HIDDEN void ta_heap_large_free(ta_large *l);
/* ta_realloc of p, a block of heap arena a (looked up in info): resized or moved within the heap. */
TA_HIDDEN void *ta_heap_realloc_in(struct ta_arena *a, void *p, const ta_ptr_info *info, size_t n);
/* Was p in a segment or large mapping a ta_heap_destroy unmapped? (best effort: a history) */
TA_HIDDEN int ta_heap_was_destroyed(const void *p);

#endif
