/* Workload 4, size churn: each thread keeps SLOTS blocks and, at a random slot, either allocates
 * (when empty), grows the block with realloc, or frees it. Sizes are spread log-uniformly over
 * 8 B..64 KiB, with a tail (TAIL_PCT percent) of 128 KiB..1 MiB blocks, past the usual mmap
 * threshold; realloc grows a block by 1.25x..2x, up to 2 MiB.
 * Usage: churn THREADS SCALE — SCALE thousand operations per thread.
 * Determinism: each thread has its own RNG and count; stamps at both ends are checked on every
 * realloc (the old end must survive the move) and free. */
#include "bench/common.h"

#define SLOTS 256
#define TAIL_PCT 1
#define REALLOC_PCT 30
#define GROW_CAP (2u << 20)

typedef struct {
    void *p;      /* the block, or NULL */
    size_t size;  /* its size */
    uint64_t v;   /* its start stamp */
} slot;

typedef struct {
    int id;         /* thread index */
    long ops;       /* operations to do */
    uint64_t calls; /* malloc + realloc + free calls made */
    uint64_t sum;   /* checksum of verified stamps */
    uint64_t bad;   /* wrong stamps */
} worker;


static size_t pick_size(bench_rng *r) {
    if (bench_next(r) % 100 < TAIL_PCT)
        return bench_range(r, 128u << 10, 1u << 20);
    size_t base = (size_t)8 << (bench_next(r) % 13); /* 8 B .. 32 KiB */
    return base + bench_range(r, 0, base);          /* .. 64 KiB */
}

static void check(worker *w, const void *p, size_t size, uint64_t v) {
    if (bench_stamp_ok(p, size, v))
        w->sum += bench_mix(v ^ size);
    else
        w->bad++;
}

static void *work(void *arg) {
    worker *w = arg;
    bench_rng rng = {0xc4u + 1000003ull * (uint64_t)w->id};
    slot *s = calloc(SLOTS, sizeof(slot));
    bench_start_wait();
    bench_clock_start();
    for (long i = 0; i < w->ops; i++) {
        slot *x = &s[bench_next(&rng) % SLOTS];
        if (!x->p) {
            x->size = pick_size(&rng);
            x->v = bench_next(&rng);
            x->p = bench_xmalloc(x->size);
            bench_stamp(x->p, x->size, x->v);
            w->calls++;
        } else if (bench_next(&rng) % 100 < REALLOC_PCT && x->size < GROW_CAP / 2) {
            check(w, x->p, x->size, x->v);
            size_t old = x->size;
            size_t grow = old + old / 4 + bench_range(&rng, 0, old - old / 4) + 1;
            char *q = realloc(x->p, grow);
            if (!q) {
                fprintf(stderr, "churn: realloc failed\n");
                exit(3);
            }
            /* the whole old content moved: both old stamps are intact */
            check(w, q, old, x->v);
            x->p = q;
            x->size = grow;
            bench_stamp(q, grow, x->v);
            w->calls++;
        } else {
            check(w, x->p, x->size, x->v);
            free(x->p);
            x->p = NULL;
            w->calls++;
        }
    }
    for (int j = 0; j < SLOTS; j++) {
        if (s[j].p) {
            check(w, s[j].p, s[j].size, s[j].v);
            free(s[j].p);
        }
    }
    free(s);
    bench_clock_stop();
    return NULL;
}

int main(int argc, char **argv) {
    int threads;
    long scale;
    bench_args(argc, argv, "THREADS SCALE(thousand operations per thread)", &threads, &scale);
    worker *ws = calloc((size_t)threads, sizeof(worker));
    for (int i = 0; i < threads; i++) {
        ws[i].id = i;
        ws[i].ops = scale * 1000;
    }
    double secs = bench_run_threads(threads, work, ws, sizeof *ws);

    uint64_t sum = 0, bad = 0, calls = 0;
    for (int i = 0; i < threads; i++) {
        sum += ws[i].sum;
        bad += ws[i].bad;
        calls += ws[i].calls;
    }
    char extra[64];
    snprintf(extra, sizeof extra, "bad=%" PRIu64, bad);
    free(ws);
    bench_report_freed("churn", threads, calls, secs, sum, bad == 0, extra); /* all freed */
    return bad == 0 ? 0 : 1;
}
