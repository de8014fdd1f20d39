/* segment.c - mapping and registering a segment, and unregistering and unmapping it. Both run with
 * no arena lock held (linking into an arena's lists is arena.c's). */
#include "alloc/segment.h"

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

void ta_segment_unmap(ta_segment *s) {
    ta_segmap_unregister(s, TA_SEGMENT_SIZE);
    ta_os_unmap(s, TA_SEGMENT_SIZE);
}
