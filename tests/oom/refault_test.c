/* refault_test.c - no purge/re-fault churn (issue 19), read from getrusage's minor page faults:
 *   - a steady producer/consumer: 2 threads allocate 32 MiB a round in blocks of 16 B..512 KiB and
 *     write every byte, 2 other threads free all of it, round after round. Once warm (the first
 *     rounds map and fault the heap in), a round's need is met by the pages freed in the round
 *     before: the page faults of the measured rounds stay under a tenth of the pages they write.
 *     Before the threshold followed the program (ta_small_limit_follow), each block of 128 KiB and
 *     more got a fresh mapping, faulted in page by page and unmapped at its free: every round
 *     faulted most of its pages again. refault_test_fixed, which pins the threshold at 128 KiB as
 *     it was, prints that case (0.72 faults per written page when written; 0.026 here) and skips
 *     the bound;
 *   - the mmap threshold follows mapped blocks that churn: a few freed and asked for again are
 *     served by the kept mappings and stay mapped; more freed within a decay period than an arena
 *     keeps raise the threshold past them, so the next ones come from an arena; blocks of 1 MiB
 *     and more keep their own mappings; with TAMALLOC_MMAP_THRESHOLD set (target
 *     refault_test_fixed) the threshold stays.
 * The default decay time (1 s) applies: a round takes a few milliseconds, so nothing stays free
 * for a whole decay period. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "tamalloc.h"
#include "tests/testlib/heap_shape.h"
#include "tests/testlib/rng.h"

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
#define PAGE 4096
#define ROUND_BYTES (32 * MIB)
#define PRODUCERS 2
#define CONSUMERS 2
#define WARM_ROUNDS 3
#define MEASURED_ROUNDS 10
#define MAX_BLOCKS (ROUND_BYTES / PRODUCERS / 64 + 1)

static int fixed_threshold(void) { return getenv("TAMALLOC_MMAP_THRESHOLD") != NULL; }

static long minor_faults(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

/* A producer's round: its blocks and their sizes. */
typedef struct lot {
    void *p[MAX_BLOCKS];
    size_t size[MAX_BLOCKS];
    size_t n;
    uint64_t seed;
    int bad;
} lot;

static lot lots[PRODUCERS];
static pthread_barrier_t phase;   /* producers, consumers and the main thread */
static int rounds_total;

/* 16 B..512 KiB, log-uniform: 2^4..2^18 times 1..2 */
static size_t pick_size(rng *r) {
    size_t s = (size_t)1 << (4 + rng_below(r, 15));
    return s + rng_below(r, s);
}

static void *producer(void *arg) {
    lot *l = arg;
    rng r = {l->seed};
    for (int round = 0; round < rounds_total; round++) {
        size_t bytes = 0;
        l->n = 0;
        while (bytes < ROUND_BYTES / PRODUCERS && l->n < MAX_BLOCKS) {
            size_t n = pick_size(&r);
            unsigned char *q = ta_malloc(n);
            if (!q) { l->bad = 1; break; }
            memset(q, (int)(round + 1), n);
            l->p[l->n] = q;
            l->size[l->n++] = n;
            bytes += n;
        }
        pthread_barrier_wait(&phase);   /* allocated */
        pthread_barrier_wait(&phase);   /* freed */
    }
    return NULL;
}

static void *consumer(void *arg) {
    lot *l = arg;
    for (int round = 0; round < rounds_total; round++) {
        pthread_barrier_wait(&phase);
        for (size_t i = 0; i < l->n; i++) {
            unsigned char *q = l->p[i];
            if (q[0] != (unsigned char)(round + 1) || q[l->size[i] - 1] != (unsigned char)(round + 1)) l->bad = 1;
            ta_free(q);
        }
        pthread_barrier_wait(&phase);
    }
    return NULL;
}

static void test_steady_producer_consumer(void **state) {
    (void)state;
    rounds_total = WARM_ROUNDS + MEASURED_ROUNDS;
    pthread_barrier_init(&phase, NULL, PRODUCERS + CONSUMERS + 1);
    pthread_t t[PRODUCERS + CONSUMERS];
    for (int i = 0; i < PRODUCERS; i++) {
        lots[i].seed = 0x5eed + (uint64_t)i;
        assert_int_equal(pthread_create(&t[i], NULL, producer, &lots[i]), 0);
    }
    for (int i = 0; i < CONSUMERS; i++) assert_int_equal(pthread_create(&t[PRODUCERS + i], NULL, consumer, &lots[i]), 0);
    long before = 0, pages = 0;
    for (int round = 0; round < rounds_total; round++) {
        if (round == WARM_ROUNDS) before = minor_faults();
        pthread_barrier_wait(&phase);
        if (round >= WARM_ROUNDS)
            for (int i = 0; i < PRODUCERS; i++)
                for (size_t k = 0; k < lots[i].n; k++) pages += (long)((lots[i].size[k] + PAGE - 1) / PAGE);
        pthread_barrier_wait(&phase);
    }
    long faults = minor_faults() - before;
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++) pthread_join(t[i], NULL);
    pthread_barrier_destroy(&phase);
    for (int i = 0; i < PRODUCERS; i++) assert_false(lots[i].bad);
    ta_stats s;
    ta_get_stats(&s);
    print_message("steady rounds: %ld minor faults for %ld pages written (%.3f per page); large_allocated %zu, mapped %.1f MiB\n",
                  faults, pages, (double)faults / (double)pages, s.large_allocated, (double)s.mapped / (double)MIB);
    if (fixed_threshold()) return;   /* blocks of 128 KiB and more are mapped each time: by request */
    assert_true(faults * 10 < pages);
}

/* ta_malloc(n) is an arena block (1) or its own mapping (0). */
static int in_arena(void *p) { return heap_shape_arena_of(p) >= 0; }

/* Run first, in a fresh process: a mapped block freed and asked for again, a few times, is served
 * by the arena's kept mappings; nothing is pushed out, so the threshold stays and the block stays
 * mapped (exact, unfragmented). */
static void test_few_mapped_frees_keep_threshold(void **state) {
    (void)state;
    void *small = ta_malloc(64);   /* the thread gets its arena, which keeps freed mappings */
    assert_non_null(small);
    for (int i = 0; i < 4; i++) {
        void *p = ta_malloc(1000 * KIB);
        assert_non_null(p);
        assert_false(in_arena(p));
        memset(p, i, 1000 * KIB);
        ta_free(p);
    }
    ta_free(small);
    assert_int_equal(ta_check(), 0);
}

/* More mapped blocks freed within a decay period than an arena keeps (8): the threshold rises past
 * them and the next block of their size comes from an arena. Blocks of 1 MiB and more keep their
 * own mappings whatever was freed. With TAMALLOC_MMAP_THRESHOLD set, the threshold stays. */
static void test_mapped_churn_raises_threshold(void **state) {
    (void)state;
    enum { N = 20 };
    const size_t size = 800 * KIB;   /* above the steady test's blocks (< 512 KiB) */
    void *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = ta_malloc(size);
        assert_non_null(p[i]);
        assert_false(in_arena(p[i]));   /* a mapping, as at the start */
    }
    for (int i = 0; i < N; i++) ta_free(p[i]);
    void *b = ta_malloc(size);
    assert_non_null(b);
    if (fixed_threshold()) assert_false(in_arena(b));   /* TAMALLOC_MMAP_THRESHOLD=128K stays */
    else assert_true(in_arena(b));                      /* the threshold followed the churn */
    ta_free(b);
    for (int i = 0; i < 2 * N; i++) {
        void *c = ta_malloc(MIB);
        assert_non_null(c);
        assert_false(in_arena(c));
        ta_free(c);
    }
    assert_int_equal(ta_check(), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_few_mapped_frees_keep_threshold),
        cmocka_unit_test(test_steady_producer_consumer),
        cmocka_unit_test(test_mapped_churn_raises_threshold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
