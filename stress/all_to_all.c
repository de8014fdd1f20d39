/* all_to_all.c - every thread frees blocks allocated by random other threads, through a shared
 * transfer[] array of pointer slots swapped with atomic exchange (mimalloc's stress pattern). Each
 * thread also keeps a small local working set, so local frees interleave with remote ones.
 * Objects are self-describing (size and tag in their first 16 bytes, pattern after), so a pointer
 * alone carries enough to verify it before the free.
 *
 * Phase 1 fills transfer[] (slot k by thread k % THREADS); after a barrier every thread's first
 * exchange is on a slot outside its own share, which therefore holds another thread's object: a
 * thread only ever puts objects it allocated itself. So every thread is required to have freed at
 * least one object allocated by another thread. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "stress/harness.h"

enum { THREADS = 6, SLOTS = 1024, LOCAL = 64, OPS_PER_THREAD = 120000 };

static _Atomic(void *) transfer[SLOTS];
static pthread_barrier_t filled;
static size_t ops_per_thread;
static atomic_size_t threads_with_foreign_frees;

static size_t pick_size(rng *r) {
    uint64_t roll = rng_below(r, 1000);
    if (roll < 5) return stress_size(r, STRESS_LARGE_MIN, 320 * 1024);
    if (roll < 100) return stress_size(r, 2048, 64 * 1024);
    return stress_size(r, 16, 2048);
}

typedef struct worker { unsigned me; rng r; uint64_t seq; size_t ops, cross; } worker;

static void *new_obj(worker *w) {
    w->ops++;
    return stress_obj_new(pick_size(&w->r), stress_tag(w->me, w->seq++));
}

static void drop(worker *w, void *p) {
    if (!p) return;
    uint64_t tag = stress_obj_free(p, "before free in all_to_all");
    w->ops++;
    if (stress_tag_thread(tag) != w->me) w->cross++;
}

static void run(unsigned me, void *arg) {
    (void)arg;
    worker w = {me, stress_rng(me), 0, 0, 0};
    void *local[LOCAL] = {0};
    for (unsigned k = me; k < SLOTS; k += THREADS) atomic_store(&transfer[k], new_obj(&w));
    pthread_barrier_wait(&filled);

    /* The first exchange, on another thread's share: it must hand back a foreign object. */
    unsigned k = (unsigned)(rng_below(&w.r, SLOTS / THREADS) * THREADS + (me + 1) % THREADS);
    void *got = atomic_exchange(&transfer[k], new_obj(&w));
    STRESS_REQUIRE(got != NULL, "transfer slot %u empty after phase 1", k);
    size_t cross_before = w.cross;
    drop(&w, got);
    STRESS_REQUIRE(w.cross == cross_before + 1, "thread %u's first exchange (slot %u) returned its own object", me, k);

    for (size_t i = 0; i < ops_per_thread; i++) {
        uint64_t roll = rng_below(&w.r, 100);
        unsigned l = (unsigned)rng_below(&w.r, LOCAL);
        if (roll < 35) {            /* replace a local object */
            drop(&w, local[l]);
            local[l] = new_obj(&w);
        } else if (roll < 75) {     /* swap a fresh object into a random transfer slot */
            void *theirs = atomic_exchange(&transfer[rng_below(&w.r, SLOTS)], new_obj(&w));
            if (rng_below(&w.r, 2)) {
                drop(&w, theirs);
            } else {                /* keep it a while; free it later */
                drop(&w, local[l]);
                local[l] = theirs;
            }
        } else {                    /* free a local object */
            drop(&w, local[l]);
            local[l] = NULL;
        }
    }
    for (unsigned i = 0; i < LOCAL; i++) drop(&w, local[i]);
    if (w.cross > 0) atomic_fetch_add(&threads_with_foreign_frees, 1);
    stress_count_ops(w.ops);
    stress_count_cross(w.cross);
}

int main(void) {
    stress_begin("all_to_all", 0xa11a11ULL);
    ops_per_thread = stress_ops(OPS_PER_THREAD);
    pthread_barrier_init(&filled, NULL, THREADS);
    stress_run_threads(THREADS, run, NULL);
    pthread_barrier_destroy(&filled);
    STRESS_REQUIRE(atomic_load(&threads_with_foreign_frees) == THREADS,
                   "only %zu of %d threads freed another thread's object", atomic_load(&threads_with_foreign_frees),
                   THREADS);

    worker w = {THREADS, stress_rng(THREADS), 0, 0, 0};   /* main frees what is left in transfer[] */
    for (unsigned k = 0; k < SLOTS; k++) drop(&w, atomic_exchange(&transfer[k], NULL));
    stress_count_ops(w.ops);
    stress_count_cross(w.cross);
    return stress_end();
}
