/* heap_test.c - first-class heaps (ta_heap_*, issue 22) through the public API only: allocation
 * calls and their errno, realloc keeping a block in its heap, frees from another thread, blocks
 * never cached, stats / arena stats / walk / check / heap map showing the heap as a user arena,
 * destroy of 1 M blocks (timed against freeing them one by one: printed, not asserted; mapped bytes
 * must drop and other arenas' blocks stay intact), slot reuse past the live limit, fork. */
#include "tests/api/api_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* TAMALLOC_CHECK=2 runs a full arena check after every operation: keep the block counts small
 * (scale), and the loops that only repeat or time something shorter still (scale_repeats: under
 * TSan, 2000 live blocks checked at every call made test_free_cost take 78 s and 3000 heaps made and
 * dropped test_slots 142 s, against a 300 s limit). */
static int check2(void) {
    const char *c = getenv("TAMALLOC_CHECK");
    return c && atoi(c) >= 2;
}
static size_t scale(size_t n) { return check2() && n > 2000 ? 2000 : n; }
static size_t scale_repeats(size_t n) { return check2() && n > 200 ? 200 : n; }

static ta_stats heap_stats(ta_heap *h) {
    ta_stats s;
    memset(&s, 0xab, sizeof s);
    assert_int_equal(ta_heap_get_stats(h, &s), 0);
    return s;
}

static void test_alloc_calls(void **state) {
    (void)state;
    ta_heap *h = ta_heap_new();
    assert_non_null(h);
    ta_stats s = heap_stats(h);
    assert_int_equal(s.allocated, 0);
    assert_int_equal(s.arenas, 1);
    void *p[64];
    for (unsigned i = 0; i < 64; i++) {
        size_t n = 1 + i * 97;
        p[i] = ta_heap_malloc(h, n);
        assert_non_null(p[i]);
        assert_int_equal((uintptr_t)p[i] & 15, 0);
        assert_true(ta_usable_size(p[i]) >= n);
        seq_fill(p[i], n, i);
    }
    s = heap_stats(h);
    assert_true(s.allocated >= 64);
    for (unsigned i = 0; i < 64; i++) assert_seq_ok(p[i], 1 + i * 97, i);
    /* calloc zeroes a reused, dirtied block */
    memset(p[10], 0xff, 1 + 10 * 97);
    ta_free(p[10]);
    unsigned char *z = ta_heap_calloc(h, 1, 1 + 10 * 97);
    assert_non_null(z);
    assert_true(all_bytes(z, 1 + 10 * 97, 0));
    errno = 0;
    assert_null(ta_heap_calloc(h, SIZE_MAX / 2, 4));
    assert_int_equal(errno, ENOMEM);
    /* large, calloc of a large block */
    unsigned char *big = ta_heap_calloc(h, 1, 3 << 20);
    assert_non_null(big);
    assert_true(all_bytes(big, 3 << 20, 0));
    s = heap_stats(h);
    assert_true(s.large_allocated >= (3u << 20));
    assert_true(s.mapped >= (3u << 20));
    ta_free(big);
    assert_int_equal(heap_stats(h).large_allocated, 0);
    /* aligned */
    static const size_t aligns[] = {16, 32, 64, 256, 4096, 65536, 1 << 20};
    for (unsigned i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        void *q = ta_heap_aligned_alloc(h, aligns[i], 100);
        assert_non_null(q);
        assert_int_equal((uintptr_t)q & (aligns[i] - 1), 0);
        memset(q, 1, 100);
        ta_free(q);
    }
    errno = 0;
    assert_null(ta_heap_aligned_alloc(h, 48, 100));
    assert_int_equal(errno, EINVAL);
    void *m0 = ta_heap_malloc(h, 0);
    assert_non_null(m0);
    ta_free(m0);
    for (unsigned i = 0; i < 64; i++) if (i != 10) ta_free(p[i]);
    ta_free(z);
    s = heap_stats(h);
    assert_int_equal(s.allocated, 0);
    assert_int_equal(ta_check(), 0);
    ta_heap_destroy(h);
    ta_heap_destroy(NULL);   /* does nothing */
}

/* The heap's allocated bytes, and the process's minus the heap's. */
static void test_realloc_keeps_heap(void **state) {
    (void)state;
    ta_heap *h = ta_heap_new();
    assert_non_null(h);
    char *p = ta_heap_realloc(h, NULL, 100);   /* NULL: malloc */
    assert_non_null(p);
    seq_fill(p, 100, 7);
    size_t before = heap_stats(h).allocated;
    /* grow (in place or moved), through both names; every step must stay in h */
    p = ta_heap_realloc(h, p, 5000);
    assert_non_null(p);
    assert_seq_ok(p, 100, 7);
    assert_true(heap_stats(h).allocated >= 5000 && before < 5000);
    p = ta_realloc(p, 60000);
    assert_non_null(p);
    assert_seq_ok(p, 100, 7);
    assert_true(heap_stats(h).allocated >= 60000);
    /* past the mmap threshold: a large block of the heap */
    p = ta_realloc(p, 2 << 20);
    assert_non_null(p);
    assert_seq_ok(p, 100, 7);
    assert_true(heap_stats(h).large_allocated >= (2u << 20));
    p = ta_heap_realloc(h, p, 3 << 20);   /* still h's: no fault */
    assert_non_null(p);
    assert_seq_ok(p, 100, 7);
    p = ta_realloc(p, 200);   /* back to an arena block, in h */
    assert_non_null(p);
    assert_seq_ok(p, 100, 7);
    ta_stats s = heap_stats(h);
    assert_int_equal(s.large_allocated, 0);
    assert_true(s.allocated >= 200 && s.allocated < 4096);
    assert_null(ta_heap_realloc(h, p, 0));   /* frees */
    assert_int_equal(heap_stats(h).allocated, 0);
    ta_heap_destroy(h);
}

typedef struct free_job { void **p; size_t n; } free_job;
static void *free_all(void *arg) {
    free_job *j = arg;
    for (size_t i = 0; i < j->n; i++) ta_free(j->p[i]);
    return NULL;
}

/* Frees from another thread go straight back to the heap (no thread keeps them), and the freeing
 * threads' caches never take a heap block. */
static void test_free_other_thread_never_cached(void **state) {
    (void)state;
    ta_heap *h = ta_heap_new();
    enum { N = 4000 };
    static void *p[N];
    for (size_t i = 0; i < N; i++) assert_non_null(p[i] = ta_heap_malloc(h, 16 + (i % 50) * 16));
    free_job j = {p, N / 2};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, free_all, &j), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    ta_stats before;
    ta_get_stats(&before);
    for (size_t i = N / 2; i < N; i++) ta_free(p[i]);   /* this thread, which has a cache */
    ta_stats after, s = heap_stats(h);
    ta_get_stats(&after);
    assert_int_equal(s.allocated, 0);
    assert_int_equal(s.remote_pushed, N);
    assert_int_equal(s.remote_drained, N);
    assert_int_equal(after.cached_blocks, before.cached_blocks);   /* none went to a cache */
    assert_int_equal(after.remote_batched, before.remote_batched);  /* nor to an outbox */
    assert_int_equal(ta_check(), 0);
    ta_heap_destroy(h);
}

typedef struct visit { unsigned user_arena; size_t blocks; } visit;
static int count_arena(const ta_block_info *b, void *ctx) {
    visit *v = ctx;
    if (b->arena == v->user_arena && !b->is_free) v->blocks++;
    return 0;
}

static void test_visibility(void **state) {
    (void)state;
    ta_heap *h = ta_heap_new();
    void *p[10];
    for (int i = 0; i < 10; i++) assert_non_null(p[i] = ta_heap_malloc(h, 1000));
    ta_arena_stats as;
    size_t n = ta_get_arena_stats(0, &as);
    int found = -1;
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(ta_get_arena_stats(i, &as), n);
        if (as.in_use && as.user) {
            assert_int_equal(found, -1);   /* one user heap alive */
            found = (int)i;
            assert_int_equal(as.threads, 0);
            assert_true(as.allocated >= 10000);
        }
    }
    assert_true(found >= 0);
    visit v = {(unsigned)found, 0};
    assert_int_equal(ta_heap_walk(count_arena, &v), 0);
    assert_int_equal(v.blocks, 10);
    assert_int_equal(ta_check(), 0);
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(ta_heap_map(f), 0);
    fflush(f);
    long len = ftell(f);
    rewind(f);
    char *json = malloc((size_t)len + 1);   /* the C library's: the test's own memory */
    assert_int_equal(fread(json, 1, (size_t)len, f), (size_t)len);
    json[len] = 0;
    fclose(f);
    char want[64];
    snprintf(want, sizeof want, "{\"index\":%d,\"user\":true", found);
    if (!strstr(json, want)) fail_msg("heap map lacks %s", want);
    free(json);
    ta_stats total;
    ta_get_stats(&total);
    assert_true(total.arenas >= 1);   /* the heap (this thread may have no arena yet) */
    assert_true(total.allocated >= 10000);
    ta_heap_destroy(h);
    assert_int_equal(ta_get_arena_stats((unsigned)found, &as), n);
    assert_false(as.in_use);   /* gone from the lists */
    assert_int_equal(ta_check(), 0);
}

/* 1 M blocks: destroy against freeing them one by one. The process's mapped bytes must drop by the
 * heap's, and blocks of this thread's arena must be intact. */
static void test_destroy_many(void **state) {
    (void)state;
    size_t n = scale((size_t)1 << 20);
    enum { MINE = 1000 };
    static char *mine[MINE];
    for (unsigned i = 0; i < MINE; i++) {
        mine[i] = ta_malloc(24 + i % 200);
        seq_fill(mine[i], 24 + i % 200, i);
    }
    void **p = malloc(n * sizeof *p);
    assert_non_null(p);
    /* one by one */
    ta_heap *h1 = ta_heap_new();
    for (size_t i = 0; i < n; i++) assert_non_null(p[i] = ta_heap_malloc(h1, 16 + (i % 4) * 16));
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) ta_free(p[i]);
    double t_free = now_s() - t0;
    assert_int_equal(heap_stats(h1).allocated, 0);
    ta_heap_destroy(h1);
    /* destroy */
    ta_heap *h2 = ta_heap_new();
    for (size_t i = 0; i < n; i++) assert_non_null(p[i] = ta_heap_malloc(h2, 16 + (i % 4) * 16));
    void *large = ta_heap_malloc(h2, 8 << 20);
    assert_non_null(large);
    ta_stats hs = heap_stats(h2), before, after;
    ta_get_stats(&before);
    t0 = now_s();
    ta_heap_destroy(h2);
    double t_destroy = now_s() - t0;
    ta_get_stats(&after);
    printf("heap_test: %zu blocks (%zu segment bytes + 8 MiB large): freeing one by one %.3f ms (%.1f ns/block), "
           "ta_heap_destroy %.3f ms (%.1fx faster)\n",
           n, hs.mapped - hs.large_allocated, t_free * 1e3, t_free * 1e9 / (double)n, t_destroy * 1e3,
           t_destroy > 0 ? t_free / t_destroy : 0.0);
    assert_true(before.mapped - after.mapped >= hs.mapped);
    assert_true(before.allocated - after.allocated >= hs.allocated);
    for (unsigned i = 0; i < MINE; i++) assert_seq_ok(mine[i], 24 + i % 200, i);
    for (unsigned i = 0; i < MINE; i++) ta_free(mine[i]);
    free(p);
    assert_int_equal(ta_check(), 0);
}

/* What "never enter a cache" costs: a heap block's free is a push to the heap's queue and a drain
 * under its lock, against a cached own-arena free. Printed (ns per malloc+free pair), not asserted. */
static void test_free_cost(void **state) {
    (void)state;
    size_t n = scale_repeats(200000);
    void **p = malloc(n * sizeof *p);
    assert_non_null(p);
    ta_heap *h = ta_heap_new();
    double t[4];
    for (int round = 0; round < 2; round++) {   /* the second round is the one printed: warm */
        double t0 = now_s();
        for (size_t i = 0; i < n; i++) ta_free(ta_malloc(64));
        t[0] = now_s() - t0;
        t0 = now_s();
        for (size_t i = 0; i < n; i++) ta_free(ta_heap_malloc(h, 64));
        t[1] = now_s() - t0;
        t0 = now_s();
        for (size_t i = 0; i < n; i++) p[i] = ta_heap_malloc(h, 64);
        for (size_t i = 0; i < n; i++) ta_free(p[i]);
        t[2] = now_s() - t0;
        t0 = now_s();
        for (size_t i = 0; i < n; i++) p[i] = ta_malloc(64);
        for (size_t i = 0; i < n; i++) ta_free(p[i]);
        t[3] = now_s() - t0;
    }
    printf("heap_test: ns per 64-byte malloc+free pair: own arena (thread cache) %.1f, heap %.1f; %zu allocations "
           "then %zu frees: own arena %.1f, heap %.1f\n",
           t[0] * 1e9 / (double)n, t[1] * 1e9 / (double)n, n, n, t[3] * 1e9 / (double)n, t[2] * 1e9 / (double)n);
    assert_int_equal(heap_stats(h).allocated, 0);
    ta_heap_destroy(h);
    free(p);
}

/* Slots are reused: more heaps created and destroyed than can live at once; at most 1024 alive. */
static void test_slots(void **state) {
    (void)state;
    for (size_t i = 0; i < scale_repeats(3000); i++) {   /* more than the 1024 slots (200: still reuse) */
        ta_heap *h = ta_heap_new();
        assert_non_null(h);
        void *p = ta_heap_malloc(h, 64);
        assert_non_null(p);
        if (i & 1) ta_free(p);
        ta_heap_destroy(h);
    }
    static ta_heap *hs[1024];
    for (int i = 0; i < 1024; i++) assert_non_null(hs[i] = ta_heap_new());
    errno = 0;
    assert_null(ta_heap_new());
    assert_int_equal(errno, ENOMEM);
    for (int i = 0; i < 1024; i++) ta_heap_destroy(hs[i]);
    ta_heap *h = ta_heap_new();
    assert_non_null(h);
    ta_heap_destroy(h);
}

/* The child uses, frees into and destroys a heap its parent created; the parent's heap is intact. */
static void test_fork(void **state) {
    (void)state;
    ta_heap *h = ta_heap_new();
    char *p[100];
    for (int i = 0; i < 100; i++) { p[i] = ta_heap_malloc(h, 100 + i); seq_fill(p[i], 100 + i, i); }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (int i = 0; i < 100; i++) if (seq_find_bad(p[i], 100 + i, i) != (size_t)-1) _exit(2);
        for (int i = 0; i < 50; i++) ta_free(p[i]);
        for (int i = 0; i < 1000; i++) if (!ta_heap_malloc(h, 300)) _exit(3);
        if (ta_check() != 0) _exit(4);
        ta_heap_destroy(h);
        if (ta_check() != 0) _exit(5);
        ta_heap *h2 = ta_heap_new();
        if (!h2 || !ta_heap_malloc(h2, 10)) _exit(6);
        ta_heap_destroy(h2);
        _exit(0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    for (int i = 0; i < 100; i++) assert_seq_ok(p[i], 100 + i, i);
    ta_heap_destroy(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_calls),
        cmocka_unit_test(test_realloc_keeps_heap),
        cmocka_unit_test(test_free_other_thread_never_cached),
        cmocka_unit_test(test_visibility),
        cmocka_unit_test(test_destroy_many),
        cmocka_unit_test(test_free_cost),
        cmocka_unit_test(test_slots),
        cmocka_unit_test(test_fork),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
