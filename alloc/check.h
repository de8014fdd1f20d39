/* check.h - the full invariant walk behind ta_check (and TAMALLOC_CHECK=2).
 * It reads headers and links without following an unverified pointer, so it reports corruption
 * with a code instead of faulting or crashing. The caller holds the arena's lock. */
#ifndef TA_CHECK_H
#define TA_CHECK_H

#include "alloc/arena.h"
#include "alloc/platform/compiler.h"

enum ta_check_code {
    TA_CHECK_OK = 0,
    TA_CHECK_SEGMENT_LIST,    /* segments out of address order, wrong owner, or not registered */
    TA_CHECK_TILING,          /* block sizes do not tile a segment */
    TA_CHECK_HEADER,          /* a header's tag does not verify, or its state is not a block state */
    TA_CHECK_ADJACENT_FREE,   /* two free blocks are physically adjacent */
    TA_CHECK_BITMAP,          /* the free-start bitmap disagrees with the block states */
    TA_CHECK_LIST_ORDER,      /* the free list is not the free blocks in address order */
    TA_CHECK_LIST_LINK,       /* a prev link disagrees with the list order, or head/tail wrong */
    TA_CHECK_LIST_TOTALS,     /* free count or bytes disagree with the list */
    TA_CHECK_ROVER,           /* rover not on a listed block (or not NULL on an empty list) */
    TA_CHECK_COUNTERS,        /* allocated / live blocks / empty segments disagree with the blocks */
    TA_CHECK_POISON,          /* TAMALLOC_CHECK=2: a free block's poisoned bytes were written */
    TA_CHECK_PURGED,          /* a page given back overlaps a block in use or a free block's header,
                                 or the purged total disagrees with the page bitmaps */
    TA_CHECK_INDEX,           /* the fit index disagrees with the free blocks: a tree node is not the
                                 largest free block it summarises, or the segment treap's order,
                                 links, priorities or summaries are wrong (fitindex.h) */
    TA_CHECK_CODE_COUNT_
};

TA_HIDDEN int ta_arena_check_locked(ta_arena *a) TA_REQUIRES(a->lock, a->fl);
/* Locks a, checks, unlocks. */
TA_HIDDEN int ta_arena_check(ta_arena *a);
TA_HIDDEN const char *ta_check_code_name(int code);
/* TAMALLOC_CHECK=2 hook (installed by init): checks a locked arena, faults on any failure. */
TA_HIDDEN void ta_arena_check_or_fault_locked(ta_arena *a) TA_REQUIRES(a->lock, a->fl);

#endif
