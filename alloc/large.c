/* large.c - direct-mmap blocks: map with a header, register, validate, reuse a freed mapping for a
 * new block, grow in place (mremap), unregister, unmap. Whether a freed mapping is kept for reuse
 * is decided above (decay.c keeps a few per arena). */
#include "alloc/large.h"

#include <errno.h>
#include <stdint.h>

#include "alloc/config.h"
#include "alloc/fault.h"
#include "alloc/platform/atomic.h"
#include "alloc/platform/os.h"

static ta_atomic_size large_live, large_usable, large_mapped, large_cached;

/* Recently unmapped large user pointers, so a second free names the double free. */
#define LARGE_HISTORY 64u
static ta_atomic_uptr large_history[LARGE_HISTORY];
static ta_atomic_size large_history_next;

static uint64_t *large_canary(ta_large *l) { return (uint64_t *)(l->user + l->usable); }
static uint64_t large_canary_value(ta_large *l) { return ta_block_key(large_canary(l), l->usable) + 0xa; }

/* Offset of the user pointer from the mapping's base, and the bytes a block of n (rounded) needs. */
static size_t large_offset(size_t align) {
    return (sizeof(ta_large) + TA_HDR + align - 1) & ~(align - 1);
}
static size_t large_map_size(size_t offset, size_t usable) {
    size_t page = ta_os_page_size();
    return (offset + usable + sizeof(uint64_t) + page - 1) & ~(page - 1);
}

/* Lays a block of usable bytes at the given offset over the mapping of l (map_size already set). */
static void *large_place(ta_large *l, size_t offset, size_t usable) {
    l->span.kind = TA_SPAN_LARGE;
    l->user = (char *)l + offset;
    l->usable = usable;
    l->prof = NULL;
    l->heap = NULL;
    l->heap_next = l->heap_prev = NULL;
    *large_canary(l) = large_canary_value(l);
    ta_block_set(ta_block_of(l->user), usable + TA_HDR, TA_STATE_LARGE);
    ta_atomic_add_relaxed(&large_live, (size_t)1);
    ta_atomic_add_relaxed(&large_usable, usable);
    return l->user;
}

int ta_large_need(size_t n, size_t align, size_t *map_size) {
    if (n > SIZE_MAX / 2 || align > SIZE_MAX / 4) return -1;
    size_t usable = (n + TA_ALIGN - 1) & ~(size_t)(TA_ALIGN - 1);
    *map_size = large_map_size(large_offset(align), usable);
    return 0;
}

void *ta_large_alloc(size_t n, size_t align) {
    size_t map_size;
    if (ta_large_need(n, align, &map_size) != 0) { errno = ENOMEM; return NULL; }
    size_t usable = (n + TA_ALIGN - 1) & ~(size_t)(TA_ALIGN - 1);
    size_t map_align = align > TA_SEGMENT_SIZE ? align : TA_SEGMENT_SIZE;
    char *base = ta_os_map_aligned(map_size, map_align);
    if (!base) return NULL;
    ta_large *l = (ta_large *)base;
    l->map_size = map_size;
    l->span.kind = TA_SPAN_LARGE;
    if (ta_segmap_register(base, map_size, &l->span) != 0) {
        ta_os_unmap(base, map_size);
        errno = ENOMEM;
        return NULL;
    }
    ta_atomic_add_relaxed(&large_mapped, map_size);
    return large_place(l, large_offset(align), usable);
}

/* The base alignment a mapping needs when it moves, for a block at offset from its base: a
 * segment's (the segment map's unit), or the block's alignment when larger. offset is a multiple of
 * that alignment (large_offset), so its lowest set bit bounds it; the base's own address is not
 * used, as its alignment may be far larger than anything needs by chance. */
static size_t large_base_align(size_t offset) {
    size_t a = offset & (~offset + 1);
    return a < TA_SEGMENT_SIZE ? TA_SEGMENT_SIZE : a;
}

/* Grows the mapping of l to new_map bytes without copying: by mremap in place, else onto a fresh
 * mapping aligned to map_align (registered in the segment map before the pages move there, so a
 * failure leaves l as it was). Returns the mapping (l, or where it moved) with map_size set and
 * counted in large_mapped, or NULL with errno ENOMEM and l untouched. */
static ta_large *large_remap(ta_large *l, size_t new_map, size_t map_align) {
    size_t old_map = l->map_size;
    if (ta_os_resize(l, old_map, new_map) == 0) {
        if (ta_segmap_register(l, new_map, &l->span) != 0) {
            (void)ta_os_resize(l, new_map, old_map);   /* a shrink in place: cannot fail */
            errno = ENOMEM;
            return NULL;
        }
        l->map_size = new_map;
        ta_atomic_add_relaxed(&large_mapped, new_map - old_map);
        return l;
    }
    ta_large *m = ta_os_map_aligned(new_map, map_align);
    if (!m) return NULL;
    if (ta_segmap_register(m, new_map, &m->span) != 0) {
        ta_os_unmap(m, new_map);
        errno = ENOMEM;
        return NULL;
    }
    if (ta_os_move(l, old_map, new_map, m) != 0) {
        ta_segmap_unregister(m, new_map);
        ta_os_unmap(m, new_map);
        errno = ENOMEM;
        return NULL;
    }
    ta_segmap_unregister(l, old_map);
    m->map_size = new_map;
    ta_atomic_add_relaxed(&large_mapped, new_map - old_map);
    return m;
}

void *ta_large_reuse(ta_large *l, size_t n, size_t align) {
    size_t usable = (n + TA_ALIGN - 1) & ~(size_t)(TA_ALIGN - 1);
    size_t offset = large_offset(align), need = large_map_size(offset, usable), old_map = l->map_size;
    if (need > old_map) {
        ta_large *m = large_remap(l, need, large_base_align(offset));
        if (!m) {   /* out of memory: the mapping goes back to the system */
            ta_large_unmap(l);
            errno = ENOMEM;
            return NULL;
        }
        l = m;
    } else if (old_map - need > ta_large_slack(need)) {
        /* give back the pages past the new block; its segment-map entries past them go too */
        size_t chunk_end = (need + TA_SEGMENT_SIZE - 1) & ~(TA_SEGMENT_SIZE - 1);
        ta_os_unmap((char *)l + need, old_map - need);
        if (old_map > chunk_end) ta_segmap_unregister((char *)l + chunk_end, old_map - chunk_end);
        l->map_size = need;
        ta_atomic_sub_relaxed(&large_mapped, old_map - need);
    }
    ta_atomic_sub_relaxed(&large_cached, old_map);   /* kept no more: in use again */
    return large_place(l, offset, usable);
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

void ta_large_release(ta_large *l, void *user) {
    large_validate(l, user, "free");
    ta_block *b = ta_block_of(user);
    uint64_t expected = ta_block_tag(b, b->size, TA_STATE_LARGE);
    if (!ta_atomic_cas_strong_acq_rel(&b->a_tag, &expected, ta_block_tag(b, b->size, TA_STATE_QUEUED)))
        ta_fault(TA_FAULT_DOUBLE_FREE, user, "free (concurrent)");
    if (TA_UNLIKELY(*large_canary(l) != large_canary_value(l)))
        ta_fault(TA_FAULT_OVERFLOW, user, "the canary after this large block was overwritten");
    size_t slot = ta_atomic_add_relaxed(&large_history_next, (size_t)1) % LARGE_HISTORY;
    ta_atomic_store_relaxed(&large_history[slot], (uintptr_t)user);
    ta_atomic_sub_relaxed(&large_live, (size_t)1);
    ta_atomic_sub_relaxed(&large_usable, l->usable);
    ta_atomic_add_relaxed(&large_cached, l->map_size);   /* until it is unmapped or reused */
}

/* The mapping goes back to the system: out of the mapped count and the segment map, unmapped. */
static void large_unmap_mapping(ta_large *l) {
    size_t map_size = l->map_size;
    ta_atomic_sub_relaxed(&large_mapped, map_size);
    ta_segmap_unregister(l, map_size);
    ta_os_unmap(l, map_size);
}

void ta_large_unmap(ta_large *l) {
    ta_atomic_sub_relaxed(&large_cached, l->map_size);
    large_unmap_mapping(l);
}

void ta_large_discard(ta_large *l) {
    ta_atomic_sub_relaxed(&large_live, (size_t)1);
    ta_atomic_sub_relaxed(&large_usable, l->usable);
    large_unmap_mapping(l);
}

void *ta_large_grow(ta_large *l, size_t n) {
    if (n > SIZE_MAX / 2) { errno = ENOMEM; return NULL; }
    size_t usable = (n + TA_ALIGN - 1) & ~(size_t)(TA_ALIGN - 1);
    size_t offset = (size_t)(l->user - (char *)l);
    size_t new_map = large_map_size(offset, usable), old_map = l->map_size;
    if (new_map <= old_map) {   /* fits the pages mapped already */
        ta_atomic_add_relaxed(&large_usable, usable - l->usable);
        l->usable = usable;
        *large_canary(l) = large_canary_value(l);
        ta_block_set(ta_block_of(l->user), usable + TA_HDR, TA_STATE_LARGE);
        return l->user;
    }
    ta_large *m = large_remap(l, new_map, large_base_align(offset));
    if (!m) return NULL;   /* errno ENOMEM; l untouched */
    m->user = (char *)m + offset;
    ta_atomic_add_relaxed(&large_usable, usable - m->usable);
    m->usable = usable;
    *large_canary(m) = large_canary_value(m);
    ta_block_set(ta_block_of(m->user), usable + TA_HDR, TA_STATE_LARGE);
    return m->user;
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
    out->cached = ta_atomic_load_relaxed(&large_cached);
}
