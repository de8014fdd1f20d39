/* check_test.c - ta_arena_check on a test-only arena (never the live default arenas): a clean
 * arena checks 0; each corrupted invariant is reported with exactly its code; restoring the
 * corruption brings the check back to 0. Also the names of all check codes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "alloc/arena.h"
#include "alloc/check.h"
#include "alloc/decay.h"
#include "alloc/init.h"
#include "alloc/segment.h"
#include "tests/unit/unit_support.h"
#include "alloc/segmap.h"

static ta_arena test_arena;
static ta_arena *A = &test_arena;

#define NBLK 8
static ta_block *blk[NBLK];   /* blk[1], blk[3], blk[5] are free, the rest used; then the tail */
static const size_t sizes[NBLK] = {40, 100, 16, 200, 64, 300, 1000, 48};

static ta_block *alloc_blk(size_t n) { return unit_arena_alloc(A, n); }
static void free_blk(ta_block *b) { unit_arena_free(A, b); }

static int setup(void **state) {
    (void)state;
    memset(&test_arena, 0, sizeof test_arena);
    ta_arena_init(A, 1000);
    for (int i = 0; i < NBLK; i++) blk[i] = alloc_blk(sizes[i]);
    free_blk(blk[1]);
    free_blk(blk[3]);
    free_blk(blk[5]);
    return 0;
}

/* Frees what is left; the arena must check clean and give its segments back. */
static int teardown(void **state) {
    (void)state;
    assert_int_equal(ta_arena_check(A), TA_CHECK_OK);
    for (int i = 0; i < NBLK; i++)
        if (blk[i] && ta_block_state(blk[i]) == TA_STATE_USED) free_blk(blk[i]);
    assert_int_equal(ta_arena_check(A), TA_CHECK_OK);
    assert_int_equal(A->allocated, 0);
    assert_int_equal(A->live_blocks, 0);
    ta_arena_collect(A);
    assert_int_equal(A->nsegments, 0);
    assert_null(A->segments);
    assert_int_equal(ta_arena_check(A), TA_CHECK_OK);
    return 0;
}

static uintptr_t *slots(ta_block *b) { return (uintptr_t *)ta_block_user(b); }
static ta_block *tail(void) { return A->fl.tail; }

/* Corrupts with `break_it`, expects `code`, restores with `fix_it`, expects 0. */
#define EXPECT_CHECK(code, break_it, fix_it)                                           \
    do {                                                                               \
        assert_int_equal(ta_arena_check(A), TA_CHECK_OK);                              \
        break_it;                                                                      \
        int rc_ = ta_arena_check(A);                                                   \
        if (rc_ != (code))                                                             \
            fail_msg("expected %s, got %d (%s)", #code, rc_, ta_check_code_name(rc_)); \
        fix_it;                                                                        \
        assert_int_equal(ta_arena_check(A), TA_CHECK_OK);                              \
    } while (0)

static void test_clean_arena_checks_ok(void **state) {
    (void)state;
    assert_int_equal(ta_arena_check(A), TA_CHECK_OK);
    assert_int_equal(A->fl.count, 4);   /* three holes and the tail */
    assert_int_equal(A->nsegments, 1);
    /* A fresh, empty arena checks too. */
    static ta_arena empty;
    ta_arena_init(&empty, 1001);
    assert_int_equal(ta_arena_check(&empty), TA_CHECK_OK);
}

static void test_header(void **state) {
    (void)state;
    ta_block *b = blk[2];
    uint64_t tag = ta_atomic_load_relaxed(&b->a_tag);
    EXPECT_CHECK(TA_CHECK_HEADER, ta_atomic_store_relaxed(&b->a_tag, tag ^ ((uint64_t)1 << 40)),
                 ta_atomic_store_relaxed(&b->a_tag, tag));
    /* A verifying tag with a state that cannot be in a segment. */
    EXPECT_CHECK(TA_CHECK_HEADER, ta_block_set(b, b->size, TA_STATE_LARGE), ta_block_set(b, b->size, TA_STATE_USED));
    EXPECT_CHECK(TA_CHECK_HEADER, ta_block_set(b, b->size, TA_STATE_MERGED), ta_block_set(b, b->size, TA_STATE_USED));
    /* A size that still tiles but does not match the tag. */
    size_t size = b->size;
    EXPECT_CHECK(TA_CHECK_HEADER, b->size = size + 16, b->size = size);
}

static void test_tiling(void **state) {
    (void)state;
    ta_block *b = blk[4];
    size_t size = b->size;
    EXPECT_CHECK(TA_CHECK_TILING, b->size = 16, b->size = size);            /* below the minimum */
    EXPECT_CHECK(TA_CHECK_TILING, b->size = size + 8, b->size = size);      /* not a multiple of 16 */
    EXPECT_CHECK(TA_CHECK_TILING, b->size = 0, b->size = size);
    ta_block *t = tail();
    size_t tsize = t->size;
    EXPECT_CHECK(TA_CHECK_TILING, t->size = tsize + 16, t->size = tsize);   /* past the segment end */
}

static void test_adjacent_free(void **state) {
    (void)state;
    ta_block *b = blk[2];   /* between the free blocks blk[1] and blk[3] */
    ta_segment *s = ta_segment_of(b);
    EXPECT_CHECK(TA_CHECK_ADJACENT_FREE,
                 (ta_block_set(b, b->size, TA_STATE_FREE), ta_bitmap_set(&s->free_starts, ta_segment_granule(b))),
                 (ta_block_set(b, b->size, TA_STATE_USED), ta_bitmap_clear(&s->free_starts, ta_segment_granule(b))));
}

static void test_bitmap(void **state) {
    (void)state;
    ta_segment *s = ta_segment_of(blk[0]);
    uint32_t g_used = ta_segment_granule(blk[2]);
    uint32_t g_free = ta_segment_granule(blk[3]);
    uint32_t g_inside = ta_segment_granule(blk[6]) + 5;   /* not a block start at all */
    EXPECT_CHECK(TA_CHECK_BITMAP, ta_bitmap_set(&s->free_starts, g_used), ta_bitmap_clear(&s->free_starts, g_used));
    EXPECT_CHECK(TA_CHECK_BITMAP, ta_bitmap_clear(&s->free_starts, g_free), ta_bitmap_set(&s->free_starts, g_free));
    EXPECT_CHECK(TA_CHECK_BITMAP, ta_bitmap_set(&s->free_starts, g_inside), ta_bitmap_clear(&s->free_starts, g_inside));
}

static void test_list_order(void **state) {
    (void)state;
    uintptr_t *s1 = slots(blk[1]);
    uintptr_t next = s1[0];
    /* blk[1] -> blk[5], skipping blk[3]. */
    EXPECT_CHECK(TA_CHECK_LIST_ORDER, s1[0] = ta_link_encode(&s1[0], blk[5]), s1[0] = next);
    /* The list ends early. */
    EXPECT_CHECK(TA_CHECK_LIST_ORDER, s1[0] = ta_link_encode(&s1[0], NULL), s1[0] = next);
    /* The tail's next points somewhere. */
    uintptr_t *st = slots(tail());
    uintptr_t tnext = st[0];
    EXPECT_CHECK(TA_CHECK_LIST_ORDER, st[0] = ta_link_encode(&st[0], blk[1]), st[0] = tnext);
    /* The head is not the lowest free block. */
    EXPECT_CHECK(TA_CHECK_LIST_ORDER, A->fl.head = blk[3], A->fl.head = blk[1]);
}

static void test_list_link(void **state) {
    (void)state;
    uintptr_t *s3 = slots(blk[3]);
    uintptr_t prev = s3[1];
    EXPECT_CHECK(TA_CHECK_LIST_LINK, s3[1] = ta_link_encode(&s3[1], NULL), s3[1] = prev);
    EXPECT_CHECK(TA_CHECK_LIST_LINK, s3[1] = ta_link_encode(&s3[1], blk[5]), s3[1] = prev);
    EXPECT_CHECK(TA_CHECK_LIST_LINK, s3[1] = 0x4141414141414141ULL, s3[1] = prev);
    ta_block *t = A->fl.tail;
    EXPECT_CHECK(TA_CHECK_LIST_LINK, A->fl.tail = blk[5], A->fl.tail = t);
}

static void test_list_totals(void **state) {
    (void)state;
    EXPECT_CHECK(TA_CHECK_LIST_TOTALS, A->fl.count++, A->fl.count--);
    EXPECT_CHECK(TA_CHECK_LIST_TOTALS, A->fl.count--, A->fl.count++);
    EXPECT_CHECK(TA_CHECK_LIST_TOTALS, A->fl.bytes += 16, A->fl.bytes -= 16);
}

static void test_rover(void **state) {
    (void)state;
    ta_block *r = A->fl.rover;
    EXPECT_CHECK(TA_CHECK_ROVER, A->fl.rover = blk[2], A->fl.rover = r);    /* a used block */
    EXPECT_CHECK(TA_CHECK_ROVER, A->fl.rover = NULL, A->fl.rover = r);      /* none, list not empty */
    EXPECT_CHECK(TA_CHECK_ROVER, A->fl.rover = (ta_block *)((char *)blk[3] + 16), A->fl.rover = r);
    /* Every listed block is a valid rover. */
    ta_block *listed[] = {blk[1], blk[3], blk[5], tail()};
    for (unsigned i = 0; i < 4; i++) {
        A->fl.rover = listed[i];
        assert_int_equal(ta_arena_check(A), TA_CHECK_OK);
    }
    A->fl.rover = r;
}

static void test_counters(void **state) {
    (void)state;
    EXPECT_CHECK(TA_CHECK_COUNTERS, A->allocated += 16, A->allocated -= 16);
    EXPECT_CHECK(TA_CHECK_COUNTERS, A->allocated -= 16, A->allocated += 16);
    EXPECT_CHECK(TA_CHECK_COUNTERS, A->live_blocks++, A->live_blocks--);
    EXPECT_CHECK(TA_CHECK_COUNTERS, A->empty_segments++, A->empty_segments--);
}

static void test_segment_list(void **state) {
    (void)state;
    ta_segment *s = A->segments;
    EXPECT_CHECK(TA_CHECK_SEGMENT_LIST, A->nsegments++, A->nsegments--);
    EXPECT_CHECK(TA_CHECK_SEGMENT_LIST, s->arena = NULL, s->arena = A);
    EXPECT_CHECK(TA_CHECK_SEGMENT_LIST, s->span.kind = TA_SPAN_LARGE, s->span.kind = TA_SPAN_SEGMENT);
    EXPECT_CHECK(TA_CHECK_SEGMENT_LIST, s->prev = s, s->prev = NULL);
    EXPECT_CHECK(TA_CHECK_SEGMENT_LIST, s->end -= 16, s->end += 16);
    EXPECT_CHECK(TA_CHECK_SEGMENT_LIST, ta_segmap_unregister(s, TA_SEGMENT_SIZE),
                 assert_int_equal(ta_segmap_register(s, TA_SEGMENT_SIZE, &s->span), 0));
}

/* With two segments: out of address order. The walk reports the first broken invariant it meets,
 * so the segment that will be put first is filled (no free blocks) to keep the free list's own
 * order from being reported before the segment order. */
static void test_segment_order(void **state) {
    (void)state;
    ta_block *big[64], *fill[64];
    int n = 0, nfill = 0;
    while (A->nsegments < 2) {   /* blocks below the mmap threshold until a second segment */
        assert_true(n < 64);
        big[n++] = alloc_blk(100000);
    }
    assert_int_equal(ta_arena_check(A), TA_CHECK_OK);
    ta_segment *lo = A->segments, *hi = lo->next;
    assert_non_null(hi);
    assert_true(lo < hi);
    for (int64_t g; (g = ta_bitmap_last(&hi->free_starts)) >= 0;) {
        ta_block *f = ta_segment_block_at(hi, g);
        A->fl.rover = f;
        void *u = ta_arena_alloc(A, f->size, TA_ALIGN);
        assert_ptr_equal(u, ta_block_user(f));
        assert_true(nfill < 64);
        fill[nfill++] = f;
    }
    assert_int_equal(ta_arena_check(A), TA_CHECK_OK);
    EXPECT_CHECK(TA_CHECK_SEGMENT_LIST,
                 (A->segments = hi, hi->prev = NULL, hi->next = lo, lo->prev = hi, lo->next = NULL),
                 (A->segments = lo, lo->prev = NULL, lo->next = hi, hi->prev = lo, hi->next = NULL));
    EXPECT_CHECK(TA_CHECK_SEGMENT_LIST, lo->next = NULL, lo->next = hi);   /* a segment goes missing */
    for (int i = 0; i < nfill; i++) free_blk(fill[i]);
    for (int i = 0; i < n; i++) free_blk(big[i]);
}

/* A claimed (QUEUED) block, as a remote free leaves it until the owner drains it, still counts
 * as allocated and live; once released it no longer does. */
static void test_queued_blocks(void **state) {
    (void)state;
    ta_block *b = blk[6];
    size_t usable = ta_block_usable(b);
    assert_true(ta_block_claim_free(b, b->size));
    assert_int_equal(ta_arena_check(A), TA_CHECK_OK);
    EXPECT_CHECK(TA_CHECK_COUNTERS, (A->allocated -= usable, A->live_blocks--), (A->allocated += usable, A->live_blocks++));
    ta_arena_free_local(A, b);
    assert_int_equal(ta_arena_check(A), TA_CHECK_OK);
    EXPECT_CHECK(TA_CHECK_COUNTERS, (A->allocated += usable, A->live_blocks++), (A->allocated -= usable, A->live_blocks--));
}

/* Pages given back: a decay pass (collect mode) purges the free tail's pages, the arena still
 * checks clean, and carving from the tail forgets the pages it writes; a purged bit under a block in
 * use, or a purged total that disagrees with the bitmaps, is reported. */
static void test_purged_pages(void **state) {
    (void)state;
    ta_decay_tick(A, 1);
    assert_true(A->fl.purged >= TA_PAGE * 512);   /* most of the segment's free tail */
    assert_int_equal(ta_arena_check(A), TA_CHECK_OK);
    size_t purged = A->fl.purged;
    ta_block *big = alloc_blk(3 * TA_PAGE);       /* from the tail: writes over purged pages */
    assert_true(A->fl.purged < purged);
    assert_int_equal(ta_arena_check(A), TA_CHECK_OK);
    ta_segment *s = ta_segment_of(blk[0]);
    uint32_t pg = ta_segment_page(big) + 1;      /* a page under the block in use */
    EXPECT_CHECK(TA_CHECK_PURGED, (s->purged[pg >> 6] |= (uint64_t)1 << (pg & 63), A->fl.purged += TA_PAGE),
                 (s->purged[pg >> 6] &= ~((uint64_t)1 << (pg & 63)), A->fl.purged -= TA_PAGE));
    EXPECT_CHECK(TA_CHECK_PURGED, A->fl.purged += TA_PAGE, A->fl.purged -= TA_PAGE);
    free_blk(big);
    assert_int_equal(ta_arena_check(A), TA_CHECK_OK);
}

/* The fit index: a leaf that is not the largest free block starting in its bitmap word (too large
 * or too small), an inner node that is not the larger of its children, and the segment treap's
 * summary, priority, links and membership are each reported as TA_CHECK_INDEX. */
static void test_index(void **state) {
    (void)state;
    ta_segment *s = ta_segment_of(blk[3]);
    uint32_t leaf = TA_FIT_LEAVES + (ta_segment_granule(blk[3]) >> 6);
    assert_int_equal(s->fit.node[leaf] >= blk[3]->size / TA_ALIGN, 1);
    EXPECT_CHECK(TA_CHECK_INDEX, s->fit.node[leaf]++, s->fit.node[leaf]--);
    EXPECT_CHECK(TA_CHECK_INDEX, s->fit.node[leaf]--, s->fit.node[leaf]++);
    uint32_t empty_leaf = TA_FIT_LEAVES + TA_FIT_LEAVES - 1;   /* no free block starts in the last KiB */
    assert_int_equal(s->fit.node[empty_leaf], 0);
    EXPECT_CHECK(TA_CHECK_INDEX, s->fit.node[empty_leaf] = 7, s->fit.node[empty_leaf] = 0);
    EXPECT_CHECK(TA_CHECK_INDEX, s->fit.node[1]++, s->fit.node[1]--);
    EXPECT_CHECK(TA_CHECK_INDEX, s->fit.node[leaf / 2]++, s->fit.node[leaf / 2]--);
    EXPECT_CHECK(TA_CHECK_INDEX, s->ix_sub--, s->ix_sub++);
    EXPECT_CHECK(TA_CHECK_INDEX, s->ix_prio ^= 1, s->ix_prio ^= 1);
    EXPECT_CHECK(TA_CHECK_INDEX, s->ix_left = s, s->ix_left = NULL);        /* a cycle */
    EXPECT_CHECK(TA_CHECK_INDEX, s->ix_parent = s, s->ix_parent = NULL);
    EXPECT_CHECK(TA_CHECK_INDEX, A->fl.index.root = NULL, A->fl.index.root = s);   /* a segment missing */
}

/* With two segments the treap has a link to check: swapped children, a wrong parent and a
 * summary that misses the child's largest block are reported. */
static void test_index_two_segments(void **state) {
    (void)state;
    ta_block *big[64];
    int n = 0;
    while (A->nsegments < 2) {
        assert_true(n < 64);
        big[n++] = alloc_blk(100000);
    }
    assert_int_equal(ta_arena_check(A), TA_CHECK_OK);
    ta_segment *root = A->fl.index.root, *child = root->ix_left ? root->ix_left : root->ix_right;
    assert_non_null(child);
    assert_ptr_equal(child->ix_parent, root);
    assert_true(root->ix_prio >= child->ix_prio);
    ta_segment **link = root->ix_left ? &root->ix_left : &root->ix_right, **other = root->ix_left ? &root->ix_right : &root->ix_left;
    EXPECT_CHECK(TA_CHECK_INDEX, (*other = child, *link = NULL), (*link = child, *other = NULL));   /* wrong side */
    EXPECT_CHECK(TA_CHECK_INDEX, child->ix_parent = NULL, child->ix_parent = root);
    uint32_t sub = root->ix_sub;
    EXPECT_CHECK(TA_CHECK_INDEX, root->ix_sub = root->fit.node[1] - 1, root->ix_sub = sub);
    for (int i = 0; i < n; i++) free_blk(big[i]);
}

static void test_code_names(void **state) {
    (void)state;
    assert_string_equal(ta_check_code_name(TA_CHECK_OK), "ok");
    for (int c = 1; c < TA_CHECK_CODE_COUNT_; c++) {
        const char *name = ta_check_code_name(c);
        assert_non_null(name);
        assert_true(strlen(name) > 5);
        assert_string_not_equal(name, "unknown check code");
        for (int d = 0; d < c; d++) assert_string_not_equal(name, ta_check_code_name(d));
    }
    assert_string_equal(ta_check_code_name(-1), "unknown check code");
    assert_string_equal(ta_check_code_name(TA_CHECK_CODE_COUNT_), "unknown check code");
    assert_non_null(strstr(ta_check_code_name(TA_CHECK_ROVER), "rover"));
    assert_non_null(strstr(ta_check_code_name(TA_CHECK_BITMAP), "bitmap"));
}

int main(void) {
    ta_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_clean_arena_checks_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_two_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tiling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adjacent_free, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bitmap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_totals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queued_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purged_pages, setup, teardown),
        cmocka_unit_test(test_code_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
