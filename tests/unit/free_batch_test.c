/* free_batch_test.c - ta_arena_free_batch (a thread cache's flush, the remote frees a refill takes
 * in) on a test-only arena: blocks side by side in the batch, in ascending or descending address
 * order, go back as one block (one release); the absorbed headers are MERGED, as coalescing leaves
 * them; blocks that are not side by side (gaps, other order) go back one by one; in every case the
 * arena's allocated bytes and live blocks fall by exactly what was freed, the free list ends as
 * coalescing alone would leave it, and the arena checks clean. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "alloc/arena.h"
#include "alloc/check.h"
#include "alloc/segment.h"

static ta_arena test_arena;
static ta_arena *A = &test_arena;

#define N 12
#define BSIZE 80   /* a 64-byte request's block */
static ta_block *blk[N];   /* side by side, blk[i + 1] right after blk[i] */
static ta_block *guard;    /* a used block after them, so the run does not join the tail */

static int setup(void **state) {
    (void)state;
    memset(&test_arena, 0, sizeof test_arena);
    ta_arena_init(A, 1003);
    ta_block *first;
    assert_int_equal(ta_arena_alloc_batch(A, BSIZE, N, &first), N);
    for (int i = 0; i < N; i++) {
        blk[i] = (ta_block *)((char *)first + (size_t)i * BSIZE);
        if (i) assert_int_equal(ta_block_state(blk[i]), TA_STATE_CACHED);   /* the batch's others */
    }
    ta_atomic_store_relaxed(&first->a_tag, ta_block_tag(first, first->size, TA_STATE_CACHED));   /* as a bin holds it */
    void *g = ta_arena_alloc(A, BSIZE, TA_ALIGN);
    assert_non_null(g);
    guard = ta_block_of(g);
    assert_ptr_equal(guard, (char *)blk[N - 1] + BSIZE);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    assert_true(ta_block_claim_free(guard, guard->size));
    ta_arena_free_local(A, guard);
    assert_int_equal(ta_arena_check(A), TA_CHECK_OK);
    assert_int_equal(A->allocated, 0);
    assert_int_equal(A->live_blocks, 0);
    ta_arena_collect(A);
    assert_int_equal(A->nsegments, 0);
    return 0;
}

/* Does a listed free block start at b? */
static int is_free_start(ta_block *b) { return ta_segment_is_free_start(ta_segment_of(b), b); }

/* Frees blk[order[0..n)] as one batch; returns how many releases the free list saw. */
static size_t free_in_order(const int *order, size_t n) {
    ta_block *batch[N];
    size_t rel0 = A->fl.releases;
    for (size_t i = 0; i < n; i++) batch[i] = blk[order[i]];
    size_t alloc0 = A->allocated, live0 = A->live_blocks;
    ta_arena_free_batch(A, batch, n);
    assert_int_equal(A->allocated, alloc0 - n * (BSIZE - TA_HDR));
    assert_int_equal(A->live_blocks, live0 - n);
    assert_int_equal(ta_arena_check(A), TA_CHECK_OK);
    return A->fl.releases - rel0;
}

static void test_descending_run_is_one_block(void **state) {
    (void)state;
    int order[N];
    for (int i = 0; i < N; i++) order[i] = N - 1 - i;   /* a bin's order after in-order frees */
    size_t count0 = A->fl.count;
    assert_int_equal(free_in_order(order, N), 1);
    assert_true(is_free_start(blk[0]));
    assert_int_equal(blk[0]->size, (size_t)N * BSIZE);
    for (int i = 1; i < N; i++) assert_int_equal(ta_block_state(blk[i]), TA_STATE_MERGED);
    assert_int_equal(A->fl.count, count0 + 1);
}

static void test_ascending_run_is_one_block(void **state) {
    (void)state;
    int order[N];
    for (int i = 0; i < N; i++) order[i] = i;
    assert_int_equal(free_in_order(order, N), 1);
    assert_true(is_free_start(blk[0]));
    assert_int_equal(blk[0]->size, (size_t)N * BSIZE);
    for (int i = 1; i < N; i++) assert_int_equal(ta_block_state(blk[i]), TA_STATE_MERGED);
}

/* Two runs with a live block between them (blk[5]), then that block: the list ends as one block. */
static void test_runs_around_a_gap(void **state) {
    (void)state;
    const int first[] = {4, 3, 2, 1, 0, 6, 7, 8, 9, 10, 11};   /* down to 0, then up from 6 */
    assert_int_equal(free_in_order(first, sizeof first / sizeof first[0]), 2);
    assert_true(is_free_start(blk[0]));
    assert_int_equal(blk[0]->size, (size_t)5 * BSIZE);
    assert_true(is_free_start(blk[6]));
    assert_int_equal(blk[6]->size, (size_t)6 * BSIZE);
    assert_int_equal(ta_block_state(blk[5]), TA_STATE_CACHED);   /* untouched */
    const int last[] = {5};
    assert_int_equal(free_in_order(last, 1), 1);
    assert_true(is_free_start(blk[0]));
    assert_int_equal(blk[0]->size, (size_t)N * BSIZE);
}

/* Not side by side in the batch's order: every block on its own, coalescing still joins them. */
static void test_scattered_order(void **state) {
    (void)state;
    const int order[] = {0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11};
    assert_int_equal(free_in_order(order, N), N);
    assert_true(is_free_start(blk[0]));
    assert_int_equal(blk[0]->size, (size_t)N * BSIZE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_descending_run_is_one_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ascending_run_is_one_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runs_around_a_gap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scattered_order, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
