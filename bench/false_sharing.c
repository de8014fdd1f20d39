/* Workload 3, false sharing in the style of cache-thrash (active) and cache-scratch (passive).
 *   active:  each thread repeatedly allocates an OBJ-byte object, writes it WRITES times and frees
 *            it; an allocator that hands neighbouring objects to different threads makes them
 *            fight over one cache line.
 *   passive: the main thread allocates one small object per thread, back to back, and hands them
 *            out; each thread frees its object first, then runs the active loop. An allocator that
 *            gives the freed object (or its line) back to the freeing thread reproduces the
 *            sharing the main thread set up.
 * Usage: false_sharing THREADS SCALE active|passive — SCALE thousand objects per thread.
 * Determinism: every byte of every object ends at a known count; the checksum sums them. */
#include "bench/common.h"

#define OBJ 8       /* object size, as in the original benchmarks */
#define WRITES 250  /* writes per object */

typedef struct {
    long objects;         /* objects to allocate */
    unsigned char *given; /* passive: the object handed over by main, freed first */
    uint64_t sum;         /* checksum of final object contents */
    uint64_t bad;         /* objects whose content was wrong */
} worker;


static void *work(void *arg) {
    worker *w = arg;
    bench_start_wait();
    bench_clock_start();
    if (w->given)
        free(w->given);
    for (long i = 0; i < w->objects; i++) {
        volatile unsigned char *p = bench_xmalloc(OBJ);
        for (int k = 0; k < OBJ; k++)
            p[k] = (unsigned char)i;
        for (int r = 0; r < WRITES; r++)
            p[r % OBJ]++;
        /* each byte k now holds i + (number of r < WRITES with r % OBJ == k) */
        for (int k = 0; k < OBJ; k++) {
            unsigned char want = (unsigned char)(i + (WRITES - k + OBJ - 1) / OBJ);
            if (p[k] != want)
                w->bad++;
            w->sum += p[k];
        }
        free((void *)p);
    }
    bench_clock_stop();
    return NULL;
}

int main(int argc, char **argv) {
    int threads;
    long scale;
    bench_args(argc, argv, "THREADS SCALE(thousand objects per thread) active|passive", &threads,
               &scale);
    if (argc < 4 || (strcmp(argv[3], "active") != 0 && strcmp(argv[3], "passive") != 0)) {
        fprintf(stderr, "%s: third argument must be active or passive\n", argv[0]);
        return 2;
    }
    int passive = strcmp(argv[3], "passive") == 0;
    worker *ws = calloc((size_t)threads, sizeof(worker));
    for (int i = 0; i < threads; i++) {
        ws[i].objects = scale * 1000;
        if (passive)
            ws[i].given = bench_xmalloc(OBJ);
    }
    double secs = bench_run_threads(threads, work, ws, sizeof *ws);

    uint64_t sum = 0, bad = 0;
    for (int i = 0; i < threads; i++) {
        sum += ws[i].sum;
        bad += ws[i].bad;
    }
    char extra[64];
    snprintf(extra, sizeof extra, "mode=%s bad=%" PRIu64, argv[3], bad);
    /* ops: object writes, the thing false sharing slows down */
    uint64_t ops = (uint64_t)threads * (uint64_t)scale * 1000 * WRITES;
    free(ws); /* the workers freed their objects, passive's given ones included */
    bench_report_freed(passive ? "cache_scratch" : "cache_thrash", threads, ops, secs, sum,
                       bad == 0, extra);
    return bad == 0 ? 0 : 1;
}
