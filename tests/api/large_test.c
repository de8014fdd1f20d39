/* large_test.c - requests at or above the mmap threshold get their own mapping: the large-block
 * statistics and the mapped total rise by the block and fall back on free; the heap walk does not
 * visit them; their contents survive; their usable size covers the request. */
#include <stdint.h>
#include <stdlib.h>

#include "tests/api/api_util.h"
#include "tests/testlib/heap_shape.h"
#include "tests/testlib/pattern.h"

/* The threshold in force: TAMALLOC_MMAP_THRESHOLD (bytes, K or M suffix) or the 128 KiB default. */
static size_t threshold(void) {
    const char *v = getenv("TAMALLOC_MMAP_THRESHOLD");
    if (!v) return (size_t)128 << 10;
    char *end;
    size_t n = strtoull(v, &end, 10);
    if (*end == 'k' || *end == 'K') n <<= 10;
    if (*end == 'm' || *end == 'M') n <<= 20;
    return n;
}

/* One byte below the threshold stays in an arena; the threshold itself gets a mapping that the
 * statistics count and the free gives back. */
static void test_threshold_boundary(void **state) {
    size_t t = threshold();
    ta_stats s0, s1, s2;
    ta_get_stats(&s0);
    void *small = ta_malloc(t - 1);
    assert_non_null(small);
    assert_true(heap_shape_arena_of(small) >= 0);   /* an arena block */
    ta_get_stats(&s1);
    assert_int_equal(s1.large_allocated, s0.large_allocated);
    ta_free(small);

    ta_get_stats(&s0);
    void *big = ta_malloc(t);
    assert_non_null(big);
    assert_aligned(big, 16);
    assert_int_equal(heap_shape_arena_of(big), -1);   /* not in any arena */
    ta_get_stats(&s1);
    size_t u = ta_usable_size(big);
    assert_true(u >= t);
    assert_int_equal(s1.large_allocated, s0.large_allocated + u);
    assert_int_equal(s1.allocated, s0.allocated + u);
    assert_true(s1.mapped >= s0.mapped + t);
    assert_int_equal(s1.free, s0.free);   /* no arena block was touched */
    assert_int_equal(s1.free_blocks, s0.free_blocks);
    ta_free(big);
    ta_get_stats(&s2);
    assert_int_equal(s2.large_allocated, s0.large_allocated);
    assert_int_equal(s2.allocated, s0.allocated);
    /* the freed mapping is kept for reuse (until the decay time, or ta_collect) */
    assert_int_equal(s2.mapped - s2.large_cached, s0.mapped - s0.large_cached);
    assert_heap_ok();
}

/* Blocks from 128 KiB to 8 MiB (powers of two and odd sizes), all live together: each is its own
 * mapping, holds its contents, and everything returns on free. */
static void test_large_blocks_hold_contents(void **state) {
    enum { N = 24 };
    static void *p[N];
    static size_t len[N];
    int n = 0;
    for (size_t s = (size_t)128 << 10; s <= ((size_t)8 << 20); s *= 2) {
        len[n++] = s;
        len[n++] = s + 1;
        len[n++] = s + 4095;
    }
    ta_stats s0, s1, s2;
    ta_get_stats(&s0);
    size_t sum = 0;
    for (int i = 0; i < n; i++) {
        p[i] = ta_malloc(len[i]);
        assert_non_null(p[i]);
        assert_aligned(p[i], 16);
        assert_true(ta_usable_size(p[i]) >= len[i]);
        assert_int_equal(heap_shape_arena_of(p[i]), -1);
        pattern_fill(p[i], len[i], (uint64_t)i);
        sum += ta_usable_size(p[i]);
    }
    ta_get_stats(&s1);
    assert_int_equal(s1.large_allocated, s0.large_allocated + sum);
    /* mappings kept from earlier frees count in mapped already: they may be reused here */
    assert_true(s1.mapped - s1.large_cached >= s0.mapped - s0.large_cached + sum);
    for (int i = 0; i < n; i++) {   /* verify all first: no block overlaps another */
        assert_true(pattern_ok(p[i], len[i], (uint64_t)i));
    }
    for (int i = n - 1; i >= 0; i -= 2) ta_free(p[i]);
    for (int i = n - 2; i >= 0; i -= 2) {
        assert_true(pattern_ok(p[i], len[i], (uint64_t)i));
        ta_free(p[i]);
    }
    ta_get_stats(&s2);
    assert_int_equal(s2.large_allocated, s0.large_allocated);
    assert_int_equal(s2.mapped - s2.large_cached, s0.mapped - s0.large_cached);
    ta_collect();   /* the kept mappings go back too */
    ta_get_stats(&s2);
    assert_int_equal(s2.large_cached, 0);
    assert_true(s2.mapped <= s0.mapped);
    assert_heap_ok();
}

/* A fresh large block from calloc is zero, even right after a dirtied large block was freed. */
static void test_large_calloc_after_free_is_zero(void **state) {
    size_t n = (size_t)1 << 20;
    unsigned char *p = ta_malloc(n);
    assert_non_null(p);
    memset(p, 0xEE, n);
    ta_free(p);
    unsigned char *q = ta_calloc(1, n);
    assert_non_null(q);
    assert_true(all_zero(q, n));
    ta_free(q);
}

/* Large blocks freed in between many arena allocations leave the arenas' accounting exact. */
static void test_large_and_small_interleaved(void **state) {
    enum { N = 40 };
    void *small[N], *big[N];
    ta_stats s0, s1;
    ta_get_stats(&s0);
    for (int i = 0; i < N; i++) {
        small[i] = ta_malloc((size_t)(i * 100 + 1));
        big[i] = ta_malloc(threshold() + (size_t)i * 4096);
        assert_non_null(small[i]);
        assert_non_null(big[i]);
        pattern_fill(big[i], threshold(), (uint64_t)i);
    }
    for (int i = 0; i < N; i++) {
        assert_true(pattern_ok(big[i], threshold(), (uint64_t)i));
        ta_free(big[i]);
        ta_free(small[i]);
    }
    ta_get_stats(&s1);
    assert_int_equal(s1.allocated, s0.allocated);
    assert_int_equal(s1.large_allocated, s0.large_allocated);
    assert_heap_ok();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threshold_boundary),
        cmocka_unit_test(test_large_blocks_hold_contents),
        cmocka_unit_test(test_large_calloc_after_free_is_zero),
        cmocka_unit_test(test_large_and_small_interleaved),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
