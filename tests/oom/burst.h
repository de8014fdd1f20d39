/* burst.h - the 200 MiB burst the memory-return tests share (rss_return_test, background_test):
 * BURST_THREADS threads each allocate their share in small (16..1024 bytes) and medium (1..64 KiB)
 * blocks through ta_malloc, touching every page; burst_free frees one job's blocks (run it from
 * another thread than the one that allocated them, so the frees are remote). */
#ifndef TA_TESTS_OOM_BURST_H
#define TA_TESTS_OOM_BURST_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tamalloc.h"
#include "tests/testlib/rng.h"

#define BURST_THREADS 4
#define BURST_BYTES ((size_t)200 << 20)

/* n: the capacity of p on entry, the blocks allocated on return; bad: an allocation failed. */
typedef struct burst { void **p; size_t n; uint64_t seed; int bad; } burst;

static inline void *burst_alloc(void *arg) {
    burst *b = arg;
    rng r = {b->seed};
    size_t bytes = 0, cap = b->n;
    b->n = 0;
    while (bytes < BURST_BYTES / BURST_THREADS && b->n < cap) {
        size_t len = (rng_next(&r) & 1) ? 16 + rng_below(&r, 1009) : 1024 + rng_below(&r, 63 * 1024);
        char *q = ta_malloc(len);
        if (!q) { b->bad = 1; break; }
        memset(q, 0x5a, len);
        b->p[b->n++] = q;
        bytes += len;
    }
    return NULL;
}

static inline void *burst_free(void *arg) {
    burst *b = arg;
    for (size_t i = 0; i < b->n; i++) ta_free(b->p[i]);
    return NULL;
}

#endif
