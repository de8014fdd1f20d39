/* segment.c - mapping, registering, ordering and releasing an arena's segments.
 * Mapping and unmapping happen outside the arena lock; linking into the arena's address-ordered
 * segment list and free list happen under it. */
#include "alloc/segment_ops.h"

#include <errno.h>

#include "alloc/platform/os.h"

ta_segment *ta_segment_map(struct ta_arena *owner) {
    ta_segment *s = ta_os_map_aligned(TA_SEGMENT_SIZE, TA_SEGMENT_SIZE);
    if (!s) return NULL;
    s->span.kind = TA_SPAN_SEGMENT;
    s->arena = owner;
    s->next = s->prev = NULL;
    s->start = (char *)s + TA_SEGMENT_HEADER_SIZE;
    s->end = (char *)s + TA_SEGMENT_SIZE;
    /* the bitmap is zero: fresh anonymous memory */
    if (ta_segmap_register(s, TA_SEGMENT_SIZE, &s->span) != 0) {
        ta_os_unmap(s, TA_SEGMENT_SIZE);
        errno = ENOMEM;
        return NULL;
    }
    return s;
}

void ta_segment_link_locked(ta_segment **list, ta_freelist *fl, ta_segment *s) {
    ta_segment *prev = NULL, *at = *list;
    while (at && at < s) { prev = at; at = at->next; }
    s->prev = prev;
    s->next = at;
    if (prev) prev->next = s; else *list = s;
    if (at) at->prev = s;
    ta_block *b = (ta_block *)s->start;
    b->size = TA_SEGMENT_DATA_SIZE;
    ta_fl_insert_locked(fl, b);
    if (TA_UNLIKELY(fl->level >= 2)) ta_fl_poison(s->start + TA_POISON_SKIP, s->end);
}

void ta_segment_unlink_locked(ta_segment **list, ta_freelist *fl, ta_segment *s) {
    ta_fl_remove_locked(fl, (ta_block *)s->start);
    if (s->prev) s->prev->next = s->next; else *list = s->next;
    if (s->next) s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

void ta_segment_unmap(ta_segment *s) {
    ta_segmap_unregister(s, TA_SEGMENT_SIZE);
    ta_os_unmap(s, TA_SEGMENT_SIZE);
}
