/* fitindex_test.c - the fit index gives next-fit the same answer as the walk it replaced.
 *
 * The reference is the linear next-fit walk tamalloc used before the index (kept here, in tests
 * only): from the rover along the address-ordered list, wrapping once; the first block that holds
 * the size at the requested alignment, except that a segment's tail is taken only when none of the
 * next TA_FL_TAIL_STEPS blocks (up to the rover) fits without being a tail. Random operation
 * sequences on a fake arena of up to five segments (allocations of many sizes, a tenth of them
 * aligned to 32..4096, batch carves as the thread caches make, coalescing frees, in-place resizes,
 * runs taken off the list and put back as decay's purge does, segments added and dropped, and the
 * rover moved anywhere) ask both for every search; the block and the front gap must be equal. The
 * index's own equations (ta_fix_verify) and the list are checked every 1024 operations and at the
 * end. Also: the steps a search reads stay within 2 * log2(free blocks) on average, and within the
 * bound a search can read.
 * TAMALLOC_TEST_OPS sets the operation count (default 1,000,000 per seed, 3 seeds; 100,000 under
 * ThreadSanitizer);
 * TAMALLOC_TEST_SEED replays one seed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/arena.h"
#include "alloc/block.h"
#include "alloc/fitindex.h"
#include "alloc/freelist.h"
#include "alloc/segment.h"
#include "tests/testlib/rng.h"
#include "tests/unit/unit_support.h"

static ta_arena the_arena;
#define fl (the_arena.fl)
static char dummy_owner;
#define OWNER ((struct ta_arena *)&dummy_owner)

#define MAX_SEGS 5
#define MAX_LIVE 6000

/* ---------------------------------------------------------------------------------------------
 * The reference: the linear walk (tamalloc's search before the index), reading nothing it changes.
 * ------------------------------------------------------------------------------------------- */

static size_t ref_front_for(ta_block *b, size_t align) {
    uintptr_t user = (uintptr_t)ta_block_user(b);
    if ((user & (align - 1)) == 0) return 0;
    uintptr_t aligned = (user + TA_MIN_BLOCK + align - 1) & ~(uintptr_t)(align - 1);
    return aligned - user;
}

static ta_block *ref_find(size_t bsize, size_t align, size_t *front, size_t *visited) {
    ta_block *start = fl.rover ? fl.rover : fl.head;
    *visited = 0;
    if (!start) return NULL;
    ta_block *b = start, *tail = NULL;
    size_t tail_front = 0, after_tail = 0;
    do {
        (*visited)++;
        size_t f = align > TA_ALIGN ? ref_front_for(b, align) : 0;
        if (b->size >= f + bsize) {
            if ((char *)b + b->size != ta_segment_of(b)->end) { *front = f; return b; }
            if (!tail) { tail = b; tail_front = f; }
        }
        if (tail && ++after_tail > TA_FL_TAIL_STEPS) break;
        b = ta_fl_next(b);
        if (!b) b = fl.head;
    } while (b != start);
    *front = tail_front;
    return tail;
}

/* ---------------------------------------------------------------------------------------------
 * The fake arena.
 * ------------------------------------------------------------------------------------------- */

static ta_block *live[MAX_LIVE];
static size_t nlive;
static ta_block *taken[64];   /* runs off the list, as decay holds them while it purges */
static size_t ntaken;

static int setup(void **state) {
    (void)state;
    memset(&the_arena, 0, sizeof the_arena);
    ta_fl_init(&fl, 1);
    ta_arena_link_segment_locked(&the_arena, fake_segment_new(OWNER));
    the_arena.nsegments = 1;
    nlive = ntaken = 0;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    for (ta_segment *s = the_arena.segments, *next; s; s = next) {
        next = s->next;
        fake_segment_free(s);
    }
    the_arena.segments = NULL;
    return 0;
}

/* The list, walked by its links, is the free blocks in address order; the index verifies. */
static void check_all(void) {
    size_t n = 0, bytes = 0;
    ta_block *prev = NULL;
    for (ta_block *b = fl.head; b; prev = b, b = ta_fl_next(b)) {
        assert_true(prev == NULL || prev < b);
        assert_true(ta_block_is(b, TA_STATE_FREE));
        n++;
        bytes += b->size;
    }
    assert_ptr_equal(prev, fl.tail);
    assert_int_equal(n, fl.count);
    assert_int_equal(bytes, fl.bytes);
    assert_int_equal(ta_fix_verify(&fl.index, the_arena.segments, the_arena.nsegments), 0);
}

static size_t draw_bsize(rng *r) {
    uint64_t k = rng_below(r, 100);
    size_t n;
    if (k < 45) n = 1 + rng_below(r, 256);                 /* small */
    else if (k < 85) n = 256 + rng_below(r, 8192);         /* medium */
    else if (k < 97) n = 8192 + rng_below(r, 65536);       /* large */
    else n = 65536 + rng_below(r, 1u << 20);               /* up to the mmap threshold's maximum */
    return ta_block_size_for(n);
}

static size_t draw_align(rng *r) {
    if (rng_below(r, 10)) return TA_ALIGN;
    return (size_t)32 << rng_below(r, 8);   /* 32 .. 4096 */
}

typedef struct run_stats {
    size_t searches, found, steps, max_steps, log_budget_sum;
} run_stats;

/* One search by both; they must agree. Returns the block (NULL when none fits). */
static ta_block *search_both(size_t bsize, size_t align, size_t *front, run_stats *st, uint64_t seed, size_t op) {
    size_t ref_front = 0, visited, got_front = 0;
    ta_block *ref = ref_find(bsize, align, &ref_front, &visited);
    size_t steps0 = fl.steps, free_blocks = fl.count;
    ta_block *got = ta_fl_find_locked(&fl, bsize, align, &got_front);
    if (got != ref || (got && got_front != ref_front))
        fail_msg("seed %llu op %zu: bsize %zu align %zu: index %p (front %zu), linear walk %p (front %zu)",
                 (unsigned long long)seed, op, bsize, align, (void *)got, got_front, (void *)ref, ref_front);
    size_t steps = fl.steps - steps0;
    st->searches++;
    st->found += got != NULL;
    st->steps += steps;
    if (steps > st->max_steps) st->max_steps = steps;
    st->log_budget_sum += free_blocks > 1 ? (size_t)(2.0 * log2((double)free_blocks) + 0.5) : 2;
    *front = got_front;
    return got;
}

static void add_segment(void) {
    ta_segment *s = fake_segment_new(OWNER);
    ta_arena_link_segment_locked(&the_arena, s);
    the_arena.nsegments++;
}

/* An empty segment (one free block spanning it) other than the last one left is dropped. */
static void drop_empty_segment(rng *r) {
    if (the_arena.nsegments < 2) return;
    size_t pick = rng_below(r, the_arena.nsegments), i = 0;
    for (ta_segment *s = the_arena.segments; s; s = s->next, i++) {
        if (i != pick) continue;
        ta_block *first = (ta_block *)s->start;
        if (!ta_segment_is_free_start(s, first) || !ta_segment_is_empty(first)) return;
        ta_arena_unlink_segment_locked(&the_arena, s);
        the_arena.nsegments--;
        fake_segment_free(s);
        return;
    }
}

static void release_block(ta_block *b) {
    ta_fl_release_locked(&fl, b);
}

static void free_live(size_t i) {
    ta_block *b = live[i];
    live[i] = live[--nlive];
    assert_true(ta_block_claim_free(b, b->size));
    release_block(b);
}

/* A random listed free block (through a random segment's bitmap), or NULL. */
static ta_block *random_free_block(rng *r) {
    if (!fl.count) return NULL;
    size_t pick = rng_below(r, the_arena.nsegments), i = 0;
    for (ta_segment *s = the_arena.segments; s; s = s->next, i++) {
        if (i != pick) continue;
        int64_t g = ta_bitmap_next(&s->free_starts, (uint32_t)rng_below(r, TA_GRANULES - 1));
        if (g < 0) g = ta_bitmap_next(&s->free_starts, 0);
        if (g < 0 && ta_bitmap_test(&s->free_starts, 0)) g = 0;
        return g < 0 ? NULL : ta_segment_block_at(s, g);
    }
    return NULL;
}

static void run_seed(uint64_t seed, size_t ops, run_stats *st) {
    rng r = rng_make(seed);
    size_t check_mask = getenv("FIX_CHECK_EVERY_OP") ? 0 : 1023;   /* to find the first bad operation */
    for (size_t op = 0; op < ops; op++) {
        uint64_t k = rng_below(&r, 1000);
        if (k < 430 && nlive < MAX_LIVE) {                       /* allocate */
            size_t bsize = draw_bsize(&r), align = draw_align(&r), front;
            ta_block *b = search_both(bsize, align, &front, st, seed, op);
            if (!b) {
                if (the_arena.nsegments < MAX_SEGS) add_segment();
                continue;
            }
            live[nlive++] = ta_fl_carve_locked(&fl, b, front, bsize);
        } else if (k < 470 && nlive + 64 < MAX_LIVE) {           /* a cache refill's batch */
            size_t bsize = ta_block_size_for(1 + rng_below(&r, 1024)), front;
            ta_block *b = search_both(bsize, TA_ALIGN, &front, st, seed, op);
            if (!b) continue;
            size_t n = b->size / bsize, want = 1 + rng_below(&r, 32);
            if (n > want) n = want;
            ta_block *u = ta_fl_carve_locked(&fl, b, 0, n * bsize);
            if (n > 1 && u->size == n * bsize) {   /* split the run the way the cache does */
                for (size_t i = 0; i < n; i++) {
                    ta_block *x = (ta_block *)((char *)u + i * bsize);
                    ta_block_set(x, bsize, TA_STATE_USED);
                    live[nlive++] = x;
                }
            } else {
                live[nlive++] = u;
            }
        } else if (k < 900 && nlive) {                           /* free */
            free_live(rng_below(&r, nlive));
        } else if (k < 940 && nlive) {                           /* resize in place */
            ta_block *b = live[rng_below(&r, nlive)];
            size_t want = draw_bsize(&r);
            if (want > 2 * TA_MMAP_THRESHOLD_MAX) want = 2 * TA_MMAP_THRESHOLD_MAX;
            ta_fl_resize_locked(&fl, b, want);
        } else if (k < 960) {                                     /* decay takes a run off the list */
            ta_block *b = random_free_block(&r);
            if (b && ntaken < 64 && !ta_segment_is_empty(b)) {
                ta_fl_remove_locked(&fl, b);
                ta_block_set(b, b->size, TA_STATE_PURGING);
                taken[ntaken++] = b;
            }
        } else if (k < 975 && ntaken) {                           /* ... and puts it back */
            size_t i = rng_below(&r, ntaken);
            ta_block *b = taken[i];
            taken[i] = taken[--ntaken];
            ta_block_set(b, b->size, TA_STATE_QUEUED);
            release_block(b);
        } else if (k < 990) {                                     /* the rover anywhere */
            ta_block *b = random_free_block(&r);
            if (b) fl.rover = b;
        } else {
            drop_empty_segment(&r);
        }
        if ((op & check_mask) == 0) check_all();
    }
    check_all();
    while (nlive) free_live(nlive - 1);
    while (ntaken) {
        ta_block *b = taken[--ntaken];
        ta_block_set(b, b->size, TA_STATE_QUEUED);
        release_block(b);
    }
    check_all();
    for (ta_segment *s = the_arena.segments; s; s = s->next) {
        ta_block *first = (ta_block *)s->start;
        assert_true(ta_segment_is_free_start(s, first) && ta_segment_is_empty(first));   /* all coalesced back */
    }
}

/* ThreadSanitizer runs this single-threaded test about twenty times slower: fewer operations there
 * (the TSan run checks the index's code for races and misuse of atomics, not its answers at scale). */
#if defined(__SANITIZE_THREAD__)
#define FIX_DEFAULT_OPS 100000
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FIX_DEFAULT_OPS 100000
#endif
#endif
#ifndef FIX_DEFAULT_OPS
#define FIX_DEFAULT_OPS 1000000
#endif

static size_t ops_per_seed(void) {
    const char *e = getenv("TAMALLOC_TEST_OPS");
    return e && *e ? (size_t)strtoull(e, NULL, 10) : FIX_DEFAULT_OPS;
}

static void test_same_choice_as_linear_walk(void **state) {
    (void)state;
    uint64_t base = rng_base_seed(0xf17f17ULL);
    int nseeds = getenv("TAMALLOC_TEST_SEED") ? 1 : 3;
    size_t ops = ops_per_seed();
    run_stats st = {0};
    for (int i = 0; i < nseeds; i++) {
        teardown(NULL);
        setup(NULL);
        run_seed(base + (uint64_t)i, ops, &st);
    }
    printf("fitindex_test: %d seeds x %zu operations from seed %llu: %zu searches (%zu found a block), "
           "mean steps %.2f (mean 2*log2(free blocks) %.2f), max steps %zu\n",
           nseeds, ops, (unsigned long long)base, st.searches, st.found,
           st.searches ? (double)st.steps / (double)st.searches : 0.0,
           st.searches ? (double)st.log_budget_sum / (double)st.searches : 0.0, st.max_steps);
    assert_true(st.searches > ops / 4);
    assert_true(st.steps <= st.log_budget_sum);
    /* one search: 2 treap passes of at most 2 * MAX_SEGS nodes, at most 3 segments' trees (24
     * nodes, 2 leaves of 16 headers), the tail window; aligned requests may pass over more. */
    assert_true(st.max_steps <= 64 * (2 * 2 * MAX_SEGS + 3 * (24 + 32) + TA_FL_TAIL_STEPS));
}

/* Sizes at every leaf and tree boundary: blocks of one granule past and short of a power of two
 * laid out so their starts cross 1 KiB leaves; a search for each size from every rover agrees. */
static void test_exhaustive_small_heap(void **state) {
    (void)state;
    run_stats st = {0};
    rng r = rng_make(42);
    /* alternate free holes of growing sizes with used guards */
    ta_block *holes[40];
    int nh = 0;
    for (int i = 0; i < 40; i++) {
        size_t hs = TA_MIN_BLOCK + (size_t)i * 48;
        ta_block *h = ta_fl_carve_locked(&fl, fl.tail, 0, hs);
        ta_fl_carve_locked(&fl, fl.tail, 0, TA_MIN_BLOCK + rng_below(&r, 4) * TA_ALIGN);
        holes[nh++] = h;
    }
    for (int i = 0; i < nh; i += 2) {   /* every other hole freed: none adjacent */
        assert_true(ta_block_claim_free(holes[i], holes[i]->size));
        ta_fl_release_locked(&fl, holes[i]);
    }
    check_all();
    for (ta_block *rov = fl.head; rov; rov = ta_fl_next(rov)) {
        for (size_t bsize = TA_MIN_BLOCK; bsize <= 2048; bsize += TA_ALIGN) {
            for (size_t align = TA_ALIGN; align <= 256; align *= 4) {
                fl.rover = rov;
                size_t front;
                search_both(bsize, align, &front, &st, 42, 0);
            }
        }
    }
    fl.rover = fl.head;
}

int main(void) {
    ta_block_init_secrets(0x1de7f17ULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exhaustive_small_heap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_choice_as_linear_walk, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
