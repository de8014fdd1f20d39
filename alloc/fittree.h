/* fittree.h - a segment's fit summary: a complete binary max-tree over the words of its free-start
 * bitmap, so "the first free block at or after granule g with at least `need` granules" is found by
 * climbing and descending the tree instead of walking the free blocks one by one.
 *
 *    node[1]                          the largest free block starting anywhere in the segment
 *    node[i] = max(node[2i], node[2i+1])                               for 1 <= i < TA_FIT_LEAVES
 *    node[TA_FIT_LEAVES + w] = max over free blocks starting in bitmap word w (64 granules, 1 KiB)
 *                              of their size in granules; 0 when none starts there
 *
 * Sizes are in granules (bytes / TA_ALIGN; every block size is a multiple of it), saturated at
 * TA_FIT_CAP (65535 granules, 1 MiB - 16 bytes) so a node is 16 bits: every value below the cap is
 * exact, and a search for more than the cap looks for the cap and leaves the exact test to the
 * caller (only requests within 16 bytes of a 1 MiB TAMALLOC_MMAP_THRESHOLD are that large; a block
 * that falls short is passed over like one that fails an alignment). A leaf covers 1 KiB, and free blocks are never adjacent (a free block
 * and the used block after it take at least 2 * TA_MIN_BLOCK), so scanning one leaf reads at most
 * 1024 / 64 = 16 headers. A search reads at most two leaves and 2 * log2(TA_FIT_LEAVES) = 24 nodes.
 * Costs: a size change of a free block is one leaf write and at most 12 parent writes (a shrink of a
 * leaf's largest block rescans that leaf's <= 16 headers first); the tree has no pointers to follow.
 * The tree lives in the segment header (16 KiB of 4 MiB), out of reach of writes through user
 * pointers; pages of it are touched only where free blocks start.
 * Owned by the segment's arena; read and written only under that arena's lock. */
#ifndef TA_FITTREE_H
#define TA_FITTREE_H

#include <stddef.h>
#include <stdint.h>

#include "alloc/bitmap.h"
#include "alloc/block.h"
#include "alloc/config.h"
#include "alloc/platform/compiler.h"

#define TA_FIT_LEAVES (TA_GRANULES / 64u)   /* one leaf per free-start bitmap word: 4096 */

#define TA_FIT_CAP    0xffffu               /* node values saturate here */

typedef struct ta_fittree {
    uint16_t node[2 * TA_FIT_LEAVES];   /* node[0] unused; see the equations above */
} ta_fittree;

_Static_assert((TA_FIT_LEAVES & (TA_FIT_LEAVES - 1)) == 0, "a complete binary tree over the leaves");
_Static_assert(TA_MMAP_THRESHOLD_DEFAULT / TA_ALIGN < TA_FIT_CAP, "default arena requests are below the cap");

static TA_ALWAYS_INLINE uint32_t ta_fittree_clamp(uint32_t granules) { return granules < TA_FIT_CAP ? granules : TA_FIT_CAP; }

/* What ta_fittree_find returns besides a granule. */
#define TA_FIT_NONE    (-1)   /* no free block at or after g holds need granules */
#define TA_FIT_CORRUPT (-2)   /* a node promised a block that its leaf does not have */

/* The size in granules of the free block starting at granule g of the segment at base. */
static TA_ALWAYS_INLINE uint32_t fittree_size_at(const char *base, uint32_t g) {
    return (uint32_t)(((const ta_block *)(base + (size_t)g * TA_ALIGN))->size / TA_ALIGN);
}

/* The value leaf w must have: the largest free block starting in bitmap word w. */
static inline uint32_t ta_fittree_leaf_value(const ta_bitmap *m, const char *base, uint32_t w) {
    uint32_t best = 0;
    for (uint64_t bits = m->bits[w]; bits; bits &= bits - 1) {
        uint32_t sz = fittree_size_at(base, w * 64u + (uint32_t)bitmap_lo(bits));
        if (sz > best) best = sz;
    }
    return ta_fittree_clamp(best);
}

/* Node i changed: recomputes its ancestors, stopping where a parent already holds the right
 * maximum. */
static TA_ALWAYS_INLINE void fittree_repair_up(ta_fittree *t, uint32_t i) {
    while (i > 1) {
        uint32_t p = i >> 1, l = t->node[2 * p], r = t->node[2 * p + 1];
        uint32_t m = l > r ? l : r;
        if (t->node[p] == m) break;
        t->node[p] = (uint16_t)m;
        i = p;
    }
}

/* Sets leaf w to v and repairs its ancestors. Returns 1 when the root (the segment's largest free
 * block) changed. */
static inline int ta_fittree_set_leaf(ta_fittree *t, uint32_t w, uint32_t v) {
    uint32_t i = TA_FIT_LEAVES + w, root = t->node[1];
    if (t->node[i] == v) return 0;
    t->node[i] = (uint16_t)v;
    fittree_repair_up(t, i);
    return t->node[1] != root;
}

/* A free block of `size` granules now starts at granule g (new, or grown): a raise. */
static TA_ALWAYS_INLINE int ta_fittree_raise(ta_fittree *t, uint32_t g, uint32_t size) {
    uint32_t w = g >> 6, v = ta_fittree_clamp(size);
    if (t->node[TA_FIT_LEAVES + w] >= v) return 0;
    return ta_fittree_set_leaf(t, w, v);
}

/* A free block of `old` granules at granule g shrank or left (the bitmap and its header already
 * say so). Only when it was its leaf's largest is the leaf rescanned. */
static TA_ALWAYS_INLINE int ta_fittree_lower(ta_fittree *t, const ta_bitmap *m, const char *base, uint32_t g, uint32_t old) {
    uint32_t w = g >> 6;
    if (t->node[TA_FIT_LEAVES + w] > ta_fittree_clamp(old)) return 0;
    return ta_fittree_set_leaf(t, w, ta_fittree_leaf_value(m, base, w));
}

/* A free block moved within the segment: the one of `old` granules at granule ga shrank or left
 * (bitmap and headers say so), and one of nsize granules now starts at gb (grown, or new). Both
 * leaves are written, their ancestors recomputed up to the nearest common one, and above it only
 * while a value changes: one climb instead of two when the two starts are near (a carve's
 * remainder, a merge). Returns 1 when the root changed. */
static inline int ta_fittree_move(ta_fittree *t, const ta_bitmap *m, const char *base, uint32_t ga, uint32_t old, uint32_t gb,
                                  uint32_t nsize) {
    uint32_t wa = ga >> 6, wb = gb >> 6, root = t->node[1];
    uint32_t ia = TA_FIT_LEAVES + wa, ib = TA_FIT_LEAVES + wb;
    uint32_t va = t->node[ia];
    if (va <= ta_fittree_clamp(old)) va = ta_fittree_leaf_value(m, base, wa);   /* it was the largest there */
    if (wa == wb) {   /* the rescan saw the new start too; else the old one was not the largest and the new is smaller */
        uint32_t v = ta_fittree_clamp(nsize);
        ta_fittree_set_leaf(t, wa, va > v ? va : v);
        return t->node[1] != root;
    }
    uint32_t vb = ta_fittree_clamp(nsize);
    if (t->node[ib] > vb) vb = t->node[ib];
    t->node[ia] = (uint16_t)va;
    t->node[ib] = (uint16_t)vb;
    while (ia != ib) {   /* leaves are all at one depth: climb in step to the common ancestor */
        ia >>= 1;
        ib >>= 1;
        uint32_t l = t->node[2 * ia], r = t->node[2 * ia + 1];
        t->node[ia] = (uint16_t)(l > r ? l : r);
        if (ia != ib) {
            l = t->node[2 * ib];
            r = t->node[2 * ib + 1];
            t->node[ib] = (uint16_t)(l > r ? l : r);
        }
    }
    fittree_repair_up(t, ia);
    return t->node[1] != root;
}

/* The first free block starting in bitmap word w at a bit in mask that holds at least need
 * granules; *steps counts the headers read. */
static inline int64_t fittree_scan_leaf(const ta_bitmap *m, const char *base, uint32_t w, uint64_t mask, uint32_t need,
                                        size_t *steps) {
    for (uint64_t bits = m->bits[w] & mask; bits; bits &= bits - 1) {
        uint32_t g = w * 64u + (uint32_t)bitmap_lo(bits);
        (*steps)++;
        if (fittree_size_at(base, g) >= need) return (int64_t)g;
    }
    return TA_FIT_NONE;
}

/* The lowest granule >= g where a free block of at least need granules starts (need above the cap:
 * of at least the cap), TA_FIT_NONE, or TA_FIT_CORRUPT when the tree promised a block its leaf does
 * not hold (a corrupted summary or header: reported by the caller, never followed further). */
static inline int64_t ta_fittree_find(const ta_fittree *t, const ta_bitmap *m, const char *base, uint32_t g, uint32_t need,
                                      size_t *steps) {
    need = ta_fittree_clamp(need);
    if (g >= TA_GRANULES || t->node[1] < need) return TA_FIT_NONE;
    uint32_t w = g >> 6, i = TA_FIT_LEAVES + w;
    if (t->node[i] >= need) {
        int64_t r = fittree_scan_leaf(m, base, w, ~(uint64_t)0 << (g & 63), need, steps);
        if (r >= 0) return r;
    }
    /* climb to the lowest ancestor whose right subtree (wholly past w) holds a fitting block */
    for (;;) {
        if (i == 1) return TA_FIT_NONE;
        (*steps)++;
        if (!(i & 1) && t->node[i + 1] >= need) { i++; break; }
        i >>= 1;
    }
    /* descend to its leftmost fitting leaf */
    while (i < TA_FIT_LEAVES) {
        (*steps)++;
        i *= 2;
        if (t->node[i] < need) i++;
    }
    int64_t r = fittree_scan_leaf(m, base, i - TA_FIT_LEAVES, ~(uint64_t)0, need, steps);
    return r >= 0 ? r : TA_FIT_CORRUPT;
}

#endif
