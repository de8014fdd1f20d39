/* usable_size_test.c - ta_usable_size: at least the size asked for, for arena and large blocks and
 * after realloc and aligned allocation; every usable byte can be written; NULL gives 0. */
#include <stdint.h>

#include "tests/api/api_util.h"
#include "tests/testlib/pattern.h"

/* Writes every usable byte of p (pattern tagged tag); the caller verifies them later. */
static size_t fill_usable(void *p, uint64_t tag) {
    size_t u = ta_usable_size(p);
    pattern_fill(p, u, tag);
    return u;
}

static void test_usable_size_null_is_zero(void **state) {
    assert_int_equal(ta_usable_size(NULL), 0);
}

/* Every size to 512, then a spread up to 8 MiB: usable >= asked, and the whole usable area of
 * every block (all live together) is writable without disturbing another block. */
static void test_usable_size_at_least_requested(void **state) {
    enum { N = 600 };
    static void *p[N];
    static size_t asked[N], usable[N];
    int n = 0;
    for (size_t s = 0; s <= 512; s++) asked[n++] = s;
    for (size_t s = 600; s < ((size_t)8 << 20) && n < N; s = s * 5 / 4 + 13) asked[n++] = s;
    for (int i = 0; i < n; i++) {
        p[i] = ta_malloc(asked[i]);
        assert_non_null(p[i]);
        usable[i] = fill_usable(p[i], (uint64_t)i);
        assert_true(usable[i] >= asked[i]);
    }
    assert_heap_ok();
    for (int i = 0; i < n; i++) {
        assert_int_equal(ta_usable_size(p[i]), usable[i]);   /* stable while the block lives */
        assert_true(pattern_ok(p[i], usable[i], (uint64_t)i));
        ta_free(p[i]);
    }
    assert_heap_ok();
}

/* The usable size follows realloc (up and down, across the mmap threshold) and calloc. */
static void test_usable_size_after_realloc_and_calloc(void **state) {
    static const size_t steps[] = {10, 100, 5000, 131071, 131072, 1 << 20, 70000, 33, 0x100001};
    void *p = NULL;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        p = ta_realloc(p, steps[i]);
        assert_non_null(p);
        assert_true(ta_usable_size(p) >= steps[i]);
        fill_usable(p, 1);
        assert_true(pattern_ok(p, ta_usable_size(p), 1));
    }
    ta_free(p);
    p = ta_calloc(77, 13);
    assert_non_null(p);
    assert_true(ta_usable_size(p) >= 77 * 13);
    ta_free(p);
}

/* Aligned blocks report at least their size too, and every usable byte is theirs. */
static void test_usable_size_aligned(void **state) {
    enum { N = 12 };
    void *p[N];
    for (int i = 0; i < N; i++) {
        size_t align = (size_t)32 << i, n = (size_t)(i * 1000 + 1);
        assert_int_equal(ta_posix_memalign(&p[i], align, n), 0);
        assert_true(ta_usable_size(p[i]) >= n);
        fill_usable(p[i], (uint64_t)i + 100);
    }
    for (int i = 0; i < N; i++) {
        assert_true(pattern_ok(p[i], ta_usable_size(p[i]), (uint64_t)i + 100));
        ta_free(p[i]);
    }
    assert_heap_ok();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usable_size_null_is_zero),
        cmocka_unit_test(test_usable_size_at_least_requested),
        cmocka_unit_test(test_usable_size_after_realloc_and_calloc),
        cmocka_unit_test(test_usable_size_aligned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
