/* segment_ops.h - life cycle of segments (layer 3): map and register, link into an arena, unlink,
 * unregister and unmap. The caller sequences them: map -> (lock) link ... unlink (unlock) -> unmap,
 * so no system call runs under an arena lock. */
#ifndef TA_SEGMENT_OPS_H
#define TA_SEGMENT_OPS_H

#include "alloc/freelist.h"
#include "alloc/platform/compiler.h"
#include "alloc/segment.h"

/* A new registered segment owned by owner, not yet linked; NULL (errno ENOMEM) on failure. */
TA_HIDDEN ta_segment *ta_segment_map(struct ta_arena *owner);
/* Adds s to the address-ordered list and its whole block area to the free list. */
TA_HIDDEN void ta_segment_link_locked(ta_segment **list, ta_freelist *fl, ta_segment *s);
/* Removes an empty s (its single free block) from the free list and the segment list. */
TA_HIDDEN void ta_segment_unlink_locked(ta_segment **list, ta_freelist *fl, ta_segment *s);
/* Is this free block a whole segment's block area? */
static TA_ALWAYS_INLINE int ta_segment_is_empty(const ta_block *free_block) {
    return free_block->size == TA_SEGMENT_DATA_SIZE;
}
TA_HIDDEN void ta_segment_unmap(ta_segment *s);

#endif
