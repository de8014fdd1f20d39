/* realloc_test.c - ta_realloc and ta_reallocarray: NULL and zero sizes, shrinking and growing in
 * place, moving with contents preserved, failure leaving the block intact, overflow, and moves
 * between arena blocks and direct-mmap large blocks. */
#include <stdint.h>

#include "tests/api/api_util.h"
#include "tests/testlib/heap_shape.h"

#define HDR HEAP_SHAPE_HDR

/* 1 when b's block starts right where a's ends (b is a's physical next neighbour). */
static int adjacent(const void *a, const void *b) {
    return (const char *)b == (const char *)a + ta_usable_size(a) + HDR;
}

static size_t allocated_now(void) {
    ta_stats s;
    ta_get_stats(&s);
    return s.allocated;
}

/* ta_realloc(NULL, n) is ta_malloc(n). */
static void test_realloc_null_is_malloc(void **state) {
    size_t before = allocated_now();
    char *p = ta_realloc(NULL, 100);
    assert_non_null(p);
    assert_aligned(p, 16);
    assert_true(ta_usable_size(p) >= 100);
    assert_int_equal(allocated_now(), before + ta_usable_size(p));
    seq_fill(p, 100, 1);
    void *z = ta_realloc(NULL, 0);   /* malloc(0): a unique pointer */
    assert_non_null(z);
    assert_ptr_not_equal(z, p);
    ta_free(z);
    void *big = ta_realloc(NULL, (size_t)1 << 20);
    assert_non_null(big);
    ta_free(big);
    assert_seq_ok(p, 100, 1);
    ta_free(p);
    assert_int_equal(allocated_now(), before);
}

/* Shrinking keeps the pointer and the surviving bytes, and gives the tail back. */
static void test_shrink_in_place_keeps_pointer(void **state) {
    char *p = ta_malloc(1000);
    assert_non_null(p);
    seq_fill(p, 1000, 2);
    size_t before = allocated_now();
    char *q = ta_realloc(p, 990);   /* a shrink too small to split off a block */
    assert_ptr_equal(q, p);
    assert_seq_ok(q, 990, 2);
    q = ta_realloc(p, 100);
    assert_ptr_equal(q, p);
    assert_true(ta_usable_size(q) >= 100);
    assert_true(ta_usable_size(q) < 1000);
    assert_true(allocated_now() < before);   /* the tail went back to the heap */
    assert_seq_ok(q, 100, 2);
    q = ta_realloc(p, 1);
    assert_ptr_equal(q, p);
    assert_seq_ok(q, 1, 2);
    ta_free(q);
    assert_heap_ok();
}

/* With a, b, c in a row, freeing b lets a grow into b's space: the pointer stays. The blocks are
 * past the small bins (1 KiB), and three allocations of one size are no run that would activate
 * their larger bin (cache.c), so b's free returns it to the arena's free list at once. */
static void test_grow_in_place_into_free_next_neighbour(void **state) {
    char *a = ta_malloc(1200), *b = ta_malloc(1200), *c = ta_malloc(1200);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_true(adjacent(a, b));   /* the arrangement this test needs */
    assert_true(adjacent(b, c));
    seq_fill(a, 1200, 3);
    seq_fill(c, 1200, 4);
    ta_free(b);
    char *q = ta_realloc(a, 1300);   /* takes part of b */
    assert_ptr_equal(q, a);
    assert_true(ta_usable_size(q) >= 1300);
    assert_seq_ok(q, 1200, 3);
    q = ta_realloc(a, (size_t)(c - a) - HDR);
    assert_ptr_equal(q, a);   /* takes the rest of b exactly: a now ends where c begins */
    assert_true(adjacent(a, c));
    assert_seq_ok(q, 1200, 3);
    assert_seq_ok(c, 1200, 4);
    assert_heap_ok();
    ta_free(a);
    ta_free(c);
    assert_heap_ok();
}

/* The last block before the free space that follows it grows in place as well (sizes past the
 * small bins, whose larger bin two allocations do not activate: both come from the arena's free
 * list). */
static void test_grow_in_place_into_free_space_after(void **state) {
    char *a = ta_malloc(1100);
    assert_non_null(a);
    char *probe = ta_malloc(1100);   /* shows that free space follows a */
    assert_non_null(probe);
    int room = adjacent(a, probe);
    ta_free(probe);
    assert_true(room);
    seq_fill(a, 1100, 5);
    char *q = ta_realloc(a, 4000);
    assert_ptr_equal(q, a);
    assert_true(ta_usable_size(q) >= 4000);
    assert_seq_ok(q, 1100, 5);
    ta_free(q);
    assert_heap_ok();
}

/* When the next block is in use, growing moves the block; contents and the neighbour survive. */
static void test_grow_moves_when_next_is_used(void **state) {
    char *a = ta_malloc(200), *b = ta_malloc(200);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(adjacent(a, b));
    seq_fill(a, 200, 6);
    seq_fill(b, 200, 7);
    char *q = ta_realloc(a, 5000);
    assert_non_null(q);
    assert_ptr_not_equal(q, a);
    assert_true(ta_usable_size(q) >= 5000);
    assert_seq_ok(q, 200, 6);
    assert_seq_ok(b, 200, 7);
    assert_int_not_equal(heap_shape_state_of(a), 'A');   /* the old block was freed (F, C or merged) */
    ta_free(q);
    ta_free(b);
    assert_heap_ok();
}

/* A size no mapping can hold: NULL, ENOMEM, and the block is untouched and still usable. */
static void test_realloc_huge_fails_and_keeps_block(void **state) {
    static const size_t sizes[] = {100, 200000};   /* an arena block and a large one */
    for (size_t i = 0; i < 2; i++) {
        char *p = ta_malloc(sizes[i]);
        assert_non_null(p);
        seq_fill(p, sizes[i], 8);
        size_t usable = ta_usable_size(p);
        assert_null_errno(ta_realloc(p, SIZE_MAX), ENOMEM);
        assert_null_errno(ta_realloc(p, SIZE_MAX - 4096), ENOMEM);
        assert_null_errno(ta_realloc(p, SIZE_MAX / 2 + 1), ENOMEM);
        assert_int_equal(ta_usable_size(p), usable);
        assert_seq_ok(p, sizes[i], 8);
        char *q = ta_realloc(p, sizes[i] * 2);   /* still a live block */
        assert_non_null(q);
        assert_seq_ok(q, sizes[i], 8);
        ta_free(q);
    }
    assert_heap_ok();
}

/* ta_realloc(p, 0) frees p and returns NULL (arena and large blocks). */
static void test_realloc_zero_frees(void **state) {
    ta_stats before, after;
    ta_get_stats(&before);
    void *p = ta_malloc(500);
    assert_non_null(p);
    assert_null(ta_realloc(p, 0));
    void *big = ta_malloc((size_t)1 << 20);
    assert_non_null(big);
    assert_null(ta_realloc(big, 0));
    ta_get_stats(&after);
    assert_int_equal(after.allocated, before.allocated);
    assert_int_equal(after.large_allocated, before.large_allocated);
    assert_int_not_equal(heap_shape_state_of(p), 'A');
    assert_heap_ok();
}

/* reallocarray: n*size overflow is NULL + ENOMEM with p intact; otherwise it is realloc. */
static void test_reallocarray(void **state) {
    int *p = ta_reallocarray(NULL, 10, sizeof(int));   /* malloc(40) */
    assert_non_null(p);
    assert_true(ta_usable_size(p) >= 10 * sizeof(int));
    for (int i = 0; i < 10; i++) p[i] = i * 7;
    assert_null_errno(ta_reallocarray(p, SIZE_MAX / 2, 4), ENOMEM);
    assert_null_errno(ta_reallocarray(p, (size_t)1 << 33, (size_t)1 << 33), ENOMEM);
    assert_null_errno(ta_reallocarray(p, 2, SIZE_MAX / 2 + 1), ENOMEM);
    for (int i = 0; i < 10; i++) assert_int_equal(p[i], i * 7);
    int *q = ta_reallocarray(p, 1000, sizeof(int));
    assert_non_null(q);
    assert_true(ta_usable_size(q) >= 1000 * sizeof(int));
    for (int i = 0; i < 10; i++) assert_int_equal(q[i], i * 7);
    ta_free(q);
    assert_heap_ok();
}

/* Small -> large -> larger -> smaller large -> small, contents preserved at every step, and the
 * large-block statistics follow the block. */
static void test_small_large_transitions(void **state) {
    ta_stats s;
    ta_get_stats(&s);
    size_t large0 = s.large_allocated;
    char *p = ta_malloc(1000);
    assert_non_null(p);
    seq_fill(p, 1000, 9);
    const size_t steps[] = {(size_t)1 << 20, (size_t)3 << 20, (size_t)2 << 20, 200000, 5000, 300000, 100};
    size_t have = 1000;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        size_t n = steps[i], keep = have < n ? have : n;
        char *q = ta_realloc(p, n);
        assert_non_null(q);
        assert_aligned(q, 16);
        assert_true(ta_usable_size(q) >= n);
        assert_seq_ok(q, keep, 9);
        seq_fill(q, n, 9);   /* the new size's bytes, for the next step */
        ta_get_stats(&s);
        if (n >= 200000) {
            assert_true(s.large_allocated >= large0 + n);   /* served by its own mapping */
            assert_int_equal(heap_shape_arena_of(q), -1);
        } else {
            assert_int_equal(s.large_allocated, large0);
            assert_true(heap_shape_arena_of(q) >= 0);
        }
        p = q;
        have = n;
    }
    ta_free(p);
    ta_get_stats(&s);
    assert_int_equal(s.large_allocated, large0);
    assert_heap_ok();
}

/* One block grown a little at a time through every size class up to past the mmap threshold and
 * shrunk back: its leading bytes never change. */
static void test_grow_and_shrink_sweep(void **state) {
    char *p = ta_malloc(1);
    assert_non_null(p);
    p[0] = 0x5A;
    size_t n = 1, old = 1;
    for (; n < 300000; old = n, n = n + n / 3 + 7) {
        p = ta_realloc(p, n);
        assert_non_null(p);
        assert_int_equal((unsigned char)p[0], 0x5A);
        assert_true(all_bytes(p + 1, old - 1, 0x33));
        memset(p + 1, 0x33, n - 1);
    }
    for (n = old; n > 1; n /= 2) {
        p = ta_realloc(p, n);
        assert_non_null(p);
        assert_int_equal((unsigned char)p[0], 0x5A);
        if (n > 2) assert_int_equal((unsigned char)p[n - 1], 0x33);
    }
    ta_free(p);
    assert_heap_ok();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_realloc_null_is_malloc),
        cmocka_unit_test(test_shrink_in_place_keeps_pointer),
        cmocka_unit_test(test_grow_in_place_into_free_next_neighbour),
        cmocka_unit_test(test_grow_in_place_into_free_space_after),
        cmocka_unit_test(test_grow_moves_when_next_is_used),
        cmocka_unit_test(test_realloc_huge_fails_and_keeps_block),
        cmocka_unit_test(test_realloc_zero_frees),
        cmocka_unit_test(test_reallocarray),
        cmocka_unit_test(test_small_large_transitions),
        cmocka_unit_test(test_grow_and_shrink_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
