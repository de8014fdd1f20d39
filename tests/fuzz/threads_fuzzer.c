/* threads_fuzzer.c - libFuzzer target: the operations of fuzz_model.h spread over 3 worker threads
 * in lock-step. Each step names the thread that performs it (a handshake under one mutex makes
 * exactly one thread run at a time, so a run is deterministic and the shared model needs no other
 * locking); a block allocated by one thread and freed by another goes through the owner arena's
 * real remote-free queue. A step may also end a worker (its thread-exit hook runs; blocks of its
 * arena freed later find the arena without a live thread) and start a fresh one in its place.
 *
 * Checked beyond the model's per-operation checks (pattern, ta_check() == 0 after every step):
 *  - every free of a block whose arena is not the freeing thread's increments exactly that arena's
 *    remote_pushed, and a local free does not; a push to an arena with no live thread leaves
 *    nothing pending (the pusher drains it);
 *  - at the end the main thread frees what is left (all remote), ta_collect() drains every queue:
 *    ta_check() == 0, allocated back to its value at the start, no arena with remote frees pending.
 * Uses internals (//alloc:core) only to find a block's owner arena and the thread's own arena. */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "alloc/arena_table.h"
#include "alloc/segmap.h"
#include "alloc/segment.h"
#include "tamalloc.h"
#include "tests/fuzz/fuzz_model.h"

#define NT 3

static fz_model model;

/* ---- lock-step workers ------------------------------------------------------------------------ */

enum job_kind { JOB_NONE, JOB_OP, JOB_EXIT, JOB_COLLECT };
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct {
    int target;           /* worker index, -1 when idle */
    enum job_kind kind;
    enum fz_op op;
    fz_in *in;
    int done;
} job = {-1, JOB_NONE, 0, NULL, 0};
static pthread_t workers[NT];
static int started;

static void *worker_main(void *arg) {
    int me = (int)(intptr_t)arg;
    pthread_mutex_lock(&mu);
    for (;;) {
        while (job.target != me || job.done) pthread_cond_wait(&cv, &mu);
        if (job.kind == JOB_EXIT) {
            job.done = 1;
            pthread_cond_broadcast(&cv);
            pthread_mutex_unlock(&mu);
            return NULL;
        }
        pthread_mutex_unlock(&mu);
        if (job.kind == JOB_COLLECT) ta_collect();   /* flushes this worker's own cache and batches */
        else fz_do(&model, job.op, job.in);
        pthread_mutex_lock(&mu);
        job.done = 1;
        pthread_cond_broadcast(&cv);
    }
}

static void worker_start(int t) {
    if (pthread_create(&workers[t], NULL, worker_main, (void *)(intptr_t)t) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        abort();
    }
}

/* Hands a job to worker t and waits until it is done. */
static void run_on(int t, enum job_kind kind, enum fz_op op, fz_in *in) {
    pthread_mutex_lock(&mu);
    job.target = t;
    job.kind = kind;
    job.op = op;
    job.in = in;
    job.done = 0;
    pthread_cond_broadcast(&cv);
    while (!job.done) pthread_cond_wait(&cv, &mu);
    job.target = -1;
    pthread_mutex_unlock(&mu);
}

static void worker_restart(int t) {
    run_on(t, JOB_EXIT, 0, NULL);
    pthread_join(workers[t], NULL);
    worker_start(t);
}

/* ---- the remote-free check -------------------------------------------------------------------- */

static struct {
    int segment;              /* the block is in an arena segment (not a large mapping) */
    unsigned owner;           /* its arena's index */
    int remote;               /* owner is not the freeing thread's arena */
    int ownerless;            /* no live thread held the owner arena before the free */
    size_t pushed;            /* owner's remote_pushed + remote_batched before the free */
} pending_free;
static size_t remote_frees, ownerless_frees;

static void remote_hook(fz_model *m, void *p, int phase) {
    ta_arena_stats as;
    if (phase == 0) {
        ta_span *sp = ta_segmap_lookup(p);
        FZ_REQUIRE(m, sp != NULL, "live block %p is not in any tamalloc mapping", p);
        pending_free.segment = sp->kind == TA_SPAN_SEGMENT;
        if (!pending_free.segment) return;
        struct ta_arena *owner = ((ta_segment *)sp)->arena;
        pending_free.owner = owner->index;
        pending_free.remote = owner != ta_arena_mine();
        FZ_REQUIRE(m, ta_get_arena_stats(owner->index, &as) != 0, "arena %u out of range", owner->index);
        pending_free.pushed = as.remote_pushed + as.remote_batched;
        pending_free.ownerless = as.threads == 0;
        return;
    }
    if (!pending_free.segment) return;
    ta_get_arena_stats(pending_free.owner, &as);
    /* a remote free is pushed at once or batched in this thread's cache (pushed with its batch) */
    FZ_REQUIRE(m, as.remote_pushed + as.remote_batched == pending_free.pushed + (size_t)pending_free.remote,
               "free of %p (arena %u, %s): remote_pushed + remote_batched went from %zu to %zu", p, pending_free.owner,
               pending_free.remote ? "remote" : "local", pending_free.pushed, as.remote_pushed + as.remote_batched);
    if (pending_free.remote) {
        remote_frees++;
        if (pending_free.ownerless && as.threads == 0) {
            ownerless_frees++;
            FZ_REQUIRE(m, as.remote_pending == 0, "push to arena %u with no live thread left %zu pending",
                       pending_free.owner, as.remote_pending);
        }
    }
}

/* ---- the target ------------------------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!started) {
        for (int t = 0; t < NT; t++) worker_start(t);
        started = 1;
    }
    fz_model_init(&model, 0);
    model.on_free = remote_hook;
    ta_stats st;
    ta_get_stats(&st);
    size_t baseline = st.allocated;

    fz_in in = {data, size, 0};
    while (fz_more(&in)) {
        uint8_t c = fz_u8(&in);
        int t = c % NT;
        if (c >= 0xf6) {   /* 10 of 256: worker t exits, a fresh thread replaces it */
            worker_restart(t);
            continue;
        }
        run_on(t, JOB_OP, fz_op_of(fz_u8(&in)), &in);
    }

    /* The main thread frees the rest (remote frees to the workers' arenas); every worker pushes the
     * frees its cache batched for other arenas, then the main thread drains all. */
    for (unsigned i = 0; i < FZ_SLOTS; i++) fz_release(&model, i);
    for (int t = 0; t < NT; t++) run_on(t, JOB_COLLECT, 0, NULL);
    ta_collect();
    fz_check_heap(&model, "after the final ta_collect");
    ta_get_stats(&st);
    FZ_REQUIRE(&model, st.allocated == baseline, "allocated %zu after freeing everything, %zu before",
               st.allocated, baseline);
    ta_arena_stats as;
    unsigned n = (unsigned)ta_get_arena_stats(0, &as);
    for (unsigned a = 0; a < n; a++) {
        ta_get_arena_stats(a, &as);
        FZ_REQUIRE(&model, as.remote_pending == 0, "arena %u: %zu remote frees pending after ta_collect",
                   a, as.remote_pending);
    }
    return 0;
}

/* Replay (bazel test): with more than one arena, the run must have sent frees through the queue. */
void fz_replay_done(size_t corpus_files, size_t random_inputs) {
    ta_arena_stats as;
    size_t arenas = ta_get_arena_stats(0, &as);
    printf("threads_fuzzer: %zu remote frees checked (%zu to arenas without a live thread), %zu arenas\n",
           remote_frees, ownerless_frees, arenas);
    if (arenas > 1 && remote_frees == 0) {
        fprintf(stderr, "FAIL: no free went through a remote queue\n");
        abort();
    }
}
