/* Workload 1, server simulation in the style of the Larson benchmark: a shared pool of block
 * slots, cut into chunks; a thread takes a chunk, repeatedly frees a random slot of it and refills
 * the slot with a block of random size (16..1000 bytes), then hands the chunk back. Chunks pass
 * from thread to thread, so most frees are of blocks another thread allocated.
 * Usage: larson THREADS SCALE — SCALE thousand free+malloc rounds per thread.
 * Determinism: each chunk has its own RNG and a fixed budget of rounds, so its sequence of sizes
 * and stamps, and thus the checksum, depends only on THREADS and SCALE, not on which thread ran
 * which piece of it. */
#include "bench/common.h"

#include <sched.h>

#define SLOTS 1000 /* block slots per chunk */
#define PIECE 500  /* rounds a thread does on a chunk before handing it on */
#define MIN_SIZE 16
#define MAX_SIZE 1000

typedef struct {
    void *p[SLOTS];        /* the blocks */
    uint32_t size[SLOTS];  /* their requested sizes */
    uint64_t val[SLOTS];   /* their stamps */
    bench_rng rng;         /* this chunk's own sequence */
    long left;             /* rounds still to do */
} chunk;

typedef struct {
    int id;            /* thread index */
    uint64_t sum;      /* checksum of the stamps this thread verified */
    uint64_t bad;      /* stamps found wrong */
} worker;

static chunk **g_chunks;       /* 2 per thread */
static int g_nchunks;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int *g_queue;           /* FIFO ring of chunk indices ready to run */
static int g_head, g_count;    /* ring head and length */

static void slot_fill(chunk *c, int j) {
    size_t n = bench_range(&c->rng, MIN_SIZE, MAX_SIZE);
    uint64_t v = bench_next(&c->rng);
    c->p[j] = bench_xmalloc(n);
    c->size[j] = (uint32_t)n;
    c->val[j] = v;
    bench_stamp(c->p[j], n, v);
}

static void slot_drop(chunk *c, int j, worker *w) {
    if (bench_stamp_ok(c->p[j], c->size[j], c->val[j]))
        w->sum += bench_mix(c->val[j]);
    else
        w->bad++;
    free(c->p[j]);
}

/* Takes the next ready chunk, or returns -1 when every chunk has finished its budget. */
static int chunk_take(void) {
    for (;;) {
        pthread_mutex_lock(&g_lock);
        if (g_count > 0) {
            int i = g_queue[g_head];
            g_head = (g_head + 1) % g_nchunks;
            g_count--;
            pthread_mutex_unlock(&g_lock);
            return i;
        }
        int done = 1;
        for (int i = 0; i < g_nchunks; i++)
            done &= g_chunks[i]->left == 0;
        pthread_mutex_unlock(&g_lock);
        if (done)
            return -1;
        sched_yield(); /* every ready chunk is being run by another thread */
    }
}

static void chunk_give(int i) {
    pthread_mutex_lock(&g_lock);
    g_queue[(g_head + g_count) % g_nchunks] = i;
    g_count++;
    pthread_mutex_unlock(&g_lock);
}

static void *work(void *arg) {
    worker *w = arg;
    /* Each thread fills its own two chunks before the clock starts. */
    for (int k = 0; k < 2; k++) {
        chunk *c = g_chunks[2 * w->id + k];
        for (int j = 0; j < SLOTS; j++)
            slot_fill(c, j);
    }
    bench_start_wait();
    bench_clock_start();
    int i;
    while ((i = chunk_take()) >= 0) {
        chunk *c = g_chunks[i];
        long n = c->left < PIECE ? c->left : PIECE;
        for (long r = 0; r < n; r++) {
            int j = (int)(bench_next(&c->rng) % SLOTS);
            slot_drop(c, j, w);
            slot_fill(c, j);
        }
        pthread_mutex_lock(&g_lock);
        c->left -= n;
        int more = c->left > 0;
        pthread_mutex_unlock(&g_lock);
        if (more)
            chunk_give(i);
    }
    bench_clock_stop();
    return NULL;
}

int main(int argc, char **argv) {
    int threads;
    long scale;
    bench_args(argc, argv, "THREADS SCALE(thousand rounds per thread)", &threads, &scale);
    g_nchunks = 2 * threads;
    g_chunks = bench_xmalloc(sizeof(chunk *) * (size_t)g_nchunks);
    g_queue = bench_xmalloc(sizeof(int) * (size_t)g_nchunks);
    long per_chunk = scale * 1000 / 2; /* two chunks' worth of rounds per thread */
    for (int i = 0; i < g_nchunks; i++) {
        g_chunks[i] = bench_xmalloc(sizeof(chunk));
        g_chunks[i]->rng.s = 0x1a2b3c4dull * (uint64_t)(i + 1);
        g_chunks[i]->left = per_chunk;
        g_queue[i] = i;
    }
    g_count = g_nchunks;
    worker *ws = calloc((size_t)threads, sizeof(worker));
    for (int i = 0; i < threads; i++)
        ws[i].id = i;
    double secs = bench_run_threads(threads, work, ws, sizeof *ws);

    worker fin = {0};
    for (int i = 0; i < g_nchunks; i++)
        for (int j = 0; j < SLOTS; j++)
            slot_drop(g_chunks[i], j, &fin);
    uint64_t sum = fin.sum, bad = fin.bad;
    for (int i = 0; i < threads; i++) {
        sum += ws[i].sum;
        bad += ws[i].bad;
    }
    uint64_t ops = 2 * (uint64_t)per_chunk * (uint64_t)g_nchunks; /* one free + one malloc each */
    char extra[64];
    snprintf(extra, sizeof extra, "bad=%" PRIu64, bad);
    for (int i = 0; i < g_nchunks; i++)
        free(g_chunks[i]);
    free(g_chunks);
    free(g_queue);
    free(ws);
    bench_report_freed("larson", threads, ops, secs, sum, bad == 0, extra); /* all freed */
    return bad == 0 ? 0 : 1;
}
