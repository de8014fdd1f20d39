/* huge_request_test.c - requests no allocator can satisfy, on every allocation function: sizes near
 * SIZE_MAX (and others far beyond the address space), calloc/reallocarray products that overflow,
 * realloc to an impossible size (NULL, ENOMEM, the original block intact and still usable),
 * invalid alignments (EINVAL) and huge alignments (NULL, ENOMEM). Nothing may crash, and the heap
 * must check clean afterwards. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "tamalloc.h"

#define SENTINEL 4242

/* Contents that do not depend on the address, so they survive a move by realloc. */
static void fill(char *p, size_t n, unsigned tag) {
    for (size_t i = 0; i < n; i++) p[i] = (char)(i * 31 + tag);
}
static int intact(const char *p, size_t n, unsigned tag) {
    for (size_t i = 0; i < n; i++) if (p[i] != (char)(i * 31 + tag)) return 0;
    return 1;
}

/* Each is far beyond a 47-bit (or 56-bit) address space once headers and alignment are added. */
static const size_t huge_sizes[] = {
    SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 15, SIZE_MAX - 16, SIZE_MAX - 4096, SIZE_MAX / 2 + 1,
    SIZE_MAX / 2, SIZE_MAX / 2 - 4096, (size_t)PTRDIFF_MAX, (size_t)1 << 62, (size_t)1 << 60,
    (size_t)1 << 58,
};
#define NSIZES (sizeof huge_sizes / sizeof huge_sizes[0])

static void expect_enomem_null(void *p) {
    assert_null(p);
    assert_int_equal(errno, ENOMEM);
}

static void test_malloc_calloc_huge(void **state) {
    (void)state;
    for (size_t i = 0; i < NSIZES; i++) {
        size_t n = huge_sizes[i];
        errno = 0; expect_enomem_null(ta_malloc(n));
        errno = 0; expect_enomem_null(ta_calloc(1, n));
        errno = 0; expect_enomem_null(ta_calloc(n, 1));
        errno = 0; expect_enomem_null(ta_realloc(NULL, n));
        errno = 0; expect_enomem_null(ta_reallocarray(NULL, n, 1));
    }
    assert_int_equal(ta_check(), 0);
}

static void test_calloc_reallocarray_overflow(void **state) {
    (void)state;
    static const size_t pairs[][2] = {
        {SIZE_MAX, 2}, {2, SIZE_MAX}, {SIZE_MAX / 2 + 1, 2}, {(size_t)1 << 32, (size_t)1 << 32},
        {SIZE_MAX, SIZE_MAX}, {(size_t)1 << 33, (size_t)1 << 31}, {SIZE_MAX / 16 + 1, 16},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        errno = 0; expect_enomem_null(ta_calloc(pairs[i][0], pairs[i][1]));
        errno = 0; expect_enomem_null(ta_reallocarray(NULL, pairs[i][0], pairs[i][1]));
        char *p = ta_malloc(100);
        assert_non_null(p);
        fill(p, 100, i);
        errno = 0; expect_enomem_null(ta_reallocarray(p, pairs[i][0], pairs[i][1]));
        assert_true(intact(p, 100, i));   /* p untouched and still ours */
        assert_true(ta_usable_size(p) >= 100);
        ta_free(p);
    }
    /* products that fit are fine */
    char *z = ta_calloc((size_t)1 << 10, 16);
    assert_non_null(z);
    for (size_t k = 0; k < ((size_t)1 << 14); k++) assert_int_equal(z[k], 0);
    ta_free(z);
    assert_int_equal(ta_check(), 0);
}

/* realloc to an impossible size: NULL, ENOMEM, the original (small, medium or large) intact. */
static void test_realloc_huge_keeps_original(void **state) {
    (void)state;
    static const size_t olds[] = {1, 100, 5000, 100000, 300000, 2 << 20};
    for (size_t k = 0; k < sizeof olds / sizeof olds[0]; k++) {
        char *p = ta_malloc(olds[k]);
        assert_non_null(p);
        fill(p, olds[k], k + 7);
        size_t usable = ta_usable_size(p);
        for (size_t i = 0; i < NSIZES; i++) {
            errno = 0; expect_enomem_null(ta_realloc(p, huge_sizes[i]));
            errno = 0; expect_enomem_null(ta_reallocarray(p, huge_sizes[i], 1));
            assert_int_equal(ta_usable_size(p), usable);
            assert_true(intact(p, olds[k], k + 7));
        }
        char *q = ta_realloc(p, olds[k] * 2);   /* still a live, resizable block */
        assert_non_null(q);
        assert_true(intact(q, olds[k], k + 7));
        ta_free(q);
    }
    assert_int_equal(ta_check(), 0);
}

static void test_aligned_huge_sizes(void **state) {
    (void)state;
    static const size_t aligns[] = {16, 64, 4096, (size_t)1 << 20};
    for (size_t a = 0; a < sizeof aligns / sizeof aligns[0]; a++) {
        for (size_t i = 0; i < NSIZES; i++) {
            void *out = (void *)(uintptr_t)0x1234;
            errno = SENTINEL;
            assert_int_equal(ta_posix_memalign(&out, aligns[a], huge_sizes[i]), ENOMEM);
            assert_ptr_equal(out, (void *)(uintptr_t)0x1234);   /* untouched on error */
            assert_int_equal(errno, SENTINEL);                    /* posix_memalign leaves errno */
            errno = 0; expect_enomem_null(ta_aligned_alloc(aligns[a], huge_sizes[i]));
            errno = 0; expect_enomem_null(ta_memalign(aligns[a], huge_sizes[i]));
        }
    }
    assert_int_equal(ta_check(), 0);
}

static void test_invalid_alignments(void **state) {
    (void)state;
    /* posix_memalign: a power of two and a multiple of sizeof(void *) */
    static const size_t bad_posix[] = {0, 1, 2, 4, 3, 12, 24, 48, 100, 4097, SIZE_MAX, SIZE_MAX - 7};
    for (size_t i = 0; i < sizeof bad_posix / sizeof bad_posix[0]; i++) {
        void *out = (void *)(uintptr_t)0x1234;
        errno = SENTINEL;
        assert_int_equal(ta_posix_memalign(&out, bad_posix[i], 64), EINVAL);
        assert_ptr_equal(out, (void *)(uintptr_t)0x1234);
        assert_int_equal(errno, SENTINEL);
    }
    /* aligned_alloc: a power of two */
    static const size_t bad_aligned[] = {0, 3, 12, 24, 48, 100, 4097, SIZE_MAX, (size_t)3 << 40};
    for (size_t i = 0; i < sizeof bad_aligned / sizeof bad_aligned[0]; i++) {
        errno = 0;
        assert_null(ta_aligned_alloc(bad_aligned[i], 64));
        assert_int_equal(errno, EINVAL);
    }
    /* memalign rounds a non-power-of-two up (glibc), but one beyond the largest power is EINVAL */
    errno = 0;
    assert_null(ta_memalign(SIZE_MAX, 64));
    assert_int_equal(errno, EINVAL);
    char *m = ta_memalign(24, 100);
    assert_non_null(m);
    assert_int_equal((uintptr_t)m % 32, 0);
    ta_free(m);
    assert_int_equal(ta_check(), 0);
}

/* Alignments that no mapping can honour: NULL + ENOMEM (posix_memalign returns ENOMEM). */
static void test_huge_alignments(void **state) {
    (void)state;
    static const size_t huge_aligns[] = {(size_t)1 << 47, (size_t)1 << 50, (size_t)1 << 56, (size_t)1 << 62,
                                         SIZE_MAX / 2 + 1};
    static const size_t sizes[] = {1, 64, 4096, 1 << 20};
    for (size_t a = 0; a < sizeof huge_aligns / sizeof huge_aligns[0]; a++) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            void *out = NULL;
            assert_int_equal(ta_posix_memalign(&out, huge_aligns[a], sizes[s]), ENOMEM);
            assert_null(out);
            errno = 0; expect_enomem_null(ta_aligned_alloc(huge_aligns[a], sizes[s]));
            errno = 0; expect_enomem_null(ta_memalign(huge_aligns[a], sizes[s]));
        }
    }
    assert_int_equal(ta_check(), 0);
}

/* 1 << 40 (1 TiB) may or may not be mappable (it depends on overcommit): either NULL + ENOMEM, or
 * a block that is aligned, writable at both ends and frees cleanly. */
static void test_tebibyte_alignment(void **state) {
    (void)state;
    size_t align = (size_t)1 << 40;
    errno = 0;
    char *p = ta_aligned_alloc(align, 64);
    if (p == NULL) {
        assert_int_equal(errno, ENOMEM);
    } else {
        assert_int_equal((uintptr_t)p % align, 0);
        memset(p, 0x5a, 64);
        ta_free(p);
    }
    assert_int_equal(ta_check(), 0);
}

/* After all of that, ordinary requests still work. */
static void test_still_works(void **state) {
    (void)state;
    void *a = ta_malloc(100), *b = ta_malloc(1 << 20), *c = ta_aligned_alloc(4096, 5000);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    ta_free(a);
    ta_free(b);
    ta_free(c);
    assert_int_equal(ta_check(), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malloc_calloc_huge),
        cmocka_unit_test(test_calloc_reallocarray_overflow),
        cmocka_unit_test(test_realloc_huge_keeps_original),
        cmocka_unit_test(test_aligned_huge_sizes),
        cmocka_unit_test(test_invalid_alignments),
        cmocka_unit_test(test_huge_alignments),
        cmocka_unit_test(test_tebibyte_alignment),
        cmocka_unit_test(test_still_works),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
