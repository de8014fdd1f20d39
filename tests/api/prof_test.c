/* prof_test.c - the heap profiler through the API: ta_prof_dump's errors, the sampling law (how many
 * allocations of a size are sampled), the accounting of frees, and sampled blocks behaving as any
 * block under realloc, calloc, aligned allocation and usable size.
 * Runs with TAMALLOC_PROF_SAMPLE=64K (BUILD): the profiler on, a sample every 64 KiB on average.
 * The figures are read from the profile's first line, "heap profile: <live samples>: <live bytes>
 * [<samples>: <bytes>] @ heap_v2/<rate>", dumped before and after each phase. */
#include "api_util.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define RATE 65536.0

typedef struct head { unsigned long long in_n, in_bytes, n, bytes, rate; } head;

static char path[PATH_MAX];

/* TAMALLOC_CHECK=2 checks the whole arena at every call: the cases keeping thousands of blocks live
 * run ten times fewer (or not at all) there, so the variant stays within its time under TSan. */
static int check2(void) {
    const char *check = getenv("TAMALLOC_CHECK");
    return check && strcmp(check, "2") == 0;
}

static head dump_head(void) {
    head h;
    assert_int_equal(ta_prof_dump(path), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int k = fscanf(f, "heap profile: %llu: %llu [%llu: %llu] @ heap_v2/%llu", &h.in_n, &h.in_bytes, &h.n, &h.bytes, &h.rate);
    fclose(f);
    assert_int_equal(k, 5);
    assert_int_equal(h.rate, (unsigned long long)RATE);
    return h;
}

static int setup(void **state) {
    (void)state;
    const char *dir = getenv("TEST_TMPDIR");
    snprintf(path, sizeof path, "%s/prof_test.%d.heap", dir ? dir : "/tmp", (int)getpid());
    return 0;
}

static void test_dump_errors(void **state) {
    (void)state;
    errno = 0;
    assert_int_equal(ta_prof_dump(NULL), -1);
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_int_equal(ta_prof_dump(""), -1);
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_int_equal(ta_prof_dump("/nonexistent-dir-of-tamalloc/x.heap"), -1);
    assert_int_equal(errno, ENOENT);
    errno = 0;
    assert_int_equal(ta_prof_dump("/"), -1);   /* a directory */
    assert_int_equal(errno, EISDIR);
    static char longpath[4096];
    memset(longpath, 'a', sizeof longpath - 1);
    errno = 0;
    assert_int_equal(ta_prof_dump(longpath), -1);
    assert_int_equal(errno, ENAMETOOLONG);
    /* nothing is broken: a dump still works, and the heap is sound */
    (void)dump_head();
    assert_heap_ok();
}

/* n allocations of size bytes (each freed at once): the samples taken must be n (1 - exp(-size /
 * rate)) within 5 standard deviations, and each sample counts size bytes. */
static void sample_phase(size_t size, size_t n) {
    head a = dump_head();
    for (size_t i = 0; i < n; i++) {
        unsigned char *p = ta_malloc(size);
        assert_non_null(p);
        p[0] = (unsigned char)i;
        p[size - 1] = (unsigned char)i;
        ta_free(p);
    }
    head b = dump_head();
    double want = (double)n * (1 - exp(-(double)size / RATE)), got = (double)(b.n - a.n);
    print_message("size %zu: %zu allocations, %.0f samples (expected %.1f)\n", size, n, got, want);
    assert_true(fabs(got - want) < 5 * sqrt(want));
    assert_int_equal(b.bytes - a.bytes, (b.n - a.n) * size);
    /* all freed: the live samples are back where they were */
    assert_int_equal(b.in_n, a.in_n);
    assert_int_equal(b.in_bytes, a.in_bytes);
}

static void test_sampling_law(void **state) {
    (void)state;
    if (!check2()) {
        sample_phase(64, 1000000);   /* p = 0.00098: about 976 samples */
        sample_phase(4096, 16000);   /* p = 0.061: about 970 */
    }
    sample_phase(262144, 1000);    /* p = 0.98: about 982 */
}

/* Live blocks count as live samples until freed, whichever thread frees them. */
static void test_live_then_freed(void **state) {
    (void)state;
    if (check2()) skip();
    enum { N = 20000 };
    static void *keep[N];
    head a = dump_head();
    for (int i = 0; i < N; i++) assert_non_null(keep[i] = ta_malloc(1000));
    head b = dump_head();
    assert_true(b.in_n - a.in_n > 100);   /* about 20000 * 0.0151 = 302 */
    assert_int_equal(b.in_bytes - a.in_bytes, (b.in_n - a.in_n) * 1000);
    for (int i = 0; i < N; i++) ta_free(keep[i]);
    head c = dump_head();
    assert_int_equal(c.in_n, a.in_n);
    assert_int_equal(c.in_bytes, a.in_bytes);
    assert_heap_ok();
}

/* Sampled blocks are blocks like any other: realloc keeps the contents (a sample is counted freed
 * and resized as any block; a moved block is a new allocation, maybe sampled), calloc's are zero,
 * aligned ones aligned, usable size at least asked. */
static void test_sampled_blocks_behave(void **state) {
    (void)state;
    enum { NMAX = 3000 };
    static void *p[NMAX];
    const int N = check2() ? NMAX / 10 : NMAX;
    head a = dump_head();
    for (int i = 0; i < N; i++) {
        p[i] = ta_malloc(700);
        assert_non_null(p[i]);
        assert_true(ta_usable_size(p[i]) >= 700);
        seq_fill(p[i], 700, (unsigned)i);
    }
    for (int i = 0; i < N; i++) {
        p[i] = ta_realloc(p[i], 1500);
        assert_non_null(p[i]);
        assert_seq_ok(p[i], 700, (unsigned)i);
        p[i] = ta_realloc(p[i], 100);
        assert_non_null(p[i]);
        assert_seq_ok(p[i], 100, (unsigned)i);
    }
    for (int i = 0; i < N; i++) ta_free(p[i]);
    for (int i = 0; i < N; i++) {
        unsigned char *z = ta_calloc(1, 900);
        assert_non_null(z);
        assert_true(all_zero(z, 900));
        memset(z, 0xab, 900);
        p[i] = z;
    }
    for (int i = 0; i < N; i++) ta_free(p[i]);
    for (int i = 0; i < N; i++) {
        void *q = ta_aligned_alloc(256, 768);
        assert_non_null(q);
        assert_aligned(q, 256);
        p[i] = q;
    }
    for (int i = 0; i < N; i++) ta_free(p[i]);
    head b = dump_head();
    assert_true(b.n - a.n > (unsigned long long)N / 150);   /* about N * (3 * 0.011 + 0.023 + 0.002 + 0.014) = N / 14 */
    assert_int_equal(b.in_n, a.in_n);
    assert_int_equal(b.in_bytes, a.in_bytes);
    assert_heap_ok();
}

/* A sampled block of a size the arenas serve stays an arena block (no mapping of its own): while
 * the samples live, the large-block figures do not move, ta_check() accepts them, and the heap walk
 * finds every block in use; after the frees the samples are gone from the profile. */
typedef struct walk_count { const void *lo, *hi; size_t used; } walk_count;

static int count_used(const ta_block_info *b, void *ctx) {
    walk_count *w = ctx;
    if (!b->is_free && !b->is_cached && b->size >= 2000 && (const char *)b->addr >= (const char *)w->lo &&
        (const char *)b->addr <= (const char *)w->hi)
        w->used++;
    return 0;
}

static void test_samples_stay_in_arenas(void **state) {
    (void)state;
    if (check2()) skip();
    ta_stats s0, s1;
    enum { N = 4000 };
    static void *p[N];
    head a = dump_head();
    ta_get_stats(&s0);
    walk_count w = {(void *)UINTPTR_MAX, NULL, 0};
    for (int i = 0; i < N; i++) {
        assert_non_null(p[i] = ta_malloc(2000));
        if ((void *)p[i] < w.lo) w.lo = (char *)p[i] - 16;
        if ((void *)p[i] > w.hi) w.hi = p[i];
    }
    head b = dump_head();
    assert_true(b.in_n - a.in_n > 20);   /* about 4000 * 0.030 = 120 */
    ta_get_stats(&s1);
    assert_int_equal(s1.large_allocated, s0.large_allocated);
    assert_heap_ok();
    assert_int_equal(ta_heap_walk(count_used, &w), 0);
    assert_true(w.used >= N);
    for (int i = 0; i < N; i++) ta_free(p[i]);
    head c = dump_head();
    assert_int_equal(c.in_n, a.in_n);
    assert_heap_ok();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dump_errors),
        cmocka_unit_test(test_sampling_law),
        cmocka_unit_test(test_live_then_freed),
        cmocka_unit_test(test_sampled_blocks_behave),
        cmocka_unit_test(test_samples_stay_in_arenas),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
