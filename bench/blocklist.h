/* blocklist.h - the record of its blocks that frag and grow keep: 12 bytes a block (pointer and
 * size; the stamp of block i is derived from the list's seed and i), the same for every allocator,
 * and the fill/drop steps both workloads are made of. A drop verifies the block's stamps before it
 * frees it: a wrong stamp counts in tally.bad, a right one adds to the checksum. */
#ifndef TA_BENCH_BLOCKLIST_H
#define TA_BENCH_BLOCKLIST_H

#include "bench/common.h"

typedef struct {
    void **p;         /* blocks */
    uint32_t *size;   /* their sizes */
    uint64_t seed;    /* stamp of block i is bench_mix(seed + i) */
    size_t n, cap;    /* used and allocated entries */
} bench_list;

typedef struct {
    uint64_t calls;   /* malloc + free calls */
    uint64_t sum;     /* checksum of verified stamps */
    uint64_t bad;     /* wrong stamps */
} bench_tally;

static inline void bench_list_init(bench_list *l, size_t cap, uint64_t seed) {
    l->n = 0;
    l->cap = cap;
    l->seed = seed;
    l->p = bench_xmalloc(cap * sizeof(void *));
    l->size = bench_xmalloc(cap * sizeof(uint32_t));
}

static inline void bench_list_free(bench_list *l) {
    free(l->p);
    free(l->size);
}

/* Allocates blocks of lo..hi bytes into l until *live reaches target (who: the workload's name,
 * for the overflow message). */
static inline void bench_list_fill(bench_tally *t, bench_rng *r, bench_list *l, size_t lo, size_t hi, size_t *live,
                                   size_t target, const char *who) {
    while (*live < target) {
        if (l->n == l->cap) {
            fprintf(stderr, "%s: list overflow\n", who);
            exit(3);
        }
        size_t n = bench_range(r, lo, hi);
        void *p = bench_xmalloc(n);
        bench_stamp(p, n, bench_mix(l->seed + l->n));
        l->p[l->n] = p;
        l->size[l->n] = (uint32_t)n;
        l->n++;
        *live += n;
        t->calls++;
    }
}

/* Verifies and frees block i of l. */
static inline void bench_list_drop(bench_tally *t, bench_list *l, size_t i, size_t *live) {
    uint64_t v = bench_mix(l->seed + i);
    if (bench_stamp_ok(l->p[i], l->size[i], v))
        t->sum += bench_mix(v ^ l->size[i]);
    else
        t->bad++;
    free(l->p[i]);
    l->p[i] = NULL;
    *live -= l->size[i];
    t->calls++;
}

#endif
