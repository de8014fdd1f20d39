/* churn_rss_test.c - 20,000 short-lived threads, created in waves of 50. Each frees blocks the main
 * thread handed it (remote frees queued for main's arena), allocates its own, hands half of them
 * to a long-lived survivor thread and frees the rest, then exits; the survivor frees what it was
 * handed whenever it gets to it, so those frees are queued for arenas whose thread may be gone
 * (drained by the last thread out or by the pusher). Resident memory (/proc/self/statm) after the
 * first 2,000 threads and a ta_collect is the baseline; at the end, after another ta_collect, it may
 * have grown by less than 1 MiB (nothing leaks per thread), and the heap checks clean with nothing
 * left allocated. Without the collects, free pages go back at decay ticks (BUILD). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "tamalloc.h"
#include "tests/testlib/proc_mem.h"
#include "tests/testlib/pattern.h"

#define THREADS 20000
#define WAVE 50
#define WARMUP 2000
#define FROM_MAIN 4
#define OWN 6
#define RING 4096

/* ---- the survivor's inbox: a bounded ring under a mutex -------------------------------------- */

static void *ring[RING];
static size_t ring_head, ring_count;
static int ring_closed;
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ring_nonempty = PTHREAD_COND_INITIALIZER, ring_nonfull = PTHREAD_COND_INITIALIZER;

static void hand_over(void *p) {
    pthread_mutex_lock(&ring_lock);
    while (ring_count == RING) pthread_cond_wait(&ring_nonfull, &ring_lock);
    ring[(ring_head + ring_count++) % RING] = p;
    pthread_cond_signal(&ring_nonempty);
    pthread_mutex_unlock(&ring_lock);
}

static int survivor_corrupt;

static void *survivor(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&ring_lock);
        while (ring_count == 0 && !ring_closed) pthread_cond_wait(&ring_nonempty, &ring_lock);
        if (ring_count == 0) { pthread_mutex_unlock(&ring_lock); return NULL; }
        void *p = ring[ring_head];
        ring_head = (ring_head + 1) % RING;
        ring_count--;
        pthread_cond_signal(&ring_nonfull);
        pthread_mutex_unlock(&ring_lock);
        if (!pattern_ok(p, 16, 2)) survivor_corrupt = 1;
        ta_free(p);
    }
}

/* ---- the short-lived threads ----------------------------------------------------------------- */

typedef struct job { void *from_main[FROM_MAIN]; unsigned seq; int bad; } job;

static void *short_lived(void *arg) {
    job *j = arg;
    for (int i = 0; i < FROM_MAIN; i++) {
        if (!pattern_ok(j->from_main[i], 16, 1)) j->bad = 1;
        ta_free(j->from_main[i]);   /* remote: queued for main's arena */
    }
    void *mine[OWN];
    for (int i = 0; i < OWN; i++) {
        mine[i] = ta_malloc(16 + (size_t)((j->seq * 7 + (unsigned)i * 131) % 3000));
        if (!mine[i]) { j->bad = 1; return NULL; }
        pattern_fill(mine[i], 16, 2);
    }
    for (int i = 0; i < OWN / 2; i++) hand_over(mine[i]);
    for (int i = OWN / 2; i < OWN; i++) ta_free(mine[i]);
    return NULL;
}

static void test_thread_churn_rss(void **state) {
    (void)state;
    static job jobs[WAVE];
    pthread_t surv, t[WAVE];
    ta_stats start;
    ta_get_stats(&start);
    assert_int_equal(pthread_create(&surv, NULL, survivor, NULL), 0);
    size_t baseline = 0;
    for (unsigned done = 0; done < THREADS; done += WAVE) {
        if (done == WARMUP) {
            ta_collect();   /* free pages go back at decay ticks; measure what stays after a collect */
            baseline = proc_resident_bytes();
        }
        for (unsigned k = 0; k < WAVE; k++) {
            jobs[k].seq = done + k;
            jobs[k].bad = 0;
            for (int i = 0; i < FROM_MAIN; i++) {
                jobs[k].from_main[i] = ta_malloc(24 + (size_t)i * 40);
                assert_non_null(jobs[k].from_main[i]);
                pattern_fill(jobs[k].from_main[i], 16, 1);
            }
            assert_int_equal(pthread_create(&t[k], NULL, short_lived, &jobs[k]), 0);
        }
        for (unsigned k = 0; k < WAVE; k++) {
            pthread_join(t[k], NULL);
            assert_int_equal(jobs[k].bad, 0);
        }
    }
    pthread_mutex_lock(&ring_lock);
    ring_closed = 1;
    pthread_cond_signal(&ring_nonempty);
    pthread_mutex_unlock(&ring_lock);
    pthread_join(surv, NULL);
    assert_int_equal(survivor_corrupt, 0);
    ta_collect();
    size_t end = proc_resident_bytes();
    print_message("resident after %d threads: %zu KiB, at the end of %d: %zu KiB\n", WARMUP, baseline >> 10, THREADS,
                  end >> 10);
    assert_true(baseline > 0);
    assert_true(end < baseline + ((size_t)1 << 20));

    ta_collect();   /* drains whatever is still queued for main's arena */
    ta_stats after;
    ta_get_stats(&after);
    assert_int_equal(after.allocated, start.allocated);
    assert_int_equal(after.remote_pushed, after.remote_drained);
    assert_int_equal(ta_check(), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thread_churn_rss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
