/* Workload 10, batches of one size: each thread allocates N blocks of one size, writes each, then
 * frees them in the order it allocated them (first in, first out), for every N of 16, 256 and 4096
 * and every size of 16, 64, 256, 1024 and 4096 bytes: the shape of a program that builds a batch of
 * objects (a request's, a frame's) and drops it whole (issue 20). The small sizes are the thread
 * caches' (refill and flush in batches), 4096 bytes is past them (the arena's next-fit on every call).
 * With THREADS > 1 every thread runs the same loop on its own.
 * The loop is the non-inlined function batch_loop, so `valgrind --tool=callgrind
 * --toggle-collect=batch_loop` counts exactly its instructions.
 * Usage: batch THREADS SCALE — SCALE thousand malloc/free pairs per thread, split evenly over the 15
 * (N, size) cells (whole batches: each cell gets at least one).
 * Determinism: the checksum sums a byte written into and read back from every block. */
#include "bench/common.h"

#define NCOUNTS 3
#define NSIZES 5
#define MAX_N 4096

static const long k_counts[NCOUNTS] = {16, 256, 4096};
static const size_t k_sizes[NSIZES] = {16, 64, 256, 1024, 4096};

typedef struct {
    long pairs;     /* malloc/free pairs to do */
    uint64_t sum;   /* checksum */
    uint64_t done;  /* pairs done */
} worker;

/* Batches of n blocks of size bytes until `pairs` pairs are done (at least one batch). */
__attribute__((noinline)) uint64_t batch_loop(long n, size_t size, long pairs, uint64_t *done) {
    static __thread volatile unsigned char *q[MAX_N];
    uint64_t sum = 0;
    long rounds = pairs / n > 0 ? pairs / n : 1;
    for (long r = 0; r < rounds; r++) {
        for (long k = 0; k < n; k++) {
            q[k] = malloc(size);
            if (!q[k])
                abort();
            q[k][0] = (unsigned char)(k + r);
        }
        for (long k = 0; k < n; k++) {
            sum += q[k][0];
            free((void *)q[k]);
        }
    }
    *done += (uint64_t)(rounds * n);
    return sum;
}

static void *work(void *arg) {
    worker *w = arg;
    long per_cell = w->pairs / (NCOUNTS * NSIZES);
    bench_start_wait();
    bench_clock_start();
    for (int c = 0; c < NCOUNTS; c++)
        for (int s = 0; s < NSIZES; s++)
            w->sum += batch_loop(k_counts[c], k_sizes[s], per_cell, &w->done);
    bench_clock_stop();
    return NULL;
}

int main(int argc, char **argv) {
    int threads;
    long scale;
    bench_args(argc, argv, "THREADS SCALE(thousand malloc/free pairs per thread)", &threads,
               &scale);
    worker *ws = calloc((size_t)threads, sizeof(worker));
    if (!ws) {
        fprintf(stderr, "batch: out of memory\n");
        return 3;
    }
    for (int i = 0; i < threads; i++)
        ws[i].pairs = scale * 1000;
    double secs = bench_run_threads(threads, work, ws, sizeof *ws);

    /* expected: in round r of a cell, block k contributes (k + r) mod 256 */
    uint64_t want = 0, pairs_each = 0;
    long per_cell = scale * 1000 / (NCOUNTS * NSIZES);
    for (int c = 0; c < NCOUNTS; c++) {
        long n = k_counts[c], rounds = per_cell / n > 0 ? per_cell / n : 1;
        for (long r = 0; r < rounds; r++)
            for (long k = 0; k < n; k++)
                want += (unsigned char)(k + r);
        pairs_each += (uint64_t)(rounds * n);
    }
    want *= NSIZES;
    pairs_each *= NSIZES;
    uint64_t sum = 0, done = 0;
    for (int i = 0; i < threads; i++) {
        sum += ws[i].sum;
        done += ws[i].done;
    }
    want *= (uint64_t)threads;
    int ok = sum == want && done == pairs_each * (uint64_t)threads;
    free(ws);
    char extra[64];
    snprintf(extra, sizeof extra, "pairs=%" PRIu64, done);
    /* ops: malloc and free calls */
    bench_report_freed("batch", threads, 2 * done, secs, sum, ok, extra);
    return ok ? 0 : 1;
}
