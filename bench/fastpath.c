/* Workload 6, the single-thread fast path: malloc/free of small sizes (16..256 bytes), first as
 * immediate pairs, then as LIFO batches of BATCH blocks. With THREADS > 1 every thread runs the
 * same loop on its own, which shows whether the fast path stays thread-local.
 * The loop is the non-inlined function fastpath_loop, so `valgrind --tool=callgrind
 * --toggle-collect=fastpath_loop` counts exactly its instructions (the runner divides by ops).
 * Usage: fastpath THREADS SCALE — SCALE thousand malloc/free pairs per thread (half as pairs,
 * half in batches).
 * Determinism: the checksum sums bytes written into and read back from every block. */
#include "bench/common.h"

#define BATCH 64

static const size_t k_sizes[8] = {16, 24, 32, 48, 64, 96, 128, 256};

typedef struct {
    long pairs;    /* malloc/free pairs to do */
    uint64_t sum;  /* checksum */
} worker;


__attribute__((noinline)) uint64_t fastpath_loop(long pairs) {
    uint64_t sum = 0;
    long half = pairs / 2;
    for (long i = 0; i < half; i++) {
        volatile unsigned char *p = malloc(k_sizes[i & 7]);
        if (!p)
            abort();
        p[0] = (unsigned char)i;
        sum += p[0];
        free((void *)p);
    }
    volatile unsigned char *q[BATCH];
    for (long i = half; i < pairs; i += BATCH) {
        int n = pairs - i < BATCH ? (int)(pairs - i) : BATCH;
        for (int k = 0; k < n; k++) {
            q[k] = malloc(k_sizes[(i + k) & 7]);
            if (!q[k])
                abort();
            q[k][0] = (unsigned char)(k + 1);
        }
        for (int k = n - 1; k >= 0; k--) {
            sum += q[k][0];
            free((void *)q[k]);
        }
    }
    return sum;
}

static void *work(void *arg) {
    worker *w = arg;
    bench_start_wait();
    bench_clock_start();
    w->sum = fastpath_loop(w->pairs);
    bench_clock_stop();
    return NULL;
}

int main(int argc, char **argv) {
    int threads;
    long scale;
    bench_args(argc, argv, "THREADS SCALE(thousand malloc/free pairs per thread)", &threads,
               &scale);
    worker *ws = calloc((size_t)threads, sizeof(worker));
    for (int i = 0; i < threads; i++)
        ws[i].pairs = scale * 1000;
    double secs = bench_run_threads(threads, work, ws, sizeof *ws);

    /* expected: pairs contribute (i mod 256); batches contribute 1..n per batch */
    uint64_t want = 0, sum = 0;
    long pairs = scale * 1000, half = pairs / 2;
    for (long i = 0; i < half; i++)
        want += (unsigned char)i;
    for (long i = half; i < pairs; i += BATCH) {
        long n = pairs - i < BATCH ? pairs - i : BATCH;
        want += (uint64_t)(n * (n + 1) / 2);
    }
    want *= (uint64_t)threads;
    for (int i = 0; i < threads; i++)
        sum += ws[i].sum;
    /* ops: malloc and free calls */
    free(ws);
    bench_report_freed("fastpath", threads, 2 * (uint64_t)threads * (uint64_t)pairs, secs, sum,
                       sum == want, ""); /* all freed */
    return sum == want ? 0 : 1;
}
