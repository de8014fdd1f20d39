/* rss_return_test.c - memory goes back to the OS (issue 12), read from /proc/self/statm:
 *   - after a burst: 200 MiB in small and medium blocks across 4 threads, all freed, ta_collect():
 *     resident memory comes back to within 8 MiB of where it started;
 *   - by decay, without ta_collect: 64 MiB of medium blocks freed, then the decay time passes
 *     (TAMALLOC_DECAY_MS=100 in BUILD) while the program keeps calling the allocator: resident
 *     memory falls by most of it, and the stats show the pages purged;
 * Each also checks the heap (ta_check). rss_steady_test.c has the steady producer/consumer run. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tamalloc.h"
#include "tests/oom/burst.h"
#include "tests/testlib/proc_mem.h"
#include "tests/testlib/rng.h"

#define MIB ((size_t)1 << 20)

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- a burst, then ta_collect ----------------------------------------------------------------- */

static void test_burst_then_collect(void **state) {
    (void)state;
    ta_collect();
    ta_stats s0;
    ta_get_stats(&s0);
    size_t start = proc_resident_bytes();
    static burst jobs[BURST_THREADS];
    pthread_t t[BURST_THREADS];
    for (int i = 0; i < BURST_THREADS; i++) {
        jobs[i].n = 400000;
        jobs[i].p = malloc(jobs[i].n * sizeof(void *));
        jobs[i].seed = 0x8b1a5u + (uint64_t)i;
        jobs[i].bad = 0;
        assert_non_null(jobs[i].p);
        assert_int_equal(pthread_create(&t[i], NULL, burst_alloc, &jobs[i]), 0);
    }
    for (int i = 0; i < BURST_THREADS; i++) pthread_join(t[i], NULL);
    size_t peak = proc_resident_bytes();
    /* freed by other threads than the ones that allocated: remote frees too */
    for (int i = 0; i < BURST_THREADS; i++) assert_int_equal(pthread_create(&t[i], NULL, burst_free, &jobs[(i + 1) % BURST_THREADS]), 0);
    for (int i = 0; i < BURST_THREADS; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < BURST_THREADS; i++) assert_int_equal(jobs[i].bad, 0);
    ta_collect();
    size_t end = proc_resident_bytes();
    print_message("burst: resident %zu KiB at start, %zu KiB at the peak, %zu KiB after free + ta_collect\n",
                  start >> 10, peak >> 10, end >> 10);
    assert_true(peak > start + BURST_BYTES / 2);   /* the burst was real */
    assert_true(end < start + 8 * MIB);
    ta_stats s1;
    ta_get_stats(&s1);
    assert_int_equal(s1.allocated, s0.allocated);
    assert_int_equal(s1.large_cached, 0);
    assert_int_equal(ta_check(), 0);
    for (int i = 0; i < BURST_THREADS; i++) free(jobs[i].p);
}

/* ---- by decay, with no ta_collect ------------------------------------------------------------- */

static void test_decay_gives_back(void **state) {
    (void)state;
    ta_collect();
    enum { N = 64 * 16 };   /* 64 MiB of 64 KiB blocks: medium, from the arena */
    static void *p[N];
    size_t start = proc_resident_bytes();
    for (int i = 0; i < N; i++) {
        p[i] = ta_malloc(64 << 10);
        assert_non_null(p[i]);
        memset(p[i], 0x33, 64 << 10);
    }
    for (int i = 0; i < N; i++) ta_free(p[i]);
    size_t freed = proc_resident_bytes();
    assert_true(freed > start + 48 * MIB);   /* free but resident: nothing went back yet */
    /* The program goes on: the decay time passes, and its calls run the ticks. */
    size_t now = freed;
    for (int round = 0; round < 100 && now > start + 16 * MIB; round++) {
        sleep_ms(20);
        for (int k = 0; k < 64; k++) ta_free(ta_malloc(5000));   /* arena operations */
        now = proc_resident_bytes();
    }
    ta_stats st;
    ta_get_stats(&st);
    print_message("decay: resident %zu KiB at start, %zu KiB after the frees, %zu KiB after the decay time; "
                  "purged %zu KiB, dirty %zu KiB\n", start >> 10, freed >> 10, now >> 10, st.purged >> 10, st.dirty >> 10);
    assert_true(now < start + 16 * MIB);
    assert_true(st.purged > 0 || st.mapped < 16 * MIB);   /* pages given back, or whole segments */
    assert_int_equal(ta_check(), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_collect),
        cmocka_unit_test(test_decay_gives_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
