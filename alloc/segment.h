/* segment.h - a 4 MiB, 4 MiB-aligned region an arena carves blocks from.
 *
 *    base (aligned to TA_SEGMENT_SIZE)
 *    +----------------------+--------+--------+-----+--------+
 *    | ta_segment header    | block  | block  | ... | block  |   blocks tile [start, end) exactly
 *    | (kind, owner, links, |        |        |     |        |
 *    |  free-start bitmap)  |        |        |     |        |
 *    +----------------------+--------+--------+-----+--------+
 *                           start                            end = base + TA_SEGMENT_SIZE
 *
 * Invariants: the blocks of [start, end) tile it (each next block at b + b->size, the last ending
 *   at end); free_starts has exactly the start granules of the free blocks, and fit summarises
 *   their sizes (fittree.h); arena and kind never
 *   change while the segment is mapped; next/prev order an arena's segments by address.
 * The struct, its navigation, and mapping/registering/unmapping (segment.c) live here. Linking a
 * segment into an arena's segment list and free list is the arena's (arena.c): the caller sequences
 * map -> (lock) link ... unlink (unlock) -> unmap, so no system call runs under an arena lock. */
#ifndef TA_SEGMENT_H
#define TA_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "alloc/bitmap.h"
#include "alloc/block.h"
#include "alloc/config.h"
#include "alloc/fittree.h"
#include "alloc/platform/compiler.h"
#include "alloc/segmap.h"

struct ta_arena;

typedef struct ta_segment {
    ta_span span;                 /* kind = TA_SPAN_SEGMENT; first, for segmap lookups */
    struct ta_arena *arena;       /* owner for the segment's whole life */
    struct ta_segment *next;      /* arena's segments in address order; guarded by the arena lock */
    struct ta_segment *prev;
    char *start;                  /* first block */
    char *end;                    /* one past the last block */
    uint64_t purged[TA_SEGMENT_PAGES / 64];    /* page given back (madvise): reads as zero until
                                                  touched; guarded by the arena lock */
    uint64_t candidate[TA_SEGMENT_PAGES / 64]; /* page seen free and resident at the last decay
                                                  tick: given back at the next if still so */
    int empty_ticks;              /* decay ticks this segment has been wholly free (arena lock) */
    /* the arena's fit index (fitindex.h): a treap of its segments by address; arena lock */
    struct ta_segment *ix_left, *ix_right, *ix_parent;
    uint32_t ix_sub;              /* largest free block (granules) in this treap subtree */
    uint32_t ix_prio;             /* treap priority: a hash of the address */
    ta_bitmap free_starts;        /* free-block start granules; guarded by the arena lock */
    ta_fittree fit;               /* largest free block per bitmap word and above (fittree.h) */
} ta_segment;

#define TA_SEGMENT_HEADER_SIZE ((sizeof(ta_segment) + 63) & ~(size_t)63)
#define TA_SEGMENT_DATA_SIZE   (TA_SEGMENT_SIZE - TA_SEGMENT_HEADER_SIZE)
_Static_assert(TA_SEGMENT_HEADER_SIZE % TA_ALIGN == 0, "blocks start aligned");

static TA_ALWAYS_INLINE ta_segment *ta_segment_of(const void *p) {
    return (ta_segment *)((uintptr_t)p & ~(uintptr_t)TA_SEGMENT_MASK);
}
static TA_ALWAYS_INLINE uint32_t ta_segment_granule(const void *p) {
    return (uint32_t)(((uintptr_t)p & TA_SEGMENT_MASK) / TA_ALIGN);
}
static TA_ALWAYS_INLINE ta_block *ta_segment_block_at(ta_segment *s, int64_t granule) {
    return (ta_block *)((char *)s + (size_t)granule * TA_ALIGN);
}
static TA_ALWAYS_INLINE int ta_segment_is_free_start(ta_segment *s, const void *b) {
    return ta_bitmap_test(&s->free_starts, ta_segment_granule(b));
}
/* The page of p within its segment (purge granule TA_PAGE). */
static TA_ALWAYS_INLINE uint32_t ta_segment_page(const void *p) {
    return (uint32_t)(((uintptr_t)p & TA_SEGMENT_MASK) >> TA_PAGE_SHIFT);
}

/* Bytes [from, to) of s are about to be written (handed out, or a header placed there): their pages
 * are no longer purged nor candidates. Returns how many purged pages that was. */
static inline size_t ta_segment_touch(ta_segment *s, const void *from, const void *to) {
    if ((const char *)to <= (const char *)from) return 0;
    uint32_t lo = ta_segment_page(from), hi = ta_segment_page((const char *)to - 1);
    size_t was = 0;
    for (uint32_t w = lo >> 6; w <= hi >> 6; w++) {
        uint64_t mask = ~(uint64_t)0;
        if (w == lo >> 6) mask &= ~(uint64_t)0 << (lo & 63);
        if (w == hi >> 6) mask &= ~(uint64_t)0 >> (63 - (hi & 63));
        if (!((s->purged[w] | s->candidate[w]) & mask)) continue;
        was += (size_t)__builtin_popcountll(s->purged[w] & mask);
        s->purged[w] &= ~mask;
        s->candidate[w] &= ~mask;
    }
    return was;
}

/* Is this free block a whole segment's block area? */
static TA_ALWAYS_INLINE int ta_segment_is_empty(const ta_block *free_block) {
    return free_block->size == TA_SEGMENT_DATA_SIZE;
}

/* A new registered segment owned by owner, not yet linked; NULL (errno ENOMEM) on failure. */
TA_HIDDEN ta_segment *ta_segment_map(struct ta_arena *owner);
/* Unregisters and unmaps an unlinked segment. */
TA_HIDDEN void ta_segment_unmap(ta_segment *s);

#endif
