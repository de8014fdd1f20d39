/* api_heap.c - the heap-inspection API: ta_check, ta_heap_walk, stats, ta_collect, ta_prof_dump.
 * Thin wrappers over check.c, stats.c, prof.c and arena_table.c; arenas are visited one at a time in index order. */
#include <stdio.h>

#include "tamalloc.h"
#include "alloc/arena_table.h"
#include "alloc/background.h"
#include "alloc/cache.h"
#include "alloc/check.h"
#include "alloc/decay.h"
#include "alloc/init.h"
#include "alloc/prof.h"
#include "alloc/stats.h"

TA_EXPORT int ta_check(void) {
    ta_init();
    for (unsigned i = 0; i < ta_arena_table_count_all(); i++) {
        ta_arena *a = ta_arena_table_get(i);
        int rc = a ? ta_arena_check(a) : 0;
        if (rc) return rc;
    }
    return 0;
}

TA_EXPORT const char *ta_check_name(int code) { return ta_check_code_name(code); }

typedef struct walk_ctx { int (*fn)(const ta_block_info *, void *); void *ctx; } walk_ctx;

static int walk_visit(ta_arena *a, ta_block *b, int is_free, int is_rover, void *ctx) {
    walk_ctx *w = ctx;
    ta_block_info info = {b, b->size, is_free, is_rover, a->index, !is_free && ta_block_state(b) == TA_STATE_CACHED};
    return w->fn(&info, w->ctx);
}

TA_EXPORT int ta_heap_walk(int (*fn)(const ta_block_info *b, void *ctx), void *ctx) {
    ta_init();
    walk_ctx w = {fn, ctx};
    for (unsigned i = 0; i < ta_arena_table_count_all(); i++) {
        ta_arena *a = ta_arena_table_get(i);
        int rc = a ? ta_arena_walk(a, walk_visit, &w) : 0;
        if (rc) return rc;
    }
    return 0;
}

TA_EXPORT void ta_get_stats(ta_stats *out) {
    ta_init();
    ta_stats_gather(out);
}

TA_EXPORT size_t ta_get_arena_stats(unsigned index, ta_arena_stats *out) {
    ta_init();
    return ta_stats_gather_arena(index, out);
}

TA_EXPORT void ta_stats_print(FILE *out) {
    ta_init();
    char buf[16384];
    ta_stats_format(buf, sizeof buf, 0);
    fputs(buf, out);
}

TA_EXPORT void ta_collect(void) {
    ta_init();
    ta_cache_collect();
    for (unsigned i = 0; i < ta_arena_table_count(); i++) {
        ta_arena *a = ta_arena_table_get(i);
        if (!a) continue;
        ta_arena_collect(a);
        ta_decay_tick(a, 1);   /* every free page, empty segment and kept large mapping, now */
    }
    /* user heaps: remote frees drained, empty segments unmapped, under the heap's lock only (no
     * decay round, which gives pages back with the lock released: a destroy could run meanwhile) */
    for (unsigned i = ta_arena_table_count(); i < ta_arena_table_count_all(); i++) {
        ta_arena *a = ta_arena_table_get(i);
        if (a) ta_arena_collect(a);
    }
}

TA_EXPORT int ta_background(int on) {
    ta_init();
    return ta_background_set(on);
}

TA_EXPORT int ta_prof_dump(const char *path) {
    ta_init();
    return ta_prof_write(path);
}
