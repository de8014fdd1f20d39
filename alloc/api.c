/* api.c - ta_malloc, ta_free, ta_calloc, ta_usable_size: the fast paths, top of file.
 * Everything that is not the common case leaves through a TA_NOINLINE ..._slow function below. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "tamalloc.h"
#include "alloc/api_internal.h"
#include "alloc/arena_table.h"
#include "alloc/diagnose.h"
#include "alloc/fault.h"
#include "alloc/init.h"
#include "alloc/large.h"
#include "alloc/track.h"

static TA_NOINLINE TA_COLD void *malloc_slow(size_t n);
static TA_NOINLINE TA_COLD void free_slow(void *p, ta_span *sp);

/* Fast path, branch budget: one TLS load and one limit compare, then the arena's lock pair with one
 * relaxed load of its remote-queue head inside. An uninitialised allocator has limit 0 and a thread
 * without an arena has NULL, so both fall into malloc_slow. */
TA_EXPORT void *ta_malloc(size_t n) {
    ta_arena *a = ta_arena_mine();
    if (TA_UNLIKELY(a == NULL || n >= ta_small_limit())) return malloc_slow(n);
    void *p = ta_arena_alloc(a, ta_block_size_for(n), TA_ALIGN);
    ta_track_malloc(p, n, 0);
    return p;
}

/* Fast path, branch budget: segmap lookup (two loads), span kind, one compare-and-swap that claims
 * the block (it verifies the keyed tag, so a double free or a forged header fails here), then
 * owner == my arena ? locked coalescing insert : lock-free push to the owner's queue. */
TA_EXPORT void ta_free(void *p) {
    if (p == NULL) return;
    ta_span *sp = ta_segmap_lookup(p);
    if (TA_UNLIKELY(sp == NULL || sp->kind != TA_SPAN_SEGMENT || ((uintptr_t)p & (TA_ALIGN - 1)))) {
        free_slow(p, sp);
        return;
    }
    ta_segment *s = (ta_segment *)sp;
    ta_block *b = ta_block_of(p);
    if (TA_UNLIKELY((char *)b < s->start || !ta_block_claim_free(b, b->size)))
        ta_diagnose_fault(b, s->start, s->end, p, "free");
    ta_track_free(p, ta_block_usable(b));
    ta_arena *owner = s->arena;
    if (TA_LIKELY(owner == ta_arena_mine())) ta_arena_free_local(owner, b);
    else ta_arena_free_remote(owner, b);
}

/* ------------------------------------------------------------------------------------------- */

void *ta_alloc_slow(size_t n, size_t align) {
    ta_init();
    void *p;
    if (n >= ta_small_limit() || (align > TA_ALIGN && align >= ta_small_limit() / 4)) {
        p = ta_large_alloc(n, align);
    } else {
        ta_arena *a = ta_arena_mine();
        if (!a) a = ta_arena_table_assign();
        p = ta_arena_alloc(a, ta_block_size_for(n), align);
    }
    ta_track_malloc(p, n, 0);
    return p;
}

static void *malloc_slow(size_t n) { return ta_alloc_slow(n, TA_ALIGN); }

static void free_slow(void *p, ta_span *sp) {
    if (((uintptr_t)p & (TA_ALIGN - 1)) != 0) ta_fault(TA_FAULT_MISALIGNED_POINTER, p, "free");
    if (sp == NULL) {
        if (ta_large_was_freed(p)) ta_fault(TA_FAULT_DOUBLE_FREE, p, "free of an unmapped large block");
        ta_fault(TA_FAULT_INVALID_POINTER, p, "free");
    }
    ta_track_free(p, ta_large_usable((ta_large *)sp, p, "free"));
    ta_large_free((ta_large *)sp, p);
}

ta_ptr_info ta_ptr_lookup(const void *p, const char *op) {
    ta_ptr_info info = {0};
    if (((uintptr_t)p & (TA_ALIGN - 1)) != 0) ta_fault(TA_FAULT_MISALIGNED_POINTER, p, op);
    ta_span *sp = ta_segmap_lookup(p);
    if (sp == NULL) {
        if (ta_large_was_freed(p)) ta_fault(TA_FAULT_USE_AFTER_FREE, p, op);
        ta_fault(TA_FAULT_INVALID_POINTER, p, op);
    }
    if (sp->kind == TA_SPAN_LARGE) {
        info.large = (ta_large *)sp;
        info.usable = ta_large_usable(info.large, p, op);
        return info;
    }
    ta_segment *s = (ta_segment *)sp;
    ta_block *b = ta_block_of(p);
    if ((char *)b < s->start || !ta_block_is(b, TA_STATE_USED)) ta_diagnose_fault(b, s->start, s->end, p, op);
    info.segment = s;
    info.block = b;
    info.usable = ta_block_usable(b);
    return info;
}

TA_EXPORT void *ta_calloc(size_t n, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) { errno = ENOMEM; return NULL; }
    void *p = ta_malloc(total);
    if (p == NULL) return NULL;
    /* Fresh mappings are zero already; a large block always comes from a fresh mapping. */
    if (total < ta_small_limit()) memset(p, 0, total);
    else ta_track_mem_defined(p, total);
    return p;
}

TA_EXPORT size_t ta_usable_size(const void *p) {
    if (p == NULL) return 0;
    return ta_ptr_lookup(p, "usable size").usable;
}
