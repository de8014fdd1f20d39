/* Workload 2, producer/consumer in the style of xmalloc-test: producer threads only allocate
 * (blocks of 16..512 bytes, in batches of BATCH), consumer threads only free what they receive,
 * so every free of a block is cross-thread. A bounded queue (QUEUE_MAX batches) keeps the memory
 * in flight small.
 * Usage: xmalloc THREADS SCALE — THREADS/2 producers and THREADS/2 consumers (THREADS=1 runs one of
 * each, the smallest pair); each producer makes SCALE thousand blocks.
 * Determinism: each producer has its own RNG and a fixed block count, and the checksum is a sum,
 * so it does not depend on which consumer freed which batch. */
#include "bench/common.h"

#define BATCH 256
#define QUEUE_MAX 64
#define MIN_SIZE 16
#define MAX_SIZE 512

typedef struct batch {
    struct batch *next;    /* queue link */
    int n;                 /* blocks in this batch */
    void *p[BATCH];        /* the blocks */
    uint32_t size[BATCH];  /* their sizes */
    uint64_t val[BATCH];   /* their stamps */
} batch;

typedef struct {
    int id;        /* producer index, or -1 for a consumer */
    long blocks;   /* producer: blocks to make */
    uint64_t sum;  /* consumer: checksum of verified stamps */
    uint64_t bad;  /* consumer: wrong stamps */
    uint64_t got;  /* consumer: blocks freed */
} worker;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t g_not_full = PTHREAD_COND_INITIALIZER;
static batch *g_head, *g_tail; /* FIFO of full batches */
static int g_len;              /* batches queued */
static int g_producers_left;   /* producers not yet finished */

static void *produce(worker *w) {
    bench_rng rng = {0x5eed0000ull + (uint64_t)w->id * 7919};
    long left = w->blocks;
    while (left > 0) {
        batch *b = bench_xmalloc(sizeof(batch));
        b->next = NULL;
        b->n = left < BATCH ? (int)left : BATCH;
        for (int i = 0; i < b->n; i++) {
            size_t n = bench_range(&rng, MIN_SIZE, MAX_SIZE);
            b->val[i] = bench_next(&rng);
            b->size[i] = (uint32_t)n;
            b->p[i] = bench_xmalloc(n);
            bench_stamp(b->p[i], n, b->val[i]);
        }
        left -= b->n;
        pthread_mutex_lock(&g_lock);
        while (g_len >= QUEUE_MAX)
            pthread_cond_wait(&g_not_full, &g_lock);
        if (g_tail)
            g_tail->next = b;
        else
            g_head = b;
        g_tail = b;
        g_len++;
        pthread_cond_signal(&g_not_empty);
        pthread_mutex_unlock(&g_lock);
    }
    pthread_mutex_lock(&g_lock);
    if (--g_producers_left == 0)
        pthread_cond_broadcast(&g_not_empty);
    pthread_mutex_unlock(&g_lock);
    return NULL;
}

static void *consume(worker *w) {
    for (;;) {
        pthread_mutex_lock(&g_lock);
        while (g_len == 0 && g_producers_left > 0)
            pthread_cond_wait(&g_not_empty, &g_lock);
        if (g_len == 0) {
            pthread_mutex_unlock(&g_lock);
            return NULL;
        }
        batch *b = g_head;
        g_head = b->next;
        if (!g_head)
            g_tail = NULL;
        g_len--;
        pthread_cond_signal(&g_not_full);
        pthread_mutex_unlock(&g_lock);
        for (int i = 0; i < b->n; i++) {
            if (bench_stamp_ok(b->p[i], b->size[i], b->val[i]))
                w->sum += bench_mix(b->val[i]);
            else
                w->bad++;
            free(b->p[i]);
        }
        w->got += (uint64_t)b->n;
        free(b);
    }
}

static void *work(void *arg) {
    worker *w = arg;
    bench_start_wait();
    bench_clock_start();
    void *r = w->id >= 0 ? produce(w) : consume(w);
    bench_clock_stop();
    return r;
}

int main(int argc, char **argv) {
    int threads;
    long scale;
    bench_args(argc, argv, "THREADS SCALE(thousand blocks per producer)", &threads, &scale);
    int np = threads < 2 ? 1 : threads / 2;
    int nc = threads < 2 ? 1 : threads - np;
    int n = np + nc;
    worker *ws = calloc((size_t)n, sizeof(worker));
    for (int i = 0; i < n; i++) {
        ws[i].id = i < np ? i : -1;
        ws[i].blocks = scale * 1000;
    }
    g_producers_left = np;
    double secs = bench_run_threads(n, work, ws, sizeof *ws);

    uint64_t sum = 0, bad = 0, got = 0;
    for (int i = np; i < n; i++) {
        sum += ws[i].sum;
        bad += ws[i].bad;
        got += ws[i].got;
    }
    uint64_t blocks = (uint64_t)np * (uint64_t)scale * 1000;
    int ok = bad == 0 && got == blocks;
    char extra[96];
    snprintf(extra, sizeof extra, "producers=%d consumers=%d bad=%" PRIu64 " freed=%" PRIu64, np, nc,
             bad, got);
    /* ops: one malloc and one free per block */
    free(ws); /* the consumers freed every block and batch */
    bench_report_freed("xmalloc", threads, 2 * blocks, secs, sum, ok, extra);
    return ok ? 0 : 1;
}
