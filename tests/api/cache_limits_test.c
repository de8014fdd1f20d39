/* cache_limits_test.c - the thread cache's bin limits adapt to reuse (cache.c: cache_grow,
 * cache_scavenge), within the thread's budget (TAMALLOC_CACHE_BYTES).
 * One binary, four cases chosen by argv[1] (each needs its own environment, see BUILD):
 *   grow      rounds of 1000 blocks of 500 bytes allocated, then freed: the bin's limit doubles at
 *             each round's first overflow (its blocks were reused), until a whole round is served
 *             by the cache: no arena search while allocating, 1000 blocks cached after the frees.
 *   noreuse   1000 blocks allocated once and freed: the bin grows at most once (its refills came
 *             before its first overflow) and then keeps its start share (TAMALLOC_CACHE_BYTES=256K:
 *             a quarter of it over 64 bins, 1 KiB, is 4 blocks of 208 bytes; one doubling: 8).
 *   budget    every cached size in turn, 200 blocks a round, 20 rounds (TAMALLOC_CACHE_BYTES=64K):
 *             the blocks cached, headers included, never exceed the budget.
 *   scavenge  a bin grown to 1000 blocks gives them back once it is no longer used, while the
 *             thread is served from another bin (TAMALLOC_DECAY_MS=20: every 20 ms its limit
 *             halves, down to its start share).
 *   larger    the bins of 1-4 KiB start inactive: a mix of sizes, none twice in a row, caches
 *             nothing of them; rounds of 16 blocks of 3000 bytes activate their bin at once and
 *             are then served by the cache (no arena search while allocating), within an eighth
 *             of the budget.
 * Single-threaded: ta_get_stats' cached figures are this thread's cache. */
#include "api_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define N 1000

static void *blocks[N];

static ta_stats stats_now(void) {
    ta_stats st;
    ta_get_stats(&st);
    return st;
}

/* Allocates n blocks of size bytes (each written), returns the arena searches that took. */
static size_t alloc_round(size_t n, size_t size, unsigned tag) {
    size_t before = stats_now().searches;
    for (size_t i = 0; i < n; i++) {
        blocks[i] = ta_malloc(size);
        assert_non_null(blocks[i]);
        seq_fill(blocks[i], size < 64 ? size : 64, tag);
    }
    return stats_now().searches - before;
}

static void free_round(size_t n, size_t size, unsigned tag) {
    for (size_t i = 0; i < n; i++) {
        assert_seq_ok(blocks[i], size < 64 ? size : 64, tag);
        ta_free(blocks[i]);
    }
}

static void test_grow(void **state) {
    (void)state;
    int served_at = -1;
    for (int r = 0; r < 16 && served_at < 0; r++) {
        size_t searches = alloc_round(N, 500, (unsigned)r);
        if (r == 0) assert_true(searches > 0);   /* the first round comes from the arena */
        free_round(N, 500, (unsigned)r);
        ta_stats st = stats_now();
        printf("round %d: %zu arena searches while allocating, %zu blocks cached after the frees\n", r, searches,
               st.cached_blocks);
        if (searches == 0 && st.cached_blocks >= N) served_at = r;
    }
    /* 1 MiB budget: the bin starts at 7 blocks of 528 bytes and doubles once a round */
    assert_true(served_at > 0);
    assert_true(served_at <= 10);
}

static void test_noreuse(void **state) {
    (void)state;
    alloc_round(N, 192, 1);   /* 208-byte blocks */
    free_round(N, 192, 1);
    ta_stats st = stats_now();
    printf("%zu blocks cached after 1000 frees of blocks allocated once\n", st.cached_blocks);
    assert_true(st.cached_blocks <= 8);
}

static void test_budget(void **state) {
    (void)state;
    size_t most = 0;
    for (int r = 0; r < 20; r++) {
        for (size_t size = 16; size <= 1024; size += 16) {
            alloc_round(200, size, (unsigned)size);
            free_round(200, size, (unsigned)size);
            ta_stats st = stats_now();
            size_t whole = st.cached + 16 * st.cached_blocks;   /* usable bytes plus headers */
            if (whole > most) most = whole;
            assert_true(whole <= 64 * 1024);
        }
    }
    printf("most cached at once: %zu bytes (budget 65536)\n", most);
    assert_true(most > 32 * 1024);   /* the bins did grow into the budget */
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_scavenge(void **state) {
    (void)state;
    size_t grown = 0;
    int r = 0;
    for (; r < 40 && grown < N; r++) {   /* about 9 rounds (test_grow); more on a slow machine */
        alloc_round(N, 500, (unsigned)r);
        free_round(N, 500, (unsigned)r);
        grown = stats_now().cached_blocks;
    }
    printf("%zu blocks cached after %d rounds\n", grown, r);
    assert_true(grown >= N);
    /* light traffic on another size: cached frees, whose countdown reads the clock every 256 */
    double t0 = now_s(), t = t0;
    size_t left = grown;
    while (t - t0 < 5.0) {
        for (int i = 0; i < 1000; i++) {
            volatile char *p = ta_malloc(16);
            assert_non_null((void *)p);
            p[0] = (char)i;
            ta_free((void *)p);
        }
        left = stats_now().cached_blocks;
        if (left < 64) break;
        t = now_s();
    }
    printf("%zu blocks cached %.0f ms later\n", left, (now_s() - t0) * 1000);
    assert_true(left < 64);   /* 7 blocks of 528 bytes and a few of 32 */
}

static void test_larger(void **state) {
    (void)state;
    /* 1040..4112-byte blocks, each size once: never a run */
    size_t n = 0;
    for (size_t size = 1025; size <= 4096 && n < N; size += 16) {
        blocks[n] = ta_malloc(size);
        assert_non_null(blocks[n]);
        seq_fill(blocks[n], 64, 7);
        n++;
    }
    for (size_t i = 0; i < n; i++) ta_free(blocks[i]);
    ta_stats st = stats_now();
    printf("%zu blocks of %zu sizes 1-4 KiB, each once: %zu cached\n", n, n, st.cached_blocks);
    assert_int_equal(st.cached_blocks, 0);
    int served_at = -1;
    for (int r = 0; r < 16 && served_at < 0; r++) {
        size_t searches = alloc_round(16, 3000, (unsigned)r);
        free_round(16, 3000, (unsigned)r);
        st = stats_now();
        printf("round %d: %zu arena searches while allocating, %zu blocks cached\n", r, searches, st.cached_blocks);
        assert_true((st.cached + 16 * st.cached_blocks) <= (1u << 20) / 8);
        if (searches == 0 && st.cached_blocks == 16) served_at = r;
    }
    assert_true(served_at > 0);
}

int main(int argc, char **argv) {
    const char *which = argc > 1 ? argv[1] : "";
    struct CMUnitTest t[1];
    if (strcmp(which, "grow") == 0) t[0] = (struct CMUnitTest)cmocka_unit_test(test_grow);
    else if (strcmp(which, "noreuse") == 0) t[0] = (struct CMUnitTest)cmocka_unit_test(test_noreuse);
    else if (strcmp(which, "budget") == 0) t[0] = (struct CMUnitTest)cmocka_unit_test(test_budget);
    else if (strcmp(which, "scavenge") == 0) t[0] = (struct CMUnitTest)cmocka_unit_test(test_scavenge);
    else if (strcmp(which, "larger") == 0) t[0] = (struct CMUnitTest)cmocka_unit_test(test_larger);
    else {
        fprintf(stderr, "usage: cache_limits_test grow|noreuse|budget|scavenge|larger\n");
        return 2;
    }
    return cmocka_run_group_tests(t, NULL, NULL);
}
