/* bitmap_test.c - the three-level free-start bitmap against a brute-force model: set, clear, test,
 * prev, next and last after seeded random operations concentrated on word and level boundaries,
 * with the level invariants (mid bit <=> word non-zero, top bit <=> mid non-zero) checked too. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "alloc/bitmap.h"
#include "tests/testlib/rng.h"

#define G TA_GRANULES
#define LAST ((uint32_t)(G - 1))

static ta_bitmap map;
/* The model: a byte per granule for test(), and the set granules in ascending order, scanned
 * linearly for prev/next/last (a few thousand at most, so the scans stay cheap). */
static unsigned char model[G];
static uint32_t members[G];
static size_t nmembers;

static int64_t model_prev(uint32_t g) {
    int64_t best = -1;
    for (size_t i = 0; i < nmembers && members[i] < g; i++) best = members[i];
    return best;
}
static int64_t model_next(uint32_t g) {
    for (size_t i = 0; i < nmembers; i++) if (members[i] > g) return members[i];
    return -1;
}
static int64_t model_last(void) { return nmembers ? (int64_t)members[nmembers - 1] : -1; }

static void reset(void) {
    memset(&map, 0, sizeof map);
    memset(model, 0, sizeof model);
    nmembers = 0;
}

static void set(uint32_t g) {
    ta_bitmap_set(&map, g);
    if (model[g]) return;
    model[g] = 1;
    size_t i = nmembers;
    while (i > 0 && members[i - 1] > g) { members[i] = members[i - 1]; i--; }
    members[i] = g;
    nmembers++;
}
static void clear(uint32_t g) {
    ta_bitmap_clear(&map, g);
    if (!model[g]) return;
    model[g] = 0;
    size_t i = 0;
    while (members[i] != g) i++;
    for (; i + 1 < nmembers; i++) members[i] = members[i + 1];
    nmembers--;
}

/* The summary levels agree with the words below them, and the words with the model. */
static void check_levels(void) {
    for (uint32_t w = 0; w < G / 64; w++) {
        uint64_t word = 0;
        for (uint32_t k = 0; k < 64; k++) word |= (uint64_t)model[w * 64 + k] << k;
        assert_int_equal(map.bits[w], word);
        assert_int_equal((map.mid[w / 64] >> (w % 64)) & 1, word != 0);
    }
    for (uint32_t v = 0; v < 64; v++) assert_int_equal((map.top >> v) & 1, map.mid[v] != 0);
}

static void check_queries_at(uint32_t g) {
    assert_int_equal(ta_bitmap_test(&map, g), model[g]);
    assert_int_equal(ta_bitmap_prev(&map, g), model_prev(g));
    assert_int_equal(ta_bitmap_next(&map, g), model_next(g));
}

/* Boundaries of bit words (64 granules), mid words (4096) and the map. */
static const uint32_t edges[] = {
    0, 1, 2, 62, 63, 64, 65, 127, 128, 4031, 4032, 4094, 4095, 4096, 4097, 8191, 8192,
    G / 2 - 1, G / 2, G - 4097, G - 4096, G - 4095, G - 65, G - 64, G - 63, G - 2, G - 1,
};
#define NEDGES (sizeof edges / sizeof edges[0])

static void test_empty_map(void **state) {
    (void)state;
    reset();
    assert_int_equal(ta_bitmap_last(&map), -1);
    for (unsigned i = 0; i < NEDGES; i++) {
        assert_int_equal(ta_bitmap_prev(&map, edges[i]), -1);
        assert_int_equal(ta_bitmap_next(&map, edges[i]), -1);
        assert_int_equal(ta_bitmap_test(&map, edges[i]), 0);
    }
}

static void test_boundaries(void **state) {
    (void)state;
    reset();
    set(0);
    set(LAST);
    check_levels();
    assert_int_equal(ta_bitmap_last(&map), LAST);
    assert_int_equal(ta_bitmap_next(&map, 0), LAST);      /* across every level */
    assert_int_equal(ta_bitmap_prev(&map, LAST), 0);
    assert_int_equal(ta_bitmap_prev(&map, 0), -1);
    assert_int_equal(ta_bitmap_next(&map, LAST), -1);
    clear(LAST);
    assert_int_equal(ta_bitmap_last(&map), 0);
    assert_int_equal(ta_bitmap_next(&map, 0), -1);
    clear(0);
    check_levels();
    assert_int_equal(map.top, 0);
    assert_int_equal(ta_bitmap_last(&map), -1);

    /* 63/64 and 4095/4096 are word and mid-word transitions. */
    set(63);
    set(64);
    set(4095);
    set(4096);
    check_levels();
    assert_int_equal(ta_bitmap_next(&map, 63), 64);
    assert_int_equal(ta_bitmap_prev(&map, 64), 63);
    assert_int_equal(ta_bitmap_next(&map, 64), 4095);
    assert_int_equal(ta_bitmap_prev(&map, 4095), 64);
    assert_int_equal(ta_bitmap_next(&map, 4095), 4096);
    assert_int_equal(ta_bitmap_prev(&map, 4096), 4095);
    assert_int_equal(ta_bitmap_prev(&map, 63), -1);
    assert_int_equal(ta_bitmap_last(&map), 4096);
    clear(64);
    clear(4095);
    check_levels();
    assert_int_equal(ta_bitmap_next(&map, 63), 4096);
    assert_int_equal(ta_bitmap_prev(&map, 4096), 63);
    for (unsigned i = 0; i < NEDGES; i++) check_queries_at(edges[i]);
}

static void test_every_edge_pair(void **state) {
    (void)state;
    for (unsigned i = 0; i < NEDGES; i++) {
        for (unsigned j = i; j < NEDGES; j++) {
            reset();
            set(edges[i]);
            set(edges[j]);
            assert_int_equal(ta_bitmap_last(&map), (int64_t)edges[j]);
            for (unsigned k = 0; k < NEDGES; k++) check_queries_at(edges[k]);
            clear(edges[i]);
            if (i != j) assert_int_equal(ta_bitmap_prev(&map, edges[j]), -1);
            for (unsigned k = 0; k < NEDGES; k++) check_queries_at(edges[k]);
        }
    }
}

/* Picks a granule: half from the edges (+-1), half anywhere, some clustered near the last pick. */
static uint32_t pick(rng *r, uint32_t near) {
    switch (rng_below(r, 4)) {
    case 0: return edges[rng_below(r, NEDGES)];
    case 1: {
        int64_t g = (int64_t)near + (int64_t)rng_below(r, 257) - 128;
        return g < 0 ? 0 : g > (int64_t)LAST ? LAST : (uint32_t)g;
    }
    default: return (uint32_t)rng_below(r, G);
    }
}

static void test_random_against_model(void **state) {
    (void)state;
    uint64_t seed = rng_base_seed(0xb17a9);
    printf("bitmap_test seed %#llx\n", (unsigned long long)seed);
    rng r = rng_make(seed);
    for (int round = 0; round < 4; round++) {
        reset();
        uint32_t near = 0;
        /* Alternate dense (mostly set) and sparse (mostly clear) phases so levels fill and drain. */
        for (int op = 0; op < 3000; op++) {
            uint32_t g = pick(&r, near);
            near = g;
            int want_set = (op / 500) % 2 == 0 ? rng_below(&r, 4) != 0 : rng_below(&r, 4) == 0;
            if (want_set) set(g); else clear(g);
            uint32_t q = pick(&r, near);
            check_queries_at(q);
            check_queries_at(g);
            assert_int_equal(ta_bitmap_last(&map), model_last());
            if (op % 250 == 0) check_levels();
        }
        check_levels();
        /* Drain everything: the map must end empty at every level. */
        for (int64_t g = ta_bitmap_last(&map); g >= 0; g = ta_bitmap_last(&map)) {
            assert_int_equal(g, model_last());
            clear((uint32_t)g);
        }
        check_levels();
        assert_int_equal(map.top, 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_map),
        cmocka_unit_test(test_boundaries),
        cmocka_unit_test(test_every_edge_pair),
        cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
