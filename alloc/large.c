/* large.c - direct-mmap blocks: map with a header, register, validate, unregister, unmap. */
#include "alloc/large.h"

#include <errno.h>
#include <stdint.h>

#include "alloc/config.h"
#include "alloc/fault.h"
#include "alloc/platform/atomic.h"
#include "alloc/platform/os.h"

static ta_atomic_size large_live, large_usable, large_mapped;

/* Recently unmapped large user pointers, so a second free names the double free. */
#define LARGE_HISTORY 64u
static ta_atomic_uptr large_history[LARGE_HISTORY];
static ta_atomic_size large_history_next;

static uint64_t *large_canary(ta_large *l) { return (uint64_t *)(l->user + l->usable); }
static uint64_t large_canary_value(ta_large *l) { return ta_block_key(large_canary(l), l->usable) | 0xa; }

void *ta_large_alloc(size_t n, size_t align) {
    size_t page = ta_os_page_size();
    size_t offset = sizeof(ta_large) + TA_HDR;
    offset = (offset + align - 1) & ~(align - 1);
    if (n > SIZE_MAX / 2 || align > SIZE_MAX / 4) { errno = ENOMEM; return NULL; }
    size_t usable = (n + TA_ALIGN - 1) & ~(size_t)(TA_ALIGN - 1);
    size_t map_size = (offset + usable + sizeof(uint64_t) + page - 1) & ~(page - 1);
    size_t map_align = align > TA_SEGMENT_SIZE ? align : TA_SEGMENT_SIZE;
    char *base = ta_os_map_aligned(map_size, map_align);
    if (!base) return NULL;
    ta_large *l = (ta_large *)base;
    l->span.kind = TA_SPAN_LARGE;
    l->map_size = map_size;
    l->user = base + offset;
    l->usable = usable;
    *large_canary(l) = large_canary_value(l);
    ta_block_set(ta_block_of(l->user), usable + TA_HDR, TA_STATE_LARGE);
    if (ta_segmap_register(base, map_size, &l->span) != 0) {
        ta_os_unmap(base, map_size);
        errno = ENOMEM;
        return NULL;
    }
    ta_atomic_add_relaxed(&large_live, (size_t)1);
    ta_atomic_add_relaxed(&large_usable, usable);
    ta_atomic_add_relaxed(&large_mapped, map_size);
    return l->user;
}

static void large_validate(ta_large *l, const void *user, const char *op) {
    if (TA_UNLIKELY((const char *)user != l->user)) {
        /* segmap maps whole 4 MiB chunks: past map_size the chunk may hold someone else's mapping */
        if ((const char *)user >= (const char *)l + l->map_size) ta_fault(TA_FAULT_INVALID_POINTER, user, op);
        ta_fault(TA_FAULT_INTERIOR_POINTER, user, op);
    }
    ta_block *b = ta_block_of(user);
    if (TA_UNLIKELY(b->size != l->usable + TA_HDR || !ta_block_tag_ok(b)))
        ta_fault(TA_FAULT_CORRUPT_HEADER, user, "large block header does not verify");
    if (TA_UNLIKELY(ta_block_state(b) != TA_STATE_LARGE))
        ta_fault(op[0] == 'f' ? TA_FAULT_DOUBLE_FREE : TA_FAULT_USE_AFTER_FREE, user, op);
}

size_t ta_large_usable(ta_large *l, const void *user, const char *op) {
    large_validate(l, user, op);
    return l->usable;
}

void ta_large_free(ta_large *l, void *user) {
    large_validate(l, user, "free");
    ta_block *b = ta_block_of(user);
    uint64_t expected = ta_block_tag(b, b->size, TA_STATE_LARGE);
    if (!ta_atomic_cas_strong_acq_rel(&b->a_tag, &expected, ta_block_tag(b, b->size, TA_STATE_QUEUED)))
        ta_fault(TA_FAULT_DOUBLE_FREE, user, "free (concurrent)");
    if (TA_UNLIKELY(*large_canary(l) != large_canary_value(l)))
        ta_fault(TA_FAULT_OVERFLOW, user, "the canary after this large block was overwritten");
    size_t map_size = l->map_size, usable = l->usable;
    size_t slot = ta_atomic_add_relaxed(&large_history_next, (size_t)1) % LARGE_HISTORY;
    ta_atomic_store_relaxed(&large_history[slot], (uintptr_t)user);
    ta_segmap_unregister(l, map_size);
    ta_os_unmap(l, map_size);
    ta_atomic_sub_relaxed(&large_live, (size_t)1);
    ta_atomic_sub_relaxed(&large_usable, usable);
    ta_atomic_sub_relaxed(&large_mapped, map_size);
}

int ta_large_was_freed(const void *user) {
    for (unsigned i = 0; i < LARGE_HISTORY; i++)
        if (ta_atomic_load_relaxed(&large_history[i]) == (uintptr_t)user) return 1;
    return 0;
}

void ta_large_get_totals(ta_large_totals *out) {
    out->live = ta_atomic_load_relaxed(&large_live);
    out->usable = ta_atomic_load_relaxed(&large_usable);
    out->mapped = ta_atomic_load_relaxed(&large_mapped);
}
