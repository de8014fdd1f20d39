/* stats.h - gathering totals and per-arena figures, and formatting them as text or JSON into a
 * caller's buffer (no allocation, so the at-exit report works whatever state the program is in).
 * Each arena is read under its own lock, one at a time; nothing here calls out while holding one. */
#ifndef TA_STATS_H
#define TA_STATS_H

#include <stddef.h>

#include "tamalloc.h"
#include "alloc/config.h"
#include "alloc/large.h"
#include "alloc/platform/compiler.h"

/* An arena's listed free blocks by whole-block size (headers included), in powers of two: class i
 * holds sizes in [TA_MIN_BLOCK << i, TA_MIN_BLOCK << (i + 1)); a free block is smaller than a
 * segment, so the last class ends at TA_SEGMENT_SIZE. */
#define TA_STATS_SIZE_CLASSES (TA_SEGMENT_SHIFT - 5u)
_Static_assert(TA_MIN_BLOCK == 1u << 5, "size class 0 starts at TA_MIN_BLOCK = 2^5");
typedef struct ta_stats_sizes {
    size_t count[TA_STATS_SIZE_CLASSES];   /* free blocks in the class */
    size_t bytes[TA_STATS_SIZE_CLASSES];   /* their sizes summed */
} ta_stats_sizes;

TA_HIDDEN void ta_stats_gather(ta_stats *out);
/* The same, and the large-block totals its figures were computed from (one reading of them: the
 * segments' share of out->mapped is out->mapped - large->mapped). */
TA_HIDDEN void ta_stats_gather_large(ta_stats *out, ta_large_totals *large);
TA_HIDDEN size_t ta_stats_gather_arena(unsigned index, ta_arena_stats *out);
/* ta_stats_gather_arena, plus the arena's free list by size class (*sizes), read under the same
 * lock: a walk of its free blocks (runs decay has out of the list for a moment are in out->free but
 * not in *sizes). Zeroes *sizes for an arena not in use. */
TA_HIDDEN size_t ta_stats_gather_arena_sizes(unsigned index, ta_arena_stats *out, ta_stats_sizes *sizes);
/* Formats the totals and every arena in use; returns the length written (truncated to cap - 1). */
TA_HIDDEN size_t ta_stats_format(char *buf, size_t cap, int json);

#endif
