/* diagnose.c - names the fault when a header does not verify (see diagnose.h). */
#include "alloc/diagnose.h"

#include "alloc/config.h"
#include "alloc/fault.h"
#include "alloc/segment.h"

/* The state of the block that strictly contains user (0 when none): walks headers from the
 * segment start, stopping at the first header that does not verify. */
static uint64_t block_containing_state(const char *start, const char *end, const char *user) {
    const char *at = start;
    while (at + TA_HDR <= end) {
        ta_block *b = (ta_block *)at;
        size_t size = b->size;
        if (size < TA_MIN_BLOCK || size % TA_ALIGN || size > (size_t)(end - at) || !ta_block_tag_ok(b)) return 0;
        if (user > at + TA_HDR && user < at + size) return ta_atomic_load_relaxed(&b->a_tag) & TA_STATE_MASK;
        if (user <= at + TA_HDR) return 0;
        at += size;
    }
    return 0;
}

/* All bytes of b's header are TA_POISON_BYTE. */
static int block_is_poison(const ta_block *b) {
    const unsigned char *c = (const unsigned char *)b;
    for (unsigned i = 0; i < TA_HDR; i++) if (c[i] != TA_POISON_BYTE) return 0;
    return 1;
}

void ta_diagnose_fault(ta_block *b, const char *data_start, const char *data_end, const void *user, const char *op) {
    if ((const char *)b < data_start)
        ta_fault(TA_FAULT_INVALID_POINTER, user, "inside tamalloc's segment header, not a block");
    size_t size = b->size;
    uint64_t tag = ta_atomic_load_relaxed(&b->a_tag);
    int size_ok = size >= TA_MIN_BLOCK && size % TA_ALIGN == 0 && size <= (size_t)(data_end - (const char *)b);
    if (size_ok && (tag & ~TA_STATE_MASK) == ta_block_key(b, size)) {
        uint64_t st = tag & TA_STATE_MASK;
        /* a FREE header of a block that is not on the free list had its state bits rewritten (the
         * bitmap is read only when [data_start, data_end) is the block area of a real segment) */
        ta_segment *s = ta_segment_of(b);
        if (st == TA_STATE_FREE && data_start == (const char *)s + TA_SEGMENT_HEADER_SIZE &&
            data_end == (const char *)s + TA_SEGMENT_SIZE && !ta_segment_is_free_start(s, b))
            ta_fault(TA_FAULT_CORRUPT_HEADER, user, "state says free but the block is not on the free list");
        if (st == TA_STATE_FREE || st == TA_STATE_QUEUED || st == TA_STATE_CACHED)
            ta_fault(op[0] == 'f' ? TA_FAULT_DOUBLE_FREE : TA_FAULT_USE_AFTER_FREE, user, op);
        ta_fault(TA_FAULT_CORRUPT_HEADER, user, "unexpected block state");
    } else if (tag == ta_block_tag(b, 0, TA_STATE_MERGED)) {
        ta_fault(op[0] == 'f' ? TA_FAULT_DOUBLE_FREE : TA_FAULT_USE_AFTER_FREE, user, op);
    } else {
        uint64_t st = block_containing_state(data_start, data_end, (const char *)user);
        /* inside a free block: at TAMALLOC_CHECK=2 a header merged away when it was freed is poison
         * (levels 0-1 tag it MERGED, handled above), so poison there names a second free */
        if (st == TA_STATE_FREE && block_is_poison(b))
            ta_fault(op[0] == 'f' ? TA_FAULT_DOUBLE_FREE : TA_FAULT_USE_AFTER_FREE, user, op);
        if (st == TA_STATE_FREE)
            ta_fault(TA_FAULT_INVALID_POINTER, user, "inside free memory: never handed out, or freed and reused long ago");
        if (st) ta_fault(TA_FAULT_INTERIOR_POINTER, user, op);
    }
    ta_fault(TA_FAULT_CORRUPT_HEADER, user, size_ok ? "tag does not verify" : "size out of range");
}
