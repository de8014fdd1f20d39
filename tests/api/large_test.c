/* large_test.c - requests at or above the mmap threshold get their own mapping: the large-block
 * statistics and the mapped total rise by the block and fall back on free; the heap walk does not
 * visit them; their contents survive; their usable size covers the request. A freed mapping is kept
 * and reused for the next large request: as it is when it fits, cut down when it is much larger,
 * grown when it is smaller, its pages kept either way. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

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

/* Whether the page holding address a is mapped (mincore fails with ENOMEM on an unmapped range). */
static int page_mapped(const void *a) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char vec;
    void *pg = (void *)((uintptr_t)a & ~(uintptr_t)(page - 1));
    if (mincore(pg, page, &vec) == 0) return 1;
    assert_int_equal(errno, ENOMEM);
    return 0;
}

/* The first page past a large block's usable bytes and its canary. */
static const char *page_after(const void *p) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t end = (uintptr_t)p + ta_usable_size((void *)p) + 8;
    return (const char *)((end + page - 1) & ~(uintptr_t)(page - 1));
}

/* Starts from an empty keep list, with the thread's arena set up (mappings are kept per arena). */
static void keep_list_empty(void) {
    void *warm = ta_malloc(16);
    assert_non_null(warm);
    ta_free(warm);
    ta_collect();
    ta_stats s;
    ta_get_stats(&s);
    assert_int_equal(s.large_cached, 0);
}

/* A kept mapping much larger than the next request is reused at the same place, cut down: the pages
 * past the new block are unmapped and leave the mapped total. */
static void test_kept_larger_mapping_is_cut_down(void **state) {
    keep_list_empty();
    size_t big = threshold() * 8, small = threshold() * 2;
    char *p = ta_malloc(big);
    assert_non_null(p);
    memset(p, 0x5A, big);
    ta_free(p);
    ta_stats s0, s1;
    ta_get_stats(&s0);
    assert_true(s0.large_cached >= big);
    char *q = ta_malloc(small);
    assert_ptr_equal(q, p);   /* the kept mapping, not a fresh one */
    assert_true(all_bytes(q, small, 0x5A));   /* its pages were kept: the old bytes are there */
    assert_false(page_mapped(page_after(q)));
    ta_get_stats(&s1);
    assert_int_equal(s1.large_cached, 0);
    assert_true(s1.mapped <= s0.mapped && s0.mapped - s1.mapped >= big - small - 2 * 4096);
    pattern_fill(q, small, 7);
    assert_true(pattern_ok(q, small, 7));
    ta_free(q);
    assert_heap_ok();
}

/* A kept mapping smaller than the next request is grown (in place or moved with its pages): the
 * old bytes are still at the start of the new block, and the whole block is usable. */
static void test_kept_smaller_mapping_is_grown(void **state) {
    keep_list_empty();
    size_t small = threshold() * 4, big = threshold() * 7;   /* grown less than twofold */
    char *p = ta_malloc(small);
    assert_non_null(p);
    memset(p, 0x3C, small);
    ta_free(p);
    ta_stats s0, s1;
    ta_get_stats(&s0);
    char *q = ta_malloc(big);
    assert_non_null(q);
    assert_true(ta_usable_size(q) >= big);
    assert_true(all_bytes(q, small, 0x3C));   /* the kept pages (moved or not), not fresh zero pages */
    ta_get_stats(&s1);
    assert_int_equal(s1.large_cached, 0);
    assert_true(s1.mapped >= s0.mapped + (big - small));
    pattern_fill(q, big, 12);
    assert_true(pattern_ok(q, big, 12));
    ta_free(q);
    ta_collect();
    assert_heap_ok();
}

/* Of several kept mappings, one that fits as it is wins over one that would be resized. */
static void test_kept_mapping_that_fits_is_preferred(void **state) {
    keep_list_empty();
    size_t t = threshold();
    char *a = ta_malloc(t * 8), *b = ta_malloc(t * 3), *c = ta_malloc(t);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    ta_free(a);
    ta_free(b);
    ta_free(c);
    char *q = ta_malloc(t * 3 - 4096);
    assert_ptr_equal(q, b);
    ta_free(q);
    ta_collect();
    assert_heap_ok();
}

/* An aligned request served from a kept mapping (grown, or as it is) keeps its alignment. */
static void test_kept_mapping_for_aligned_request(void **state) {
    keep_list_empty();
    size_t al = (size_t)8 << 20, t = threshold();
    char *p = ta_aligned_alloc(al, t * 4);
    assert_non_null(p);
    assert_aligned(p, al);
    ta_free(p);
    char *q = ta_aligned_alloc(al, t * 7);   /* the kept mapping, grown */
    assert_non_null(q);
    assert_aligned(q, al);
    assert_true(ta_usable_size(q) >= t * 7);
    pattern_fill(q, t * 7, 3);
    ta_free(q);
    char *r = ta_aligned_alloc(al, t * 2);   /* the same mapping, as it is (under twice the size) */
    assert_non_null(r);
    assert_aligned(r, al);
    pattern_fill(r, t * 2, 4);
    assert_true(pattern_ok(r, t * 2, 4));
    ta_free(r);
    ta_collect();
    assert_heap_ok();
}

/* calloc on a reused mapping, cut down or grown, is zero over the whole block. */
static void test_calloc_on_resized_mapping_is_zero(void **state) {
    keep_list_empty();
    size_t t = threshold();
    unsigned char *p = ta_malloc(t * 8);
    assert_non_null(p);
    memset(p, 0xEE, t * 8);
    ta_free(p);
    unsigned char *q = ta_calloc(1, t * 2);
    assert_non_null(q);
    assert_true(all_zero(q, t * 2));
    memset(q, 0xEE, t * 2);
    ta_free(q);
    unsigned char *r = ta_calloc(1, t * 3);   /* grows the kept mapping (less than twofold) */
    assert_non_null(r);
    assert_true(all_zero(r, t * 3));
    ta_free(r);
    ta_collect();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threshold_boundary),
        cmocka_unit_test(test_large_blocks_hold_contents),
        cmocka_unit_test(test_large_calloc_after_free_is_zero),
        cmocka_unit_test(test_large_and_small_interleaved),
        cmocka_unit_test(test_kept_larger_mapping_is_cut_down),
        cmocka_unit_test(test_kept_smaller_mapping_is_grown),
        cmocka_unit_test(test_kept_mapping_that_fits_is_preferred),
        cmocka_unit_test(test_calloc_on_resized_mapping_is_zero),
        cmocka_unit_test(test_kept_mapping_for_aligned_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
