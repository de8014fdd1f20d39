/* fitindex.h - an arena's fit index: which free block, at or after an address, is the first that
 * holds a given size. It answers next-fit's question in O(log n) instead of walking the free list.
 *
 * Two levels, both keyed by address:
 *   - per segment, its fit tree (fittree.h): a max-tree over the free-start bitmap's words;
 *   - per arena, a treap of its segments (fields ix_* in ta_segment), each node summarising its
 *     subtree:
 *        own(s)      = s->fit.node[1]                       (the segment's largest free block)
 *        s->ix_sub   = max(own(s), ix_sub(left), ix_sub(right))
 *        in-order    = the arena's segment list (ascending addresses)
 *        ix_prio(parent) >= ix_prio(child)   (priorities hash the address: expected depth O(log))
 *        ix_parent(child) == parent; root's ix_parent == NULL
 * A search reads O(log segments) treap nodes and at most 24 tree nodes and 32 headers of one or two
 * segments. The free list keeps its links for neighbours and order; the index holds no block
 * pointers, only sizes, so every free block is in it exactly once, through its bitmap bit.
 * ta_fix_verify (used by ta_check) recomputes every equation above.
 * Caller holds the arena's lock for everything here. Knows nothing of locks, the OS or TLS. */
#ifndef TA_FITINDEX_H
#define TA_FITINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "alloc/block.h"
#include "alloc/fittree.h"
#include "alloc/platform/compiler.h"
#include "alloc/segment.h"

typedef struct ta_fitindex {
    ta_segment *root;   /* treap of the arena's segments; NULL when it has none */
} ta_fitindex;

/* A linked segment joins (its fit tree as it is: zero for a fresh one) or leaves the treap. */
TA_HIDDEN void ta_fix_insert(ta_fitindex *ix, ta_segment *s);
TA_HIDDEN void ta_fix_remove(ta_fitindex *ix, ta_segment *s);
/* s's largest free block changed: repairs the summaries above it. */
TA_HIDDEN void ta_fix_update(ta_segment *s);

/* ---- hooks for the free list's edits (after the bitmap and the header say the new state) ---- */

/* b is a free block now (new, or grown from `old` bytes; old = 0 for new). */
static TA_ALWAYS_INLINE void ta_fix_grown(ta_block *b) {
    ta_segment *s = ta_segment_of(b);
    if (ta_fittree_raise(&s->fit, ta_segment_granule(b), (uint32_t)(b->size / TA_ALIGN))) ta_fix_update(s);
}
/* A free block of old bytes at b shrank (b->size is its new size) or left the list (its bit is
 * clear). */
static TA_ALWAYS_INLINE void ta_fix_shrunk(ta_block *b, size_t old) {
    ta_segment *s = ta_segment_of(b);
    if (ta_fittree_lower(&s->fit, &s->free_starts, (const char *)s, ta_segment_granule(b), (uint32_t)(old / TA_ALIGN)))
        ta_fix_update(s);
}

/* The free block of old bytes at `from` shrank or left the list, and `to` (same segment) is a
 * free block now, new or grown: one update for both (see ta_fittree_move). */
static TA_ALWAYS_INLINE void ta_fix_moved(ta_block *from, size_t old, ta_block *to) {
    ta_segment *s = ta_segment_of(from);
    if (ta_fittree_move(&s->fit, &s->free_starts, (const char *)s, ta_segment_granule(from), (uint32_t)(old / TA_ALIGN),
                        ta_segment_granule(to), (uint32_t)(to->size / TA_ALIGN)))
        ta_fix_update(s);
}

/* The lowest-addressed free block at or after granule g of segment s (s NULL: from the arena's
 * lowest address) that holds need bytes (need past TA_FIT_CAP granules: at least that many; the
 * caller checks the size), or NULL. Faults (TA_FAULT_CORRUPT_LINK, naming the
 * segment) when a summary promises a block that is not there or a treap link is not one of the
 * arena's segments. *steps counts nodes and headers read. */
TA_HIDDEN ta_block *ta_fix_find(ta_fitindex *ix, ta_segment *s, uint32_t g, size_t need, size_t *steps);

/* The check (ta_check): 0, or 1 when a tree node, a treap link, order, priority or summary is
 * wrong. Reads only the arena's registered segments (head: its segment list, n of them); free
 * blocks' headers must already have been verified against the bitmaps. */
TA_HIDDEN int ta_fix_verify(const ta_fitindex *ix, ta_segment *head, size_t n);

#endif
