/* malloc_test.c - ta_malloc and ta_free: malloc(0), alignment, contents, huge sizes, free(NULL),
 * and errno across ta_free. */
#include <stdint.h>

#include "tests/api/api_util.h"
#include "tests/testlib/pattern.h"

/* ta_malloc(0) returns distinct, aligned, freeable pointers. */
static void test_malloc_zero_is_unique(void **state) {
    enum { N = 64 };
    void *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = ta_malloc(0);
        assert_non_null(p[i]);
        assert_aligned(p[i], 16);
        for (int j = 0; j < i; j++) assert_ptr_not_equal(p[i], p[j]);
    }
    for (int i = 0; i < N; i++) ta_free(p[i]);
    assert_heap_ok();
}

/* The sizes tested below: every size to 256, every 7th to 1 KiB, then powers of two and their
 * neighbours to 2 MiB (past the mmap threshold). Returns how many were written to out. */
static size_t test_sizes(size_t *out) {
    size_t n = 0;
    for (size_t s = 0; s <= 256; s++) out[n++] = s;
    for (size_t s = 263; s <= 1024; s += 7) out[n++] = s;
    for (size_t s = 2048; s <= ((size_t)2 << 20); s *= 2) {
        out[n++] = s - 17;
        out[n++] = s - 1;
        out[n++] = s;
        out[n++] = s + 1;
        out[n++] = s + 24;
    }
    return n;
}

/* Every block is 16-byte aligned, and all of them, live at once, keep their contents. */
static void test_alignment_and_contents_many_sizes(void **state) {
    static size_t sizes[512];
    static void *p[512];
    size_t n = test_sizes(sizes);
    for (size_t i = 0; i < n; i++) {
        p[i] = ta_malloc(sizes[i]);
        assert_non_null(p[i]);
        assert_aligned(p[i], 16);
        pattern_fill(p[i], sizes[i], i);
    }
    assert_heap_ok();
    for (size_t i = 0; i < n; i++) {
        assert_true(pattern_ok(p[i], sizes[i], i));
        ta_free(p[i]);
    }
    assert_heap_ok();
}

/* Blocks freed in between do not disturb the survivors, and reused blocks hold new contents. */
static void test_contents_survive_interleaved_frees(void **state) {
    enum { N = 120 };
    static void *p[N];
    static size_t len[N];
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < N; i++) {
            if (p[i] && (i + round) % 3 == 0) {
                assert_true(pattern_ok(p[i], len[i], (uint64_t)i));
                ta_free(p[i]);
                p[i] = NULL;
            }
            if (!p[i]) {
                len[i] = (size_t)((i * 37 + round * 101) % 5000);
                p[i] = ta_malloc(len[i]);
                assert_non_null(p[i]);
                pattern_fill(p[i], len[i], (uint64_t)i);
            }
        }
        assert_heap_ok();
    }
    for (int i = 0; i < N; i++) {
        assert_true(pattern_ok(p[i], len[i], (uint64_t)i));
        ta_free(p[i]);
        p[i] = NULL;
    }
    assert_heap_ok();
}

/* Sizes no mapping can hold fail with NULL and ENOMEM, and leave the heap as it was. */
static void test_huge_sizes_fail_with_enomem(void **state) {
    ta_stats before, after;
    ta_get_stats(&before);
    const size_t huge[] = {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 15, SIZE_MAX - 16, SIZE_MAX - 17,
                           SIZE_MAX - 4096, SIZE_MAX - ((size_t)1 << 20), SIZE_MAX / 2 + 1,
                           SIZE_MAX / 2, (size_t)PTRDIFF_MAX + 1};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) assert_null_errno(ta_malloc(huge[i]), ENOMEM);
    ta_get_stats(&after);
    assert_int_equal(after.allocated, before.allocated);
    assert_int_equal(after.large_allocated, before.large_allocated);
    assert_int_equal(after.mapped, before.mapped);
    /* the allocator still works */
    void *p = ta_malloc(100);
    assert_non_null(p);
    ta_free(p);
    assert_heap_ok();
}

/* ta_free(NULL) does nothing: no error, no change to the heap, errno untouched. */
static void test_free_null_is_a_noop(void **state) {
    ta_stats before, after;
    ta_get_stats(&before);
    errno = EDOM;
    ta_free(NULL);
    assert_int_equal(errno, EDOM);
    ta_get_stats(&after);
    assert_int_equal(after.allocated, before.allocated);
    assert_int_equal(after.free, before.free);
    assert_int_equal(after.free_blocks, before.free_blocks);
    assert_int_equal(after.mapped, before.mapped);
    assert_heap_ok();
}

/* ta_free leaves errno alone on every path: a small block, a large block (munmap), and frees that
 * give whole segments back to the OS. */
static void test_free_keeps_errno(void **state) {
    void *small = ta_malloc(100), *large = ta_malloc((size_t)1 << 20);
    assert_non_null(small);
    assert_non_null(large);
    errno = EILSEQ;
    ta_free(small);
    assert_int_equal(errno, EILSEQ);
    ta_free(large);
    assert_int_equal(errno, EILSEQ);

    /* 10 MiB of 100 KiB blocks span three segments; freeing them all empties at least two (the first
     * may hold blocks in the thread cache). Segments go back at decay ticks, which the arena's own
     * operations run: with TAMALLOC_DECAY_MS=0 (BUILD) one is due every few operations and gives
     * back at once, so more frees (of uncached sizes: arena operations) soon unmap an empty segment
     * beyond the retained one, inside a ta_free. */
    enum { N = 100 };
    void *p[N];
    ta_stats grown, after;
    ta_collect();   /* no cached small blocks left in the segments below */
    for (int i = 0; i < N; i++) {
        p[i] = ta_malloc(100 << 10);
        assert_non_null(p[i]);
    }
    ta_get_stats(&grown);
    for (int i = 0; i < N; i++) {
        errno = ERANGE;
        ta_free(p[i]);
        assert_int_equal(errno, ERANGE);
    }
    ta_get_stats(&after);
    for (int k = 0; k < 256 && after.mapped >= grown.mapped; k++) {
        void *q = ta_malloc(5000);
        assert_non_null(q);
        errno = ERANGE;
        ta_free(q);
        assert_int_equal(errno, ERANGE);
        ta_get_stats(&after);
    }
    assert_true(after.mapped < grown.mapped);   /* the munmap path really ran */
    assert_heap_ok();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malloc_zero_is_unique),
        cmocka_unit_test(test_alignment_and_contents_many_sizes),
        cmocka_unit_test(test_contents_survive_interleaved_frees),
        cmocka_unit_test(test_huge_sizes_fail_with_enomem),
        cmocka_unit_test(test_free_null_is_a_noop),
        cmocka_unit_test(test_free_keeps_errno),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
