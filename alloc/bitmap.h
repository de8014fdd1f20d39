/* bitmap.h - a three-level bitmap over a segment's 16-byte granules: bit g is set when a free block
 * starts at granule g. It is the index that keeps the address-ordered free list O(1) to maintain:
 * the free block before (or after) any address is one or two word scans away, so inserting a freed
 * block in address order and finding a free physical predecessor need no list walk.
 * Invariants: mid bit w set <=> bits[w] != 0; top bit v set <=> mid[v] != 0.
 * Owned by the segment's arena; read and written only under that arena's lock. */
#ifndef TA_BITMAP_H
#define TA_BITMAP_H

#include <stdint.h>

#include "alloc/config.h"
#include "alloc/platform/compiler.h"

typedef struct ta_bitmap {
    uint64_t top;                    /* bit v: mid[v] != 0 */
    uint64_t mid[64];                /* bit w of mid[v]: bits[64v + w] != 0 */
    uint64_t bits[TA_GRANULES / 64]; /* bit g: a free block starts at granule g */
} ta_bitmap;

static inline void ta_bitmap_set(ta_bitmap *m, uint32_t g) {
    uint32_t w = g >> 6, v = w >> 6;
    m->bits[w] |= (uint64_t)1 << (g & 63);
    m->mid[v] |= (uint64_t)1 << (w & 63);
    m->top |= (uint64_t)1 << v;
}
static inline void ta_bitmap_clear(ta_bitmap *m, uint32_t g) {
    uint32_t w = g >> 6, v = w >> 6;
    m->bits[w] &= ~((uint64_t)1 << (g & 63));
    if (m->bits[w]) return;
    m->mid[v] &= ~((uint64_t)1 << (w & 63));
    if (!m->mid[v]) m->top &= ~((uint64_t)1 << v);
}
/* Moves a set bit from granule from to granule to (to is clear). Within one word (the common case
 * when a split or a merge shifts a block start by a few granules) the upper levels are unchanged. */
static inline void ta_bitmap_move(ta_bitmap *m, uint32_t from, uint32_t to) {
    if ((from >> 6) == (to >> 6)) {
        m->bits[from >> 6] ^= ((uint64_t)1 << (from & 63)) | ((uint64_t)1 << (to & 63));
        return;
    }
    ta_bitmap_set(m, to);
    ta_bitmap_clear(m, from);
}
static inline int ta_bitmap_test(const ta_bitmap *m, uint32_t g) {
    return (int)((m->bits[g >> 6] >> (g & 63)) & 1);
}
static inline int bitmap_hi(uint64_t x) { return 63 - __builtin_clzll(x); }
static inline int bitmap_lo(uint64_t x) { return __builtin_ctzll(x); }

/* Highest set granule < g, or -1. */
static inline int64_t ta_bitmap_prev(const ta_bitmap *m, uint32_t g) {
    uint32_t w = g >> 6, v = w >> 6;
    uint64_t x = m->bits[w] & (((uint64_t)1 << (g & 63)) - 1);
    if (x) return (int64_t)(w * 64 + (uint32_t)bitmap_hi(x));
    x = m->mid[v] & (((uint64_t)1 << (w & 63)) - 1);
    if (!x) {
        uint64_t t = m->top & (((uint64_t)1 << v) - 1);
        if (!t) return -1;
        v = (uint32_t)bitmap_hi(t);
        x = m->mid[v];
    }
    w = v * 64 + (uint32_t)bitmap_hi(x);
    return (int64_t)(w * 64 + (uint32_t)bitmap_hi(m->bits[w]));
}

/* Lowest set granule > g, or -1. */
static inline int64_t ta_bitmap_next(const ta_bitmap *m, uint32_t g) {
    uint32_t w = g >> 6, v = w >> 6;
    uint64_t x = (g & 63) == 63 ? 0 : m->bits[w] & ~(((uint64_t)2 << (g & 63)) - 1);
    if (x) return (int64_t)(w * 64 + (uint32_t)bitmap_lo(x));
    x = (w & 63) == 63 ? 0 : m->mid[v] & ~(((uint64_t)2 << (w & 63)) - 1);
    if (!x) {
        uint64_t t = v == 63 ? 0 : m->top & ~(((uint64_t)2 << v) - 1);
        if (!t) return -1;
        v = (uint32_t)bitmap_lo(t);
        x = m->mid[v];
    }
    w = v * 64 + (uint32_t)bitmap_lo(x);
    return (int64_t)(w * 64 + (uint32_t)bitmap_lo(m->bits[w]));
}

/* Highest set granule in the whole map, or -1. */
static inline int64_t ta_bitmap_last(const ta_bitmap *m) {
    if (!m->top) return -1;
    uint32_t v = (uint32_t)bitmap_hi(m->top);
    uint32_t w = v * 64 + (uint32_t)bitmap_hi(m->mid[v]);
    return (int64_t)(w * 64 + (uint32_t)bitmap_hi(m->bits[w]));
}

#endif
