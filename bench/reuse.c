/* Workload 9, reuse: the same memory freed and allocated again, round after round, across threads
 * (the purge/re-fault churn of issue 19). In each of ROUNDS rounds every thread allocates its share
 * of SCALE MiB in blocks of 64 B..512 KiB (a power of two 2^6..2^18 times 1..2: the thread caches,
 * the arenas' next-fit and, past the mmap threshold, mapped blocks all serve it) and writes every
 * byte of each; then, after a barrier,
 * thread i frees the odd-numbered blocks of its own and the even-numbered blocks of thread i+1
 * (mod THREADS), so with 2 threads or more half of all frees are cross-thread; then the next round
 * starts. The heap's need goes from SCALE MiB to nothing and back every round: an allocator that
 * gives free pages back to the kernel within a round pays for it again in page faults (kernel time)
 * in the next. The result line's stime_s and minflt (bench/common.h) are what this workload is for.
 * Usage: reuse THREADS SCALE [ROUNDS] — SCALE MiB allocated in all per round; ROUNDS rounds (8).
 * Determinism: the sizes and stamps come from per-(thread, round) RNGs; the checksum is a sum over
 * verified stamps, whatever thread freed a block. */
#include "bench/common.h"

#define ROUNDS 8 /* unless a third argument says */
#define MIN_SHIFT 6
#ifndef MAX_SHIFT
#define MAX_SHIFT 18
#endif

typedef struct {
    void *p;       /* the block, or NULL once freed */
    uint32_t size; /* its size */
    uint64_t v;    /* its stamp */
} blk;

typedef struct {
    int id;         /* thread index */
    size_t share;   /* bytes to allocate per round */
    size_t cap;     /* room in b[] */
    size_t n;       /* blocks allocated this round */
    blk *b;         /* this round's blocks */
    uint64_t calls; /* malloc + free calls */
    uint64_t sum;   /* checksum of verified stamps */
    uint64_t bad;   /* wrong stamps */
} worker;

static worker *g_ws;
static int g_threads, g_rounds = ROUNDS;
static pthread_barrier_t g_phase;

static void fill(worker *w, int round) {
    bench_rng rng = {0x2e05e000ull + (uint64_t)w->id * 7919 + (uint64_t)round * 104729};
    size_t bytes = 0;
    w->n = 0;
    while (bytes < w->share && w->n < w->cap) {
        size_t sz = (size_t)1 << bench_range(&rng, MIN_SHIFT, MAX_SHIFT);
        sz += bench_range(&rng, 0, sz);
        uint64_t v = bench_next(&rng);
        void *p = bench_xmalloc(sz);
        memset(p, (int)(v & 0xff), sz); /* every page of the block is touched */
        bench_stamp(p, sz, v);
        w->b[w->n++] = (blk){p, (uint32_t)sz, v};
        bytes += sz;
    }
    w->calls += w->n;
}

static void drop(worker *w, worker *from, size_t parity) {
    for (size_t i = parity; i < from->n; i += 2) {
        blk *k = &from->b[i];
        if (bench_stamp_ok(k->p, k->size, k->v))
            w->sum += bench_mix(k->v);
        else
            w->bad++;
        free(k->p);
        k->p = NULL;
        w->calls++;
    }
}

static void *work(void *arg) {
    worker *w = arg;
    worker *next = &g_ws[(w->id + 1) % g_threads];
    bench_start_wait();
    bench_clock_start();
    for (int r = 0; r < g_rounds; r++) {
        fill(w, r);
        pthread_barrier_wait(&g_phase);
        drop(w, w, 1);    /* own odd blocks */
        drop(w, next, 0); /* the next thread's even blocks (its own with one thread) */
        pthread_barrier_wait(&g_phase);
    }
    bench_clock_stop();
    return NULL;
}

int main(int argc, char **argv) {
    int threads;
    long scale;
    bench_args(argc, argv, "THREADS SCALE(MiB allocated per round, in all)", &threads, &scale);
    g_threads = threads;
    if (argc > 3 && (g_rounds = atoi(argv[3])) < 1) {
        fprintf(stderr, "reuse: bad round count '%s'\n", argv[3]);
        return 2;
    }
    g_ws = calloc((size_t)threads, sizeof(worker));
    if (!g_ws) {
        fprintf(stderr, "reuse: out of memory\n");
        return 3;
    }
    size_t share = ((size_t)scale << 20) / (size_t)threads;
    for (int i = 0; i < threads; i++) {
        g_ws[i].id = i;
        g_ws[i].share = share;
        /* the mean block is tens of KiB: room for a mean of 1 KiB is never reached */
        g_ws[i].cap = share / 1024 + 1024;
        g_ws[i].b = bench_xmalloc(g_ws[i].cap * sizeof(blk));
    }
    pthread_barrier_init(&g_phase, NULL, (unsigned)threads);
    double secs = bench_run_threads(threads, work, g_ws, sizeof *g_ws);

    uint64_t sum = 0, bad = 0, calls = 0, left = 0;
    for (int i = 0; i < threads; i++) {
        sum += g_ws[i].sum;
        bad += g_ws[i].bad;
        calls += g_ws[i].calls;
        for (size_t k = 0; k < g_ws[i].n; k++)
            left += g_ws[i].b[k].p != NULL;
    }
    int ok = bad == 0 && left == 0;
    char extra[96];
    snprintf(extra, sizeof extra, "rounds=%d bad=%" PRIu64 " left=%" PRIu64, g_rounds, bad, left);
    for (int i = 0; i < threads; i++)
        free(g_ws[i].b);
    free(g_ws);
    bench_report_freed("reuse", threads, calls, secs, sum, ok, extra);
    return ok ? 0 : 1;
}
