/* oversubscribed.c - more threads than arenas: 8 threads on TAMALLOC_ARENAS=2 (and, in the _arenas1
 * variant, all 8 on one arena). Threads sharing an arena contend for its lock and free each other's
 * blocks locally; threads on different arenas free them remotely. Blocks move between threads
 * through shared slots swapped with atomic exchange.
 * Required: the configured count is what TAMALLOC_ARENAS says; once all 8 threads have allocated,
 * the arenas' live-thread counts add up to 8 and every configured arena is in use (assignment
 * prefers an arena with no live thread); ta_get_stats().arenas never exceeds the configured count
 * (sampled by every thread as it runs); then the closing invariant. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "stress/harness.h"

enum { THREADS = 8, SLOTS = 256, LOCAL = 32, OPS_PER_THREAD = 100000, SAMPLE_EVERY = 1024 };

static _Atomic(void *) shared[SLOTS];
static pthread_barrier_t all_assigned, checked;
static size_t ops_per_thread, configured;

static size_t pick_size(rng *r) {
    return rng_below(r, 200) == 0 ? stress_size(r, STRESS_LARGE_MIN, 256 * 1024) : stress_size(r, 16, 4096);
}

static void check_arenas_in_use(void) {
    ta_arena_stats as;
    size_t threads = 0, in_use = 0;
    for (unsigned i = 0; ta_get_arena_stats(i, &as); i++) {
        threads += as.threads;
        in_use += (size_t)as.in_use;
    }
    ta_stats s;
    ta_get_stats(&s);
    STRESS_REQUIRE(threads == THREADS, "with %d threads assigned, the arenas count %zu live threads", THREADS, threads);
    STRESS_REQUIRE(s.arenas == in_use && in_use == configured,
                   "%d threads on %zu arenas: %zu arenas in use (stats say %zu); assignment should fill every arena",
                   THREADS, configured, in_use, s.arenas);
}

static void run(unsigned me, void *arg) {
    (void)arg;
    rng r = stress_rng(me);
    uint64_t seq = 0;
    size_t ops = 0, cross = 0;
    void *local[LOCAL] = {0};
    local[0] = stress_obj_new(pick_size(&r), stress_tag(me, seq++));   /* assigns this thread's arena */
    ops++;
    pthread_barrier_wait(&all_assigned);
    if (me == 0) check_arenas_in_use();
    pthread_barrier_wait(&checked);

    for (size_t i = 0; i < ops_per_thread; i++) {
        unsigned l = (unsigned)rng_below(&r, LOCAL);
        void *drop = NULL;
        if (rng_below(&r, 2)) {          /* replace a local block */
            drop = local[l];
            local[l] = stress_obj_new(pick_size(&r), stress_tag(me, seq++));
        } else if (local[l]) {           /* trade a local block for whatever a shared slot holds */
            drop = atomic_exchange(&shared[rng_below(&r, SLOTS)], local[l]);
            local[l] = NULL;
        }
        if (drop) {
            if (stress_tag_thread(stress_obj_free(drop, "before free in oversubscribed")) != me) cross++;
            ops++;
        }
        ops++;
        if (i % SAMPLE_EVERY == 0) {
            ta_stats s;
            ta_get_stats(&s);
            STRESS_REQUIRE(s.arenas <= configured, "%zu arenas in use, %zu configured", s.arenas, configured);
        }
    }
    for (unsigned i = 0; i < LOCAL; i++)
        if (local[i]) { stress_obj_free(local[i], "before a final free"); ops++; }
    stress_count_ops(ops);
    stress_count_cross(cross);
}

int main(void) {
    stress_begin("oversubscribed", 0x0e125bULL);
    ops_per_thread = stress_ops(OPS_PER_THREAD);
    ta_arena_stats as;
    configured = ta_get_arena_stats(0, &as);
    unsigned env_arenas = stress_env_arenas();
    STRESS_REQUIRE(env_arenas > 0 && env_arenas < THREADS, "run with TAMALLOC_ARENAS below %d (the BUILD sets it)", THREADS);
    STRESS_REQUIRE(configured == env_arenas, "TAMALLOC_ARENAS=%u but %zu arenas configured", env_arenas, configured);
    pthread_barrier_init(&all_assigned, NULL, THREADS);
    pthread_barrier_init(&checked, NULL, THREADS);
    stress_run_threads(THREADS, run, NULL);
    pthread_barrier_destroy(&all_assigned);
    pthread_barrier_destroy(&checked);
    size_t left = 0;
    for (unsigned k = 0; k < SLOTS; k++) {
        void *p = atomic_exchange(&shared[k], NULL);
        if (p) { stress_obj_free(p, "before freeing a shared slot's block"); left++; }
    }
    stress_count_ops(left);
    stress_count_cross(left);
    ta_stats s;
    ta_get_stats(&s);
    STRESS_REQUIRE(s.arenas <= configured, "%zu arenas in use, %zu configured", s.arenas, configured);
    for (unsigned i = 0; ta_get_arena_stats(i, &as); i++)
        printf("oversubscribed: arena %u: lock acquired %zu, contended %zu\n", i, as.lock_acquired, as.lock_contended);
    return stress_end();
}
