/* aligned_test.c - ta_posix_memalign, ta_aligned_alloc, ta_memalign: the alignment rules and their
 * errors, every power-of-two alignment from 8 bytes to 1 MiB, huge alignments, and a clean heap
 * after freeing everything. */
#include <stdint.h>

#include "tests/api/api_util.h"
#include "tests/testlib/pattern.h"

/* Alignments that are not a power of two, or (for posix_memalign) not a multiple of
 * sizeof(void *), give EINVAL; *out and errno are left alone. */
static void test_posix_memalign_einval(void **state) {
    static const size_t bad[] = {0, 1, 2, 3, 4, 12, 24, 48, 100, 4097, SIZE_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (bad[i] == sizeof(void *)) continue;
        void *out = (void *)&out;
        errno = EDOM;
        assert_int_equal(ta_posix_memalign(&out, bad[i], 64), EINVAL);
        assert_ptr_equal(out, (void *)&out);
        assert_int_equal(errno, EDOM);   /* POSIX: the error is the return value only */
    }
}

/* posix_memalign succeeds for every power of two from sizeof(void *) to 1 MiB, with several sizes;
 * every byte is writable and all the blocks keep their contents while live together. */
static void test_posix_memalign_every_power_of_two(void **state) {
    enum { MAXP = 40, SIZES = 4 };
    static void *p[MAXP][SIZES];
    static size_t len[MAXP][SIZES];
    ta_stats before, after;
    ta_get_stats(&before);
    int k = 0;
    for (size_t align = sizeof(void *); align <= ((size_t)1 << 20); align *= 2, k++) {
        const size_t sizes[SIZES] = {1, align, 100, 3 * align + 5};
        for (int j = 0; j < SIZES; j++) {
            void *out = NULL;
            errno = EDOM;
            assert_int_equal(ta_posix_memalign(&out, align, sizes[j]), 0);
            assert_int_equal(errno, EDOM);
            assert_non_null(out);
            assert_aligned(out, align);
            assert_aligned(out, 16);
            assert_true(ta_usable_size(out) >= sizes[j]);
            pattern_fill(out, sizes[j], (uint64_t)(k * SIZES + j));
            p[k][j] = out;
            len[k][j] = sizes[j];
        }
    }
    assert_heap_ok();
    for (int i = 0; i < k; i++)
        for (int j = 0; j < SIZES; j++) {
            assert_true(pattern_ok(p[i][j], len[i][j], (uint64_t)(i * SIZES + j)));
            ta_free(p[i][j]);
        }
    assert_heap_ok();
    ta_get_stats(&after);
    assert_int_equal(after.allocated, before.allocated);
    assert_int_equal(after.large_allocated, before.large_allocated);
}

/* aligned_alloc: a non-power-of-two alignment is NULL with EINVAL; powers of two are honoured. */
static void test_aligned_alloc(void **state) {
    static const size_t bad[] = {0, 3, 6, 24, 48, 100, 3000, SIZE_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_null_errno(ta_aligned_alloc(bad[i], 64), EINVAL);
    for (size_t align = 1; align <= ((size_t)1 << 16); align *= 2) {
        size_t n = align * 3;
        char *p = ta_aligned_alloc(align, n);
        assert_non_null(p);
        assert_aligned(p, align);
        assert_aligned(p, 16);
        memset(p, 0x7E, n);
        assert_true(ta_usable_size(p) >= n);
        ta_free(p);
    }
    assert_heap_ok();
}

/* memalign rounds an alignment that is not a power of two up to the next one (glibc), treats
 * 0 and 1 as the default, and still aligns powers of two exactly. */
static void test_memalign_rounds_up(void **state) {
    static const struct { size_t asked, honoured; } cases[] = {
        {0, 16}, {1, 16}, {3, 16}, {17, 32}, {24, 32}, {33, 64}, {48, 64}, {100, 128},
        {129, 256}, {1000, 1024}, {3000, 4096}, {4096, 4096}, {5000, 8192}, {40000, 65536},
        {300000, 524288},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *p = ta_memalign(cases[i].asked, 200);
        assert_non_null(p);
        assert_aligned(p, cases[i].honoured);
        memset(p, 0x11, 200);
        ta_free(p);
    }
    assert_heap_ok();
}

/* Alignments far beyond a segment work; ones no address space can honour fail cleanly. */
static void test_huge_alignment(void **state) {
    static const size_t aligns[] = {(size_t)4 << 20, (size_t)16 << 20, (size_t)64 << 20};
    for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        void *out = NULL;
        assert_int_equal(ta_posix_memalign(&out, aligns[i], 1000), 0);
        assert_aligned(out, aligns[i]);
        memset(out, 0x22, 1000);
        char *q = ta_aligned_alloc(aligns[i], 5000);
        assert_non_null(q);
        assert_aligned(q, aligns[i]);
        memset(q, 0x33, 5000);
        assert_true(all_bytes(out, 1000, 0x22));
        ta_free(q);
        ta_free(out);
    }
    void *out = (void *)&out;
    assert_int_equal(ta_posix_memalign(&out, SIZE_MAX / 2 + 1, 1), ENOMEM);
    assert_ptr_equal(out, (void *)&out);
    assert_int_equal(ta_posix_memalign(&out, (size_t)1 << 62, 1), ENOMEM);
    assert_int_equal(ta_posix_memalign(&out, 64, SIZE_MAX - 100), ENOMEM);
    assert_ptr_equal(out, (void *)&out);
    assert_null_errno(ta_aligned_alloc(SIZE_MAX / 2 + 1, 1), ENOMEM);
    assert_null_errno(ta_aligned_alloc(4096, SIZE_MAX), ENOMEM);
    errno = 0;
    assert_null(ta_memalign(SIZE_MAX, 1));   /* rounds past the largest power of two */
    assert_true(errno == EINVAL || errno == ENOMEM);
    assert_heap_ok();
}

/* Many aligned blocks interleaved with plain ones, freed in a scrambled order: the heap checks
 * clean after every phase and every byte comes back. */
static void test_aligned_mixed_then_free_all(void **state) {
    enum { N = 150 };
    static void *p[N];
    static size_t len[N];
    ta_stats before, after;
    ta_get_stats(&before);
    for (int i = 0; i < N; i++) {
        size_t align = (size_t)16 << (i % 9);   /* 16 .. 4096 */
        len[i] = (size_t)(i * 97 % 2000) + 1;
        if (i % 3 == 0) {
            p[i] = ta_malloc(len[i]);
        } else if (i % 3 == 1) {
            assert_int_equal(ta_posix_memalign(&p[i], align, len[i]), 0);
            assert_aligned(p[i], align);
        } else {
            p[i] = ta_memalign(align, len[i]);
            assert_aligned(p[i], align);
        }
        assert_non_null(p[i]);
        pattern_fill(p[i], len[i], (uint64_t)i);
    }
    assert_heap_ok();
    for (int i = 0; i < N; i++) {
        int j = (i * 61) % N;   /* 61 is coprime with 150: a permutation */
        assert_true(pattern_ok(p[j], len[j], (uint64_t)j));
        ta_free(p[j]);
    }
    assert_heap_ok();
    ta_get_stats(&after);
    assert_int_equal(after.allocated, before.allocated);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_posix_memalign_einval),
        cmocka_unit_test(test_posix_memalign_every_power_of_two),
        cmocka_unit_test(test_aligned_alloc),
        cmocka_unit_test(test_memalign_rounds_up),
        cmocka_unit_test(test_huge_alignment),
        cmocka_unit_test(test_aligned_mixed_then_free_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
