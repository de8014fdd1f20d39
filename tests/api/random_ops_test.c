/* random_ops_test.c - thousands of seeded operations (malloc, calloc, realloc, the three aligned
 * calls, free) on sizes from 0 to 300 KiB, across arena and large blocks. Every live block's
 * contents are verified before it is freed or resized; ta_check() must be 0 after EVERY step; the
 * allocated total must equal the sum of the live blocks' usable sizes.
 *
 * The seed is printed; TAMALLOC_TEST_SEED=<seed> replays a run, TAMALLOC_TEST_STEPS=<n> changes
 * its length. Under TAMALLOC_CHECK=2 every operation already walks the whole heap, so the default
 * run is shorter there. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/api/api_util.h"
#include "tests/testlib/rng.h"

enum { SLOTS = 256 };

typedef struct slot {
    unsigned char *p;
    size_t n;         /* bytes asked for, and filled */
    uint64_t tag;     /* the fill's tag */
} slot;

static slot slots[SLOTS];

/* ---------------------------------------------------------------------------------------------
 * Contents: an address-independent pattern, so bytes that realloc moved can be verified too.
 * ------------------------------------------------------------------------------------------- */

static uint64_t word_for(uint64_t tag, size_t i) {
    uint64_t z = tag + (uint64_t)i * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    return z ^ (z >> 31);
}

static void fill(unsigned char *p, size_t n, uint64_t tag) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = word_for(tag, i / 8);
        memcpy(p + i, &w, 8);
    }
    uint64_t w = word_for(tag, i / 8);
    memcpy(p + i, &w, n - i);
}

/* 1 when the first n bytes hold fill(.., tag)'s bytes. */
static int intact(const unsigned char *p, size_t n, uint64_t tag) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = word_for(tag, i / 8);
        if (memcmp(p + i, &w, 8) != 0) return 0;
    }
    uint64_t w = word_for(tag, i / 8);
    return memcmp(p + i, &w, n - i) == 0;
}

/* ---------------------------------------------------------------------------------------------
 * Operations.
 * ------------------------------------------------------------------------------------------- */

/* Mostly small sizes, some medium, a few at and past the 128 KiB mmap threshold. */
static size_t random_size(rng *r) {
    uint64_t k = rng_below(r, 100);
    if (k < 55) return (size_t)rng_below(r, 513);
    if (k < 80) return 512 + (size_t)rng_below(r, 16 << 10);
    if (k < 93) return (16 << 10) + (size_t)rng_below(r, 112 << 10);
    return (128 << 10) - 64 + (size_t)rng_below(r, (300 << 10) - (128 << 10) + 64);
}

static void check_step(uint64_t step, const char *what) {
    int rc = ta_check();
    if (rc != 0) fail_msg("step %" PRIu64 " (%s): ta_check() = %d: %s", step, what, rc, ta_check_name(rc));
}

static void verify(const slot *s, uint64_t step) {
    if (!intact(s->p, s->n, s->tag)) fail_msg("step %" PRIu64 ": block %p of %zu bytes was corrupted", step, (void *)s->p, s->n);
}

static const char *op_new(slot *s, rng *r, uint64_t tag) {
    size_t n = random_size(r);
    const char *what;
    unsigned char *p;
    switch (rng_below(r, 6)) {
    case 0: case 1:
        what = "malloc";
        p = ta_malloc(n);
        break;
    case 2: {
        what = "calloc";
        size_t count = 1 + (size_t)rng_below(r, 8), each = n / count + 1;
        p = ta_calloc(count, each);
        n = count * each;
        assert_non_null(p);
        assert_true(all_zero(p, n));
        break;
    }
    case 3: {
        what = "posix_memalign";
        size_t align = (size_t)8 << rng_below(r, 10);   /* 8 .. 4096 */
        void *out = NULL;
        assert_int_equal(ta_posix_memalign(&out, align, n), 0);
        assert_aligned(out, align);
        p = out;
        break;
    }
    case 4: {
        what = "aligned_alloc";
        size_t align = (size_t)1 << rng_below(r, 14);   /* 1 .. 8192 */
        p = ta_aligned_alloc(align, n);
        assert_non_null(p);
        assert_aligned(p, align);
        break;
    }
    default: {
        what = "memalign";
        size_t align = 1 + (size_t)rng_below(r, 3000);   /* rounded up to a power of two */
        size_t pow2 = 1;
        while (pow2 < align) pow2 <<= 1;
        p = ta_memalign(align, n);
        assert_non_null(p);
        assert_aligned(p, pow2);
        break;
    }
    }
    assert_non_null(p);
    assert_aligned(p, 16);
    assert_true(ta_usable_size(p) >= n);
    s->p = p;
    s->n = n;
    s->tag = tag;
    fill(p, n, tag);
    return what;
}

static const char *op_resize(slot *s, rng *r, uint64_t tag, uint64_t step) {
    verify(s, step);
    size_t n = rng_below(r, 4) == 0 ? random_size(r) : s->n + s->n / 2 - (size_t)rng_below(r, s->n + 1);
    if (n == 0) n = 1;   /* realloc(p, 0) frees: that is op_free's job */
    unsigned char *q = ta_realloc(s->p, n);
    assert_non_null(q);
    assert_aligned(q, 16);
    assert_true(ta_usable_size(q) >= n);
    size_t keep = s->n < n ? s->n : n;
    if (!intact(q, keep, s->tag)) fail_msg("step %" PRIu64 ": realloc %zu -> %zu lost the contents", step, s->n, n);
    s->p = q;
    s->n = n;
    s->tag = tag;
    fill(q, n, tag);
    return "realloc";
}

static const char *op_free(slot *s, rng *r, uint64_t step) {
    verify(s, step);
    if (rng_below(r, 8) == 0) assert_null(ta_realloc(s->p, 0));
    else ta_free(s->p);
    s->p = NULL;
    return "free";
}

static size_t live_usable(void) {
    size_t sum = 0;
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].p) sum += ta_usable_size(slots[i].p);
    return sum;
}

static size_t allocated_now(void) {
    ta_stats s;
    ta_get_stats(&s);
    return s.allocated;
}

static void test_random_ops(void **state) {
    const char *check = getenv("TAMALLOC_CHECK"), *steps_env = getenv("TAMALLOC_TEST_STEPS");
    uint64_t steps = steps_env ? strtoull(steps_env, NULL, 0) : (check && atoi(check) >= 2) ? 1000 : 8000;
    uint64_t seed = rng_base_seed(0x7a3a110c5eedULL);
    printf("random_ops: seed 0x%" PRIx64 ", %" PRIu64 " steps (replay: TAMALLOC_TEST_SEED=0x%" PRIx64 ")\n",
           seed, steps, seed);
    fflush(stdout);
    rng r = rng_make(seed);
    size_t base = allocated_now();
    for (uint64_t step = 0; step < steps; step++) {
        slot *s = &slots[rng_below(&r, SLOTS)];
        const char *what;
        if (!s->p) what = op_new(s, &r, step + 1);
        else if (rng_below(&r, 5) < 2) what = op_resize(s, &r, step + 1, step);
        else what = op_free(s, &r, step);
        check_step(step, what);
        if (step % 64 == 0) assert_int_equal(allocated_now(), base + live_usable());
    }
    assert_int_equal(allocated_now(), base + live_usable());
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].p) op_free(&slots[i], &r, steps);
    check_step(steps, "final free");
    assert_int_equal(allocated_now(), base);
    printf("random_ops: seed 0x%" PRIx64 " passed\n", seed);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_ops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
