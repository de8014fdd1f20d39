/* Workload 8, growing entries: like a server whose entries grow, each thread, in phases separated
 * by barriers,
 *   1. allocates small blocks of 16..256 bytes up to its share of SCALE MiB of live bytes;
 *   2. frees every other one (the holes cannot coalesce: their neighbours stay live);
 *   3. for each size class in turn, 1..2 KiB, 2..4 KiB, 4..8 KiB, 8..16 KiB and 16..32 KiB:
 *      allocates blocks of that class until its live bytes are back at its share, then frees every
 *      other block of that class (more holes, each too small for the next class);
 *   4. frees everything.
 * An allocator that searches its free blocks one by one meets, at every allocation of phase 3,
 * the growing crowd of holes left by phases 2 and 3, none of which fits; the work per allocation
 * should not grow with the heap. It reports, as frag does, peak RSS (from the OS) against peak
 * live bytes (from the program's own counts, taken at the end of phase 1 and of each class's
 * allocations, where live bytes peak). peak_rss_kb includes the program's baseline (base_rss_kb,
 * measured before phase 1); overhead_pct is (peak_rss - base_rss - peak_live) / peak_live.
 * At each of those phase ends the main thread, with the workers parked at a barrier, samples the
 * allocator's free-block count (bench_ta_sample: tamalloc only, for the result line's
 * free_blocks_peak).
 * Usage: grow THREADS SCALE — SCALE MiB of live bytes in all (split between threads).
 * Determinism: per-thread RNGs; block counts depend only on sizes drawn. */
#include "bench/blocklist.h"

#include <stdatomic.h>

#define SMALL_LO 16
#define SMALL_HI 256
#define CLASSES 5       /* 1..2 KiB up to 16..32 KiB */
#define CLASS_LO 1024   /* the first class's smallest block; each class doubles */
#define PEAKS (1 + CLASSES)

typedef struct {
    int id;          /* thread index */
    size_t share;    /* live bytes to reach in phase 1 and at each class */
    bench_tally t;   /* calls, checksum, wrong stamps */
} worker;

static pthread_barrier_t g_phase;
static _Atomic uint64_t g_live[PEAKS]; /* live bytes summed at the end of phase 1 and each class */


/* Frees the blocks of l at first, first + 2, first + 4, ... */
static void drop_every_other(worker *w, bench_list *l, size_t first, size_t *live) {
    for (size_t i = first; i < l->n; i += 2)
        bench_list_drop(&w->t, l, i, live);
}

/* End of a phase where live bytes peak: adds them to g_live[k], then waits at two barriers with
 * the other workers and the main thread, which samples the heap between the two. */
static void phase_end(int k, size_t live) {
    atomic_fetch_add(&g_live[k], live);
    pthread_barrier_wait(&g_phase);
    pthread_barrier_wait(&g_phase);
}

static void *work(void *arg) {
    worker *w = arg;
    bench_rng rng = {0x6a09e667ull * (uint64_t)(w->id + 1)};
    bench_list small, cls[CLASSES];
    uint64_t seed = (uint64_t)w->id << 40;
    /* capacities: phase 1's mean block is 136 bytes (a 2x margin: far beyond the drawing's
     * spread); a class allocates at most share + hi bytes in blocks of at least lo bytes */
    bench_list_init(&small, w->share / 68 + 64, seed);
    for (int k = 0; k < CLASSES; k++)
        bench_list_init(&cls[k], w->share / ((size_t)CLASS_LO << k) + 64,
                  seed | (uint64_t)(k + 1) << 36);
    size_t live = 0;
    pthread_barrier_wait(&g_phase); /* start */
    bench_clock_start();

    bench_list_fill(&w->t, &rng, &small, SMALL_LO, SMALL_HI, &live, w->share, "grow");
    phase_end(0, live);

    drop_every_other(w, &small, 1, &live);
    for (int k = 0; k < CLASSES; k++) {
        size_t lo = (size_t)CLASS_LO << k;
        bench_list_fill(&w->t, &rng, &cls[k], lo, 2 * lo, &live, w->share, "grow");
        phase_end(1 + k, live);
        drop_every_other(w, &cls[k], 1, &live);
    }

    drop_every_other(w, &small, 0, &live);
    for (int k = 0; k < CLASSES; k++)
        drop_every_other(w, &cls[k], 0, &live);
    bench_list_free(&small);
    for (int k = 0; k < CLASSES; k++)
        bench_list_free(&cls[k]);
    bench_clock_stop();
    if (live != 0) { /* every block allocated was freed exactly once */
        fprintf(stderr, "grow: %zu live bytes left\n", live);
        w->t.bad++;
    }
    return NULL;
}

int main(int argc, char **argv) {
    int threads;
    long scale;
    bench_args(argc, argv, "THREADS SCALE(MiB of live bytes in all)", &threads, &scale);
    long base_rss = bench_maxrss_kb();
    bench_ta_get_stats_fn(); /* dlsym now, not at the first phase end */
    worker *ws = calloc((size_t)threads, sizeof(worker));
    for (int i = 0; i < threads; i++) {
        ws[i].id = i;
        ws[i].share = (size_t)scale * (1u << 20) / (size_t)threads;
    }
    pthread_barrier_init(&g_phase, NULL, (unsigned)threads + 1);
    pthread_t *tid = bench_xmalloc(sizeof(pthread_t) * (size_t)threads);
    for (int i = 0; i < threads; i++)
        pthread_create(&tid[i], NULL, work, &ws[i]);
    pthread_barrier_wait(&g_phase);
    for (int k = 0; k < PEAKS; k++) {
        pthread_barrier_wait(&g_phase); /* every worker has reached the end of phase k */
        bench_ta_sample();
        pthread_barrier_wait(&g_phase);
    }
    for (int i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    double secs = bench_clock_secs();

    uint64_t sum = 0, bad = 0, calls = 0, peak = 0;
    for (int i = 0; i < threads; i++) {
        sum += ws[i].t.sum;
        bad += ws[i].t.bad;
        calls += ws[i].t.calls;
    }
    for (int k = 0; k < PEAKS; k++)
        if (g_live[k] > peak)
            peak = g_live[k];
    long rss = bench_maxrss_kb();
    long peak_kb = (long)(peak / 1024);
    double overhead = 100.0 * (double)(rss - base_rss - peak_kb) / (double)peak_kb;
    char extra[160];
    snprintf(extra, sizeof extra,
             "peak_live_kb=%ld peak_rss_kb=%ld base_rss_kb=%ld overhead_pct=%.1f bad=%" PRIu64,
             peak_kb, rss, base_rss, overhead, bad);
    free(ws);
    free(tid);
    bench_report_freed("grow", threads, calls, secs, sum, bad == 0, extra); /* all freed */
    return bad == 0 ? 0 : 1;
}
