/* walk_test.c - ta_heap_walk: every arena's blocks in address order, arenas in index order; the
 * blocks tile each segment and agree with the per-arena statistics; live blocks appear with their
 * sizes; large blocks do not; an early stop returns fn's value; exactly one rover per arena that
 * has free blocks. Blocks are recorded into static storage: the callback never allocates. */
#include <pthread.h>
#include <stdint.h>

#include "tests/api/api_util.h"
#include "tests/testlib/heap_shape.h"

#define HDR HEAP_SHAPE_HDR
#define MAX_BLOCKS 20000

static ta_block_info seen[MAX_BLOCKS];
static size_t nseen;

static int record(const ta_block_info *b, void *ctx) {
    if (nseen == MAX_BLOCKS) return -1;
    seen[nseen++] = *b;
    return 0;
}

static void walk_all(void) {
    nseen = 0;
    assert_int_equal(ta_heap_walk(record, NULL), 0);
}

/* Index of the block at user pointer p in seen[], or -1. */
static long find_block(const void *p) {
    for (size_t i = 0; i < nseen; i++)
        if ((const char *)seen[i].addr == (const char *)p - HDR) return (long)i;
    return -1;
}

/* The properties every walk must have, checked against the per-arena statistics. */
static void check_walk_invariants(void) {
    walk_all();
    ta_arena_stats a;
    size_t count = ta_get_arena_stats(0, &a);
    size_t segment_bytes = 0;   /* the same block area in every segment */
    size_t i = 0;
    for (unsigned arena = 0; arena < count; arena++) {
        assert_int_equal(ta_get_arena_stats(arena, &a), count);
        size_t first = i, segments = 0, free_bytes = 0, free_blocks = 0, allocated = 0, cached = 0, cached_blocks = 0,
               rovers = 0, run = 0;
        for (; i < nseen && seen[i].arena == arena; i++) {
            const ta_block_info *b = &seen[i];
            assert_int_equal(b->size % 16, 0);
            assert_true(b->size >= 32);
            assert_int_equal((uintptr_t)b->addr % 16, 0);
            int new_segment = i == first || (const char *)b->addr != (const char *)seen[i - 1].addr + seen[i - 1].size;
            if (i > first) assert_true((const char *)b->addr > (const char *)seen[i - 1].addr);   /* address order */
            if (new_segment) {
                if (i > first) {
                    if (!segment_bytes) segment_bytes = run;
                    assert_int_equal(run, segment_bytes);   /* the blocks tiled the segment before */
                }
                segments++;
                run = 0;
            }
            run += b->size;
            if (b->is_free) {
                assert_false(i > first && !new_segment && seen[i - 1].is_free);   /* coalesced */
                free_bytes += b->size;
                free_blocks++;
                assert_false(b->is_cached);
            } else if (b->is_cached) {   /* in a thread cache: neither the user's nor on the free list */
                cached += b->size - HDR;
                cached_blocks++;
            } else {
                allocated += b->size - HDR;
            }
            if (b->is_rover) {
                assert_true(b->is_free);
                rovers++;
            }
        }
        if (i > first) {
            if (!segment_bytes) segment_bytes = run;
            assert_int_equal(run, segment_bytes);
        }
        assert_int_equal(segments, a.segments);
        assert_int_equal(free_bytes, a.free);
        assert_int_equal(free_blocks, a.free_blocks);
        assert_int_equal(allocated, a.allocated);
        assert_int_equal(cached, a.cached);
        assert_int_equal(cached_blocks, a.cached_blocks);
        assert_int_equal(rovers, free_blocks ? 1 : 0);   /* exactly one rover where there is a list */
    }
    assert_int_equal(i, nseen);   /* arenas came in index order, every block belonged to one */
}

/* A single thread's blocks with holes between them. */
static void test_walk_single_thread(void **state) {
    enum { N = 200 };
    static void *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = ta_malloc((size_t)(i % 50) * 24);
        assert_non_null(p[i]);
    }
    for (int i = 0; i < N; i += 3) {
        ta_free(p[i]);
        p[i] = NULL;
    }
    check_walk_invariants();
    int me = heap_shape_my_arena();
    for (int i = 0; i < N; i++) {
        if (!p[i]) continue;
        long k = find_block(p[i]);
        assert_true(k >= 0);
        assert_false(seen[k].is_free);
        assert_int_equal(seen[k].arena, (unsigned)me);
        assert_int_equal(seen[k].size - HDR, ta_usable_size(p[i]));
    }
    for (int i = 0; i < N; i++) ta_free(p[i]);
    check_walk_invariants();
}

/* Large blocks are not visited; the arenas' blocks are unchanged by them. */
static void test_walk_skips_large_blocks(void **state) {
    void *big = ta_malloc((size_t)1 << 20);
    void *small = ta_malloc(64);
    assert_non_null(big);
    assert_non_null(small);
    walk_all();
    assert_int_equal(find_block(big), -1);
    assert_true(find_block(small) >= 0);
    check_walk_invariants();
    ta_free(big);
    ta_free(small);
}

enum { THREADS = 3, PER_THREAD = 50 };
static void *thread_blocks[THREADS][PER_THREAD];

static void *thread_main(void *arg) {
    void **out = arg;
    for (int i = 0; i < PER_THREAD; i++) out[i] = ta_malloc((size_t)(i * 40 + 8));
    for (int i = 1; i < PER_THREAD; i += 4) {   /* holes in the thread's arena */
        ta_free(out[i]);
        out[i] = NULL;
    }
    return NULL;
}

/* Blocks of several threads (several arenas unless there is only one): each block appears once,
 * in its arena; the walk is still ordered and tiled; remote frees leave it consistent. */
static void test_walk_many_arenas(void **state) {
    pthread_t t[THREADS];
    for (int k = 0; k < THREADS; k++) assert_int_equal(pthread_create(&t[k], NULL, thread_main, thread_blocks[k]), 0);
    for (int k = 0; k < THREADS; k++) assert_int_equal(pthread_join(t[k], NULL), 0);
    check_walk_invariants();
    for (int k = 0; k < THREADS; k++)
        for (int i = 0; i < PER_THREAD; i++) {
            if (!thread_blocks[k][i]) continue;
            long at = find_block(thread_blocks[k][i]);
            assert_true(at >= 0);
            assert_false(seen[at].is_free);
        }
    for (int k = 0; k < THREADS; k++)
        for (int i = 0; i < PER_THREAD; i++) ta_free(thread_blocks[k][i]);   /* remote frees */
    ta_collect();
    check_walk_invariants();
    assert_heap_ok();
}

typedef struct stop_ctx { size_t calls, stop_at; } stop_ctx;

static int stop_after(const ta_block_info *b, void *ctx) {
    stop_ctx *c = ctx;
    return ++c->calls == c->stop_at ? 4242 : 0;
}

/* A non-zero return stops the walk at once and is what ta_heap_walk returns. */
static void test_walk_early_stop(void **state) {
    void *p[8];
    for (int i = 0; i < 8; i++) p[i] = ta_malloc(100);
    stop_ctx all = {0, 0};
    assert_int_equal(ta_heap_walk(stop_after, &all), 0);   /* never stops: returns 0 */
    assert_true(all.calls >= 8);
    for (size_t at = 1; at <= all.calls; at += (all.calls + 3) / 4) {
        stop_ctx c = {0, at};
        assert_int_equal(ta_heap_walk(stop_after, &c), 4242);
        assert_int_equal(c.calls, at);   /* no further block was visited */
    }
    stop_ctx last = {0, all.calls};
    assert_int_equal(ta_heap_walk(stop_after, &last), 4242);
    for (int i = 0; i < 8; i++) ta_free(p[i]);
}

/* The rover moves as the next-fit search proceeds but there is always exactly one while the arena
 * has free blocks (checked after each of many operations). */
static void test_one_rover_throughout(void **state) {
    enum { N = 64 };
    void *p[N] = {0};
    for (int step = 0; step < 300; step++) {
        int i = (step * 37) % N;
        if (p[i]) {
            ta_free(p[i]);
            p[i] = NULL;
        } else {
            p[i] = ta_malloc((size_t)((step * 53) % 700));
        }
        if (step % 10 == 0) check_walk_invariants();
    }
    for (int i = 0; i < N; i++) ta_free(p[i]);
    check_walk_invariants();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk_single_thread),
        cmocka_unit_test(test_walk_skips_large_blocks),
        cmocka_unit_test(test_walk_many_arenas),
        cmocka_unit_test(test_walk_early_stop),
        cmocka_unit_test(test_one_rover_throughout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
