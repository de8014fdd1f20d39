/* purging_test.c - free runs out of the list while decay gives their pages back (PURGING), on a
 * test-only arena: the arena counts them (purging_size, purging_blocks) from take to put back, and
 * ta_arena_recover_purging (what a forked child runs for the runs of a thread of the parent that
 * vanished mid-purge) puts every one back, coalescing with the neighbours freed meanwhile on either
 * side, and leaves an arena that checks clean with exactly the live blocks allocated. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "alloc/arena.h"
#include "alloc/check.h"
#include "alloc/segment.h"
#include "tests/unit/unit_support.h"

static ta_arena test_arena;
static ta_arena *A = &test_arena;

#define NBLK 8
static ta_block *blk[NBLK];   /* blk[1], blk[3], blk[5] free, the rest used; then the tail */
static const size_t sizes[NBLK] = {4096, 9000, 200, 100, 64, 20000, 300, 48};

static ta_block *alloc_blk(size_t n) { return unit_arena_alloc(A, n); }
static void free_blk(ta_block *b) { unit_arena_free(A, b); }

static int setup(void **state) {
    (void)state;
    memset(&test_arena, 0, sizeof test_arena);
    ta_arena_init(A, 1002);
    for (int i = 0; i < NBLK; i++) blk[i] = alloc_blk(sizes[i]);
    free_blk(blk[1]);
    free_blk(blk[3]);
    free_blk(blk[5]);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    for (int i = 0; i < NBLK; i++)
        if (ta_segment_is_free_start(ta_segment_of(blk[i]), blk[i]) == 0 && ta_block_state(blk[i]) == TA_STATE_USED)
            free_blk(blk[i]);
    assert_int_equal(ta_arena_check(A), TA_CHECK_OK);
    assert_int_equal(A->allocated, 0);
    ta_arena_collect(A);
    assert_int_equal(A->nsegments, 0);
    return 0;
}

static void take(ta_block *b) { ta_arena_take_free_locked(A, b); }

static void test_take_and_put_back_count(void **state) {
    (void)state;
    size_t alloc0 = A->allocated, count0 = A->fl.count;
    take(blk[1]);
    take(blk[5]);
    assert_int_equal(A->purging_blocks, 2);
    assert_int_equal(A->purging_size, blk[1]->size + blk[5]->size);
    assert_int_equal(A->allocated, alloc0 + ta_block_usable(blk[1]) + ta_block_usable(blk[5]));
    assert_int_equal(A->fl.count, count0 - 2);
    assert_int_equal(ta_arena_check(A), TA_CHECK_OK);   /* a PURGING run is a valid state */
    ta_arena_put_back_locked(A, blk[1]);
    ta_arena_put_back_locked(A, blk[5]);
    assert_int_equal(A->purging_blocks, 0);
    assert_int_equal(A->purging_size, 0);
    assert_int_equal(A->allocated, alloc0);
    assert_int_equal(A->fl.count, count0);
    assert_int_equal(ta_arena_check(A), TA_CHECK_OK);
}

/* Runs out (blk1, blk5, the tail), then their neighbours freed: blk0 before blk1, blk2 after it
 * (merging with blk3), blk6 after blk5. The recovery puts back all three, each merging both ways. */
static void test_recover_after_vanished_purge(void **state) {
    (void)state;
    ta_block *tail = A->fl.tail;
    assert_non_null(tail);
    take(blk[1]);
    take(blk[5]);
    take(tail);
    free_blk(blk[0]);
    free_blk(blk[2]);
    free_blk(blk[6]);
    assert_int_equal(A->purging_blocks, 3);
    assert_int_equal(ta_arena_check(A), TA_CHECK_OK);
    ta_arena_recover_purging(A);
    assert_int_equal(A->purging_blocks, 0);
    assert_int_equal(A->purging_size, 0);
    assert_int_equal(A->allocated, ta_block_usable(blk[4]) + ta_block_usable(blk[7]));
    assert_int_equal(A->live_blocks, 2);
    /* blk0..blk3 one block, blk5+blk6 one block, the tail */
    assert_int_equal(A->fl.count, 3);
    assert_true(ta_segment_is_free_start(ta_segment_of(blk[0]), blk[0]));
    assert_int_equal(blk[0]->size, (size_t)((char *)blk[4] - (char *)blk[0]));
    assert_true(ta_segment_is_free_start(ta_segment_of(blk[5]), blk[5]));
    assert_int_equal(blk[5]->size, (size_t)((char *)blk[7] - (char *)blk[5]));
    assert_true(ta_segment_is_free_start(ta_segment_of(tail), tail));
    assert_int_equal(ta_arena_check(A), TA_CHECK_OK);
    ta_arena_recover_purging(A);   /* nothing left: a no-op */
    assert_int_equal(A->fl.count, 3);
    assert_int_equal(ta_arena_check(A), TA_CHECK_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_take_and_put_back_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_after_vanished_purge, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
