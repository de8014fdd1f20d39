/* rng.h - seeded splitmix64 for tests. The seed comes from TAMALLOC_TEST_SEED when set (to replay
 * a failure), else from the caller's default; tests print it so a failure names its seed. */
#ifndef TA_TESTLIB_RNG_H
#define TA_TESTLIB_RNG_H

#include <stdint.h>
#include <stdlib.h>

typedef struct rng { uint64_t s; } rng;

static inline uint64_t rng_next(rng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
/* Uniform in [0, n). */
static inline uint64_t rng_below(rng *r, uint64_t n) { return n ? rng_next(r) % n : 0; }

/* The run's base seed: TAMALLOC_TEST_SEED if set, else fallback. */
static inline uint64_t rng_base_seed(uint64_t fallback) {
    const char *s = getenv("TAMALLOC_TEST_SEED");
    return s ? strtoull(s, NULL, 0) : fallback;
}
static inline rng rng_make(uint64_t seed) { rng r = {seed}; return r; }

#endif
