/* check.c - verifies every invariant stated in freelist.h, segment.h, fitindex.h and arena.c for one
 * arena.
 * Never dereferences a decoded link: it compares links with the free blocks found by walking the
 * tiling, which only reads memory inside the arena's registered segments. */
#include "alloc/check.h"

#include "alloc/fault.h"
#include "alloc/fitindex.h"
#include "alloc/freelist.h"
#include "alloc/segment.h"

static const char *const check_names[TA_CHECK_CODE_COUNT_] = {
    [TA_CHECK_OK] = "ok",
    [TA_CHECK_SEGMENT_LIST] = "segment list out of order, foreign or unregistered",
    [TA_CHECK_TILING] = "block sizes do not tile a segment",
    [TA_CHECK_HEADER] = "block header does not verify",
    [TA_CHECK_ADJACENT_FREE] = "two free blocks are adjacent",
    [TA_CHECK_BITMAP] = "free-start bitmap disagrees with block states",
    [TA_CHECK_LIST_ORDER] = "free list is not the free blocks in address order",
    [TA_CHECK_LIST_LINK] = "free-list prev link, head or tail is wrong",
    [TA_CHECK_LIST_TOTALS] = "free-list count or bytes are wrong",
    [TA_CHECK_ROVER] = "rover is not on a listed free block",
    [TA_CHECK_COUNTERS] = "arena counters disagree with its blocks",
    [TA_CHECK_POISON] = "freed memory was written (poison bytes changed)",
    [TA_CHECK_PURGED] = "a page given back to the OS lies under a live block or a header",
    [TA_CHECK_INDEX] = "fit index disagrees with the free blocks",
};

const char *ta_check_code_name(int code) {
    return (code >= 0 && code < TA_CHECK_CODE_COUNT_) ? check_names[code] : "unknown check code";
}

static ta_block *check_link(ta_block *b, int slot) {
    uintptr_t *slots = (uintptr_t *)ta_block_user(b);
    return ta_link_decode(&slots[slot], slots[slot]);
}

/* Walks one segment's blocks; advances the expected list position. */
static int check_segment(ta_arena *a, ta_segment *s, ta_block **expect, ta_block **last_free,
                         size_t *free_count, size_t *free_bytes, size_t *allocated, size_t *live,
                         size_t *empty, int *rover_seen, size_t *purged) {
    unsigned bitmap_bits = 0, free_here = 0;
    int prev_free = 0;
    char *at = s->start;
    while (at < s->end) {
        ta_block *b = (ta_block *)at;
        size_t size = b->size;
        if (size < TA_MIN_BLOCK || size % TA_ALIGN || size > (size_t)(s->end - at)) return TA_CHECK_TILING;
        if (!ta_block_tag_ok(b)) return TA_CHECK_HEADER;
        enum ta_block_state st = ta_block_state(b);
        int is_free = st == TA_STATE_FREE;
        if (st != TA_STATE_FREE && st != TA_STATE_USED && st != TA_STATE_QUEUED && st != TA_STATE_CACHED &&
            st != TA_STATE_PURGING && st != TA_STATE_SAMPLED)
            return TA_CHECK_HEADER;
        if (is_free != ta_segment_is_free_start(s, b)) return TA_CHECK_BITMAP;
        if (is_free) {
            if (prev_free) return TA_CHECK_ADJACENT_FREE;
            if (b != *expect) return TA_CHECK_LIST_ORDER;
            if (check_link(b, 1) != *last_free) return TA_CHECK_LIST_LINK;
            if (b == a->fl.rover) *rover_seen = 1;
            *expect = check_link(b, 0);
            *last_free = b;
            (*free_count)++;
            *free_bytes += size;
            free_here++;
            if (size == TA_SEGMENT_DATA_SIZE) (*empty)++;
            if (a->fl.level >= 2 && ta_fl_poison_damage((char *)b + TA_POISON_SKIP, (char *)b + size)) return TA_CHECK_POISON;
        } else {   /* USED, QUEUED (claimed by a free, on its way back), CACHED (in a thread cache) or
                      PURGING (a free run decay took off the list while it gives pages back): out
                      of the arena, counted in allocated until the arena gets it back */
            *allocated += ta_block_usable(b);
            (*live)++;
        }
        /* Pages given back (purged) lie only wholly inside free blocks (or runs being purged), past
         * their header and links. */
        int interior_ok = is_free || st == TA_STATE_PURGING;
        uintptr_t keep_from = (uintptr_t)at, keep_to = (uintptr_t)at + size;   /* pages that must not be purged */
        if (interior_ok) keep_to = ((uintptr_t)at + TA_POISON_SKIP + TA_PAGE - 1) & ~(uintptr_t)(TA_PAGE - 1);
        uint32_t pg_lo = ta_segment_page((const void *)keep_from), pg_hi = ta_segment_page((const void *)(keep_to - 1));
        if (keep_to > keep_from)
            for (uint32_t pg = pg_lo; pg <= pg_hi; pg++)
                if ((s->purged[pg >> 6] >> (pg & 63)) & 1) return TA_CHECK_PURGED;
        if (interior_ok && (((uintptr_t)at + size) & (TA_PAGE - 1))) {   /* the partial page at its end */
            uint32_t pg = ta_segment_page(at + size - 1);
            if ((s->purged[pg >> 6] >> (pg & 63)) & 1) return TA_CHECK_PURGED;
        }
        prev_free = is_free;
        at += size;
    }
    for (unsigned w = 0; w < TA_SEGMENT_PAGES / 64; w++) *purged += (size_t)__builtin_popcountll(s->purged[w]) * TA_PAGE;
    for (unsigned w = 0; w < TA_GRANULES / 64; w++) bitmap_bits += (unsigned)__builtin_popcountll(s->free_starts.bits[w]);
    return bitmap_bits == free_here ? TA_CHECK_OK : TA_CHECK_BITMAP;
}

int ta_arena_check_locked(ta_arena *a) {
    ta_block *expect = a->fl.head, *last_free = NULL;
    size_t free_count = 0, free_bytes = 0, allocated = 0, live = 0, empty = 0, nsegs = 0, purged = 0;
    int rover_seen = 0;
    ta_segment *prev = NULL;
    for (ta_segment *s = a->segments; s; prev = s, s = s->next) {   /* the segment list first */
        if (s->prev != prev || (prev && prev >= s) || s->arena != a || s->span.kind != TA_SPAN_SEGMENT ||
            ta_segmap_lookup(s) != &s->span || s->start != (char *)s + TA_SEGMENT_HEADER_SIZE ||
            s->end != (char *)s + TA_SEGMENT_SIZE || ++nsegs > a->nsegments)
            return TA_CHECK_SEGMENT_LIST;
    }
    for (ta_segment *s = a->segments; s; s = s->next) {
        int rc = check_segment(a, s, &expect, &last_free, &free_count, &free_bytes, &allocated, &live, &empty, &rover_seen,
                               &purged);
        if (rc) return rc;
    }
    if (nsegs != a->nsegments) return TA_CHECK_SEGMENT_LIST;
    if (expect != NULL) return TA_CHECK_LIST_ORDER;
    if (a->fl.tail != last_free || (a->fl.head == NULL) != (last_free == NULL)) return TA_CHECK_LIST_LINK;
    if (free_count != a->fl.count || free_bytes != a->fl.bytes) return TA_CHECK_LIST_TOTALS;
    if (a->fl.rover ? !rover_seen : free_count != 0) return TA_CHECK_ROVER;
    if (allocated != a->allocated || live != a->live_blocks || empty != a->empty_segments) return TA_CHECK_COUNTERS;
    if (purged != a->fl.purged) return TA_CHECK_PURGED;
    /* the index last: its leaves are recomputed from headers the walk above has verified */
    if (ta_fix_verify(&a->fl.index, a->segments, a->nsegments)) return TA_CHECK_INDEX;
    return TA_CHECK_OK;
}

int ta_arena_check(ta_arena *a) {
    ta_arena_lock(a);
    int rc = ta_arena_check_locked(a);
    ta_arena_unlock(a);
    return rc;
}

void ta_arena_check_or_fault_locked(ta_arena *a) {
    int rc = ta_arena_check_locked(a);
    if (rc) ta_fault(TA_FAULT_HEAP_CHECK, a, ta_check_code_name(rc));
}
