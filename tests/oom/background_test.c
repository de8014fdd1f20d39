/* background_test.c - the background purge (issue 19), read from /proc/self/statm and /proc/self/task:
 *   - idle after a burst: 200 MiB in small and medium blocks across 4 threads, all freed (by other
 *     threads than the ones that allocated), then no allocator call at all for 3 s. With
 *     TAMALLOC_BACKGROUND=1 (target background_test) resident memory ends within 4 MiB of the
 *     start; without it (background_test_off) nothing goes back while nobody calls (the documented
 *     behaviour), and the first calls that reach an arena give it back;
 *   - light traffic after a burst: a thread frees 64 MiB into its own arena and waits, alive; the
 *     main thread makes only cached-size malloc/free pairs: resident memory goes back within two
 *     decay periods, with or without the thread; the same when the main thread frees the 64 MiB
 *     (remote frees queued for the idle thread's arena);
 *   - ta_background(): EINVAL for a value other than 0 or 1; starting and stopping adds and removes
 *     exactly one thread; its rounds and CPU time show in ta_stats; stopping stops the rounds;
 *   - fork: the child of a process with the thread running has no such thread, can start its own,
 *     and its heap checks clean.
 * The default decay time (1 s) applies: the purge has 3 s to act. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tamalloc.h"
#include "tests/oom/burst.h"
#include "tests/testlib/proc_mem.h"
#include "tests/testlib/rng.h"

#define MIB ((size_t)1 << 20)

static int background_env(void) {
    const char *e = getenv("TAMALLOC_BACKGROUND");
    return e && strcmp(e, "1") == 0;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* Threads of this process, from /proc/self/task (opendir allocates through glibc's malloc here:
 * this test keeps the C library's allocator). */
static int thread_count(void) {
    DIR *d = opendir("/proc/self/task");
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

/* ---- idle after a burst --------------------------------------------------------------------- */

#define BURST_CAP 400000

static void test_idle_after_burst(void **state) {
    (void)state;
    static burst jobs[BURST_THREADS];
    for (int i = 0; i < BURST_THREADS; i++) {   /* the program's own arrays, before the start mark */
        jobs[i].p = calloc(BURST_CAP, sizeof(void *));
        jobs[i].n = BURST_CAP;
        assert_non_null(jobs[i].p);
        jobs[i].seed = 0x1d1eu + (uint64_t)i;
    }
    sleep_ms(1500);   /* whatever the start-up left for decay goes first */
    size_t start = proc_resident_bytes();
    pthread_t t[BURST_THREADS];
    for (int i = 0; i < BURST_THREADS; i++) assert_int_equal(pthread_create(&t[i], NULL, burst_alloc, &jobs[i]), 0);
    for (int i = 0; i < BURST_THREADS; i++) pthread_join(t[i], NULL);
    size_t peak = proc_resident_bytes();
    for (int i = 0; i < BURST_THREADS; i++) assert_int_equal(pthread_create(&t[i], NULL, burst_free, &jobs[(i + 1) % BURST_THREADS]), 0);
    for (int i = 0; i < BURST_THREADS; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < BURST_THREADS; i++) assert_int_equal(jobs[i].bad, 0);
    size_t freed = proc_resident_bytes();
    sleep_ms(3000);   /* no allocator call at all */
    size_t idle = proc_resident_bytes();
    ta_stats st;
    ta_get_stats(&st);
    print_message("idle after a burst (background %s): resident %zu KiB at start, %zu KiB at the peak, %zu KiB after the "
                  "frees, %zu KiB after 3 s idle; background %zu rounds, %zu us of CPU\n",
                  background_env() ? "on" : "off", start >> 10, peak >> 10, freed >> 10, idle >> 10,
                  st.background_rounds, st.background_cpu_ns / 1000);
    assert_true(peak > start + BURST_BYTES / 2);   /* the burst was real */
    if (background_env()) {
        assert_true(idle < start + 4 * MIB);
        assert_true(st.background_rounds >= 8);    /* every 250 ms for 3 s and more */
        assert_true(st.background_cpu_ns > 0);
    } else {
        /* nobody called: nothing went back (pages freed at the thread exits' ticks aside) */
        assert_true(idle > start + BURST_BYTES / 4);
        assert_int_equal(st.background_rounds, 0);
        /* the first calls that reach an arena run the due ticks (of the exited threads' arenas too) */
        size_t now = idle;
        for (int round = 0; round < 50 && now >= start + 8 * MIB; round++) {
            for (int k = 0; k < 64; k++) ta_free(ta_malloc(5000));
            sleep_ms(40);
            now = proc_resident_bytes();
        }
        print_message("then calls: resident %zu KiB\n", now >> 10);
        assert_true(now < start + 8 * MIB);
    }
    assert_int_equal(ta_check(), 0);
    for (int i = 0; i < BURST_THREADS; i++) free(jobs[i].p);
}

/* ---- light traffic after a burst ------------------------------------------------------------ */

/* A thread that frees 64 MiB into its own arena and then waits, alive, holding that arena: an
 * arena owned but idle. */
static pthread_mutex_t light_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t light_cv = PTHREAD_COND_INITIALIZER;
static int light_state;   /* 1: the holder freed (or handed over) its blocks; 2: it may exit */
enum { LIGHT_N = 64 * 16 };
static void *light_blocks[LIGHT_N];

/* arg non-NULL: the holder hands its blocks to the main thread, which frees them (remote frees
 * queued for the idle holder's arena) */
static void *light_holder(void *arg) {
    void **p = light_blocks;
    for (int i = 0; i < LIGHT_N; i++) {
        p[i] = ta_malloc(64 << 10);
        if (p[i]) memset(p[i], 0x77, 64 << 10);
    }
    if (!arg)
        for (int i = 0; i < LIGHT_N; i++) ta_free(p[i]);
    pthread_mutex_lock(&light_mu);
    light_state = 1;
    pthread_cond_broadcast(&light_cv);
    while (light_state != 2) pthread_cond_wait(&light_cv, &light_mu);
    pthread_mutex_unlock(&light_mu);
    return NULL;
}

/* Only cached-size pairs after a burst: every allocation is served from the thread's bins, no
 * arena operation at all, yet the frees' countdown reads the clock and the due ticks run (the idle
 * holder's arena's too): resident memory goes back within two decay periods, thread or not. */
static void light_traffic(int remote) {
    for (int i = 0; i < 2000; i++) ta_free(ta_malloc(64));   /* the bin is set up: pairs stay in it */
    sleep_ms(1500);
    size_t start = proc_resident_bytes();
    light_state = 0;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, light_holder, remote ? &light_state : NULL), 0);
    pthread_mutex_lock(&light_mu);
    while (light_state != 1) pthread_cond_wait(&light_cv, &light_mu);
    pthread_mutex_unlock(&light_mu);
    if (remote)
        for (int i = 0; i < LIGHT_N; i++) ta_free(light_blocks[i]);
    size_t freed = proc_resident_bytes(), now = freed;
    ta_stats s0, s1;
    ta_get_stats(&s0);
    int ms = 0;
    for (; ms < 2000 && now >= start + 8 * MIB; ms += 10) {   /* 2 decay periods of light traffic */
        for (int k = 0; k < 20; k++) {
            volatile char *q = ta_malloc(64);
            q[0] = (char)k;
            ta_free((void *)q);
        }
        sleep_ms(10);
        now = proc_resident_bytes();
    }
    ta_get_stats(&s1);
    print_message("light traffic (background %s): resident %zu KiB at start, %zu KiB after %s freed 64 MiB, "
                  "%zu KiB after %d ms of cached pairs; arena searches during them: %zu\n",
                  background_env() ? "on" : "off", start >> 10, freed >> 10,
                  remote ? "the main thread (remote frees to the idle holder)" : "the holder", now >> 10, ms,
                  s1.searches - s0.searches);
    assert_true(freed > start + 48 * MIB);
    assert_int_equal(s1.searches, s0.searches);   /* the pairs never reached an arena */
    assert_true(now < start + 8 * MIB);
    pthread_mutex_lock(&light_mu);
    light_state = 2;
    pthread_cond_broadcast(&light_cv);
    pthread_mutex_unlock(&light_mu);
    pthread_join(t, NULL);
    assert_int_equal(ta_check(), 0);
}

static void test_light_traffic_after_burst(void **state) {
    (void)state;
    light_traffic(0);
}

/* The same when the 64 MiB is freed by another thread: the frees wait in the idle holder's remote
 * queue, which the tick of its idle arena drains before it gives pages back. */
static void test_light_traffic_after_remote_frees(void **state) {
    (void)state;
    light_traffic(1);
}

/* ---- the call ------------------------------------------------------------------------------- */

static void test_background_call(void **state) {
    (void)state;
    assert_int_equal(ta_background(2), EINVAL);
    assert_int_equal(ta_background(-1), EINVAL);
    assert_int_equal(ta_background(0), 0);
    int base = thread_count();
    assert_true(base >= 1);
    ta_stats s0, s1, s2;
    ta_get_stats(&s0);
    assert_int_equal(ta_background(1), 0);
    assert_int_equal(thread_count(), base + 1);
    assert_int_equal(ta_background(1), 0);   /* already running: still one */
    assert_int_equal(thread_count(), base + 1);
    sleep_ms(700);   /* rounds every 250 ms at the default decay time */
    ta_get_stats(&s1);
    assert_true(s1.background_rounds >= s0.background_rounds + 2);
    assert_int_equal(ta_background(0), 0);
    assert_int_equal(thread_count(), base);
    ta_get_stats(&s1);
    sleep_ms(600);
    ta_get_stats(&s2);
    assert_int_equal(s2.background_rounds, s1.background_rounds);   /* stopped: no more rounds */
    assert_int_equal(ta_background(1), 0);   /* and again */
    assert_int_equal(thread_count(), base + 1);
    if (!background_env()) assert_int_equal(ta_background(0), 0);
}

/* ---- fork ----------------------------------------------------------------------------------- */

static void test_fork_child_has_none(void **state) {
    (void)state;
    assert_int_equal(ta_background(1), 0);
    void *keep = ta_malloc(3000);
    assert_non_null(keep);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int ok = thread_count() == 1;               /* the forking thread only */
        void *p = ta_malloc(100000);
        ok = ok && p != NULL;
        ta_free(p);
        ok = ok && ta_background(1) == 0 && thread_count() == 2;   /* its own, when asked */
        sleep_ms(300);
        ok = ok && ta_background(0) == 0 && thread_count() == 1;
        ok = ok && ta_check() == 0;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    ta_free(keep);
    if (!background_env()) assert_int_equal(ta_background(0), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_after_burst),
        cmocka_unit_test(test_light_traffic_after_burst),
        cmocka_unit_test(test_light_traffic_after_remote_frees),
        cmocka_unit_test(test_background_call),
        cmocka_unit_test(test_fork_child_has_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
