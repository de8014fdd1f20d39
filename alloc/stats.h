/* stats.h - gathering totals and per-arena figures, and formatting them as text or JSON into a
 * caller's buffer (no allocation, so the at-exit report works whatever state the program is in). */
#ifndef TA_STATS_H
#define TA_STATS_H

#include <stddef.h>

#include "tamalloc.h"
#include "alloc/platform/compiler.h"

TA_HIDDEN void ta_stats_gather(ta_stats *out);
TA_HIDDEN size_t ta_stats_gather_arena(unsigned index, ta_arena_stats *out);
/* Formats the totals and every arena in use; returns the length written (truncated to cap - 1). */
TA_HIDDEN size_t ta_stats_format(char *buf, size_t cap, int json);

#endif
