/* Workload 5, fragmentation: each thread, in phases separated by barriers,
 *   1. allocates blocks of 16..1024 bytes up to its share of SCALE MiB of live bytes;
 *   2. frees every other one (the holes cannot coalesce: their neighbours stay live);
 *   3. allocates larger blocks (1..4 KiB) until its live bytes are back at its share;
 *   4. frees the rest of phase 1's blocks;
 *   5. allocates medium blocks (256..2048 bytes) up to its share again, which an allocator that
 *      reuses freed space serves without growing.
 * It reports peak RSS (from the OS) against peak live bytes (from the program's own counts, taken
 * at the end of phases 1, 3 and 5, where live bytes peak). peak_rss_kb includes the program's
 * baseline (base_rss_kb, measured before phase 1); overhead_pct is
 * (peak_rss - base_rss - peak_live) / peak_live. At each of those phase ends the main thread,
 * with the workers parked at a barrier, samples the allocator's free-block count
 * (bench_ta_sample: tamalloc only, for the result line's free_blocks_peak).
 * Usage: frag THREADS SCALE — SCALE MiB of live bytes in all (split between threads).
 * Determinism: per-thread RNGs; block counts depend only on sizes drawn. */
#include "bench/blocklist.h"

#include <stdatomic.h>

typedef struct {
    int id;          /* thread index */
    size_t share;    /* live bytes to reach in phases 1, 3 and 5 */
    bench_tally t;   /* calls, checksum, wrong stamps */
} worker;

static pthread_barrier_t g_phase;
static _Atomic uint64_t g_live[3]; /* live bytes summed at the end of phases 1, 3, 5 */

/* End of a phase where live bytes peak: adds them to g_live[k], then waits at two barriers with
 * the other workers and the main thread, which samples the heap between the two. */
static void phase_end(int k, size_t live) {
    atomic_fetch_add(&g_live[k], live);
    pthread_barrier_wait(&g_phase);
    pthread_barrier_wait(&g_phase);
}

static void *work(void *arg) {
    worker *w = arg;
    bench_rng rng = {0xf7a9ull * (uint64_t)(w->id + 1)};
    bench_list a, b, c;
    /* capacities: mean block sizes 520, 2560 and 1152 bytes, with a margin */
    uint64_t seed = (uint64_t)w->id << 40;
    bench_list_init(&a, w->share / 400 + 64, seed);
    bench_list_init(&b, w->share / 2000 + 64, seed | 1ull << 36);
    bench_list_init(&c, w->share / 900 + 64, seed | 2ull << 36);
    size_t live = 0;
    pthread_barrier_wait(&g_phase); /* start */
    bench_clock_start();

    bench_list_fill(&w->t, &rng, &a, 16, 1024, &live, w->share, "frag");
    phase_end(0, live);

    for (size_t i = 1; i < a.n; i += 2)
        bench_list_drop(&w->t, &a, i, &live);
    bench_list_fill(&w->t, &rng, &b, 1024, 4096, &live, w->share, "frag");
    phase_end(1, live);

    for (size_t i = 0; i < a.n; i += 2)
        bench_list_drop(&w->t, &a, i, &live);
    bench_list_fill(&w->t, &rng, &c, 256, 2048, &live, w->share, "frag");
    phase_end(2, live);

    for (size_t i = 0; i < b.n; i++)
        bench_list_drop(&w->t, &b, i, &live);
    for (size_t i = 0; i < c.n; i++)
        bench_list_drop(&w->t, &c, i, &live);
    bench_list_free(&a);
    bench_list_free(&b);
    bench_list_free(&c);
    bench_clock_stop();
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
    for (int k = 0; k < 3; k++) {
        pthread_barrier_wait(&g_phase); /* every worker has reached the end of phase 2k+1 */
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
    for (int k = 0; k < 3; k++)
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
    bench_report_freed("frag", threads, calls, secs, sum, bad == 0, extra); /* all freed */
    return bad == 0 ? 0 : 1;
}
