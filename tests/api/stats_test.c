/* stats_test.c - ta_get_stats, ta_get_arena_stats and ta_stats_print: the totals move exactly as
 * blocks are allocated, split, coalesced and freed; per-arena figures add up to the totals; the
 * printed table names tamalloc and has the per-arena header and this thread's arena. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/api/api_util.h"
#include "tests/testlib/heap_shape.h"

#define HDR HEAP_SHAPE_HDR

static ta_stats stats_now(void) {
    ta_stats s;
    ta_get_stats(&s);
    return s;
}

static ta_arena_stats arena_now(unsigned i) {
    ta_arena_stats a;
    assert_true(ta_get_arena_stats(i, &a) > i);
    return a;
}

/* allocated rises by exactly the usable size of each block and falls back on free. */
static void test_allocated_tracks_usable_sizes(void **state) {
    ta_stats s0 = stats_now();
    void *p[10];
    size_t sum = 0;
    for (int i = 0; i < 10; i++) {
        p[i] = ta_malloc((size_t)(i * 333));
        assert_non_null(p[i]);
        sum += ta_usable_size(p[i]);
        assert_int_equal(stats_now().allocated, s0.allocated + sum);
    }
    for (int i = 0; i < 10; i++) {
        sum -= ta_usable_size(p[i]);
        ta_free(p[i]);
        assert_int_equal(stats_now().allocated, s0.allocated + sum);
    }
    assert_int_equal(stats_now().allocated, s0.allocated);
}

/* free and free_blocks through split and the three kinds of coalescing. a, b, c are carved in a
 * row from the free space after them (arranged, then checked). Their sizes are past the small bins
 * (1 KiB), and three different sizes make no run that would activate their larger bins (cache.c),
 * so each free goes straight back to the arena's free list. */
static void test_free_bytes_and_blocks_follow_coalescing(void **state) {
    void *warm = ta_malloc(1);   /* the arena has a segment from here on */
    ta_free(warm);
    ta_stats s0 = stats_now();
    char *a = ta_malloc(1100), *b = ta_malloc(1200), *c = ta_malloc(1300);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_ptr_equal(b, a + ta_usable_size(a) + HDR);
    assert_ptr_equal(c, b + ta_usable_size(b) + HDR);
    size_t as = ta_usable_size(a) + HDR, bs = ta_usable_size(b) + HDR, cs = ta_usable_size(c) + HDR;
    char *d = ta_malloc(1050);   /* keeps c from touching the free space after it */
    assert_ptr_equal(d, c + cs);
    size_t ds = ta_usable_size(d) + HDR;

    ta_stats s = stats_now();   /* split: the same free block, smaller */
    assert_int_equal(s.free, s0.free - as - bs - cs - ds);
    assert_int_equal(s.free_blocks, s0.free_blocks);

    ta_free(b);   /* no free neighbour: a new free block */
    s = stats_now();
    assert_int_equal(s.free, s0.free - as - cs - ds);
    assert_int_equal(s.free_blocks, s0.free_blocks + 1);

    ta_free(a);   /* coalesces with the free block after it */
    s = stats_now();
    assert_int_equal(s.free, s0.free - cs - ds);
    assert_int_equal(s.free_blocks, s0.free_blocks + 1);

    ta_free(c);   /* coalesces with the free block before it */
    s = stats_now();
    assert_int_equal(s.free, s0.free - ds);
    assert_int_equal(s.free_blocks, s0.free_blocks + 1);

    ta_free(d);   /* coalesces on both sides: one block fewer */
    s = stats_now();
    assert_int_equal(s.free, s0.free);
    assert_int_equal(s.free_blocks, s0.free_blocks);
    assert_heap_ok();
}

/* mapped follows segments: an arena without segments maps one for its first block; the heap
 * walk of the arena and the per-arena figures agree with it; ta_collect gives it back. */
static void test_mapped_follows_segments(void **state) {
    ta_collect();
    int me = heap_shape_my_arena();   /* maps a segment for the probe; collect it again */
    assert_true(me >= 0);
    ta_collect();
    ta_arena_stats a0 = arena_now((unsigned)me);
    ta_stats s0 = stats_now();
    assert_int_equal(a0.segments, 0);
    assert_int_equal(a0.mapped, 0);
    void *p = ta_malloc(1100);   /* past the cache's sizes: one block carved, nothing cached */
    assert_non_null(p);
    ta_arena_stats a1 = arena_now((unsigned)me);
    ta_stats s1 = stats_now();
    assert_int_equal(a1.segments, 1);
    assert_true(a1.mapped > 0);
    assert_int_equal(s1.mapped, s0.mapped + a1.mapped);
    assert_int_equal(a1.free + a1.allocated + HDR, heap_shape_segment_bytes(p));   /* one block in use */
    ta_free(p);
    ta_arena_stats a2 = arena_now((unsigned)me);
    assert_int_equal(a2.segments, 1);   /* one empty segment is kept */
    assert_int_equal(a2.free_blocks, 1);
    ta_collect();
    ta_arena_stats a3 = arena_now((unsigned)me);
    assert_int_equal(a3.segments, 0);
    assert_int_equal(a3.mapped, 0);
    assert_int_equal(stats_now().mapped, s0.mapped);
}

static void *thread_alloc(void *arg) {
    *(void **)arg = ta_malloc(4000);
    return NULL;
}

/* ta_get_arena_stats: the configured count for every index in range, 0 beyond it; the in-use
 * arenas add up to the totals; this thread's arena is in use with a live thread; lock
 * acquisitions are counted. */
static void test_arena_stats_add_up(void **state) {
    int me = heap_shape_my_arena();
    assert_true(me >= 0);
    /* a second thread's block, left live so more than one arena may hold memory */
    void *theirs = NULL;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, thread_alloc, &theirs), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_non_null(theirs);
    void *big = ta_malloc((size_t)1 << 20);
    void *mine = ta_malloc(100);
    assert_non_null(big);
    assert_non_null(mine);

    ta_arena_stats a;
    size_t count = ta_get_arena_stats(0, &a);
    assert_true(count >= 1);
    const char *env = getenv("TAMALLOC_ARENAS");
    if (env) assert_int_equal(count, strtoul(env, NULL, 10));
    assert_int_equal(ta_get_arena_stats((unsigned)count, &a), 0);
    assert_int_equal(ta_get_arena_stats(UINT32_MAX, &a), 0);
    assert_true((size_t)me < count);

    ta_stats tot = stats_now();
    size_t in_use = 0, allocated = 0, freeb = 0, free_blocks = 0, mapped = 0, segment_size = 0;
    for (unsigned i = 0; i < count; i++) {
        assert_int_equal(ta_get_arena_stats(i, &a), count);
        assert_int_equal(a.index, i);
        if (!a.in_use) {
            assert_int_equal(a.allocated, 0);
            assert_int_equal(a.segments, 0);
            continue;
        }
        in_use++;
        allocated += a.allocated;
        freeb += a.free;
        free_blocks += a.free_blocks;
        mapped += a.mapped;
        if (a.segments) {   /* every segment maps the same size */
            if (!segment_size) segment_size = a.mapped / a.segments;
            assert_int_equal(a.mapped, a.segments * segment_size);
        } else {
            assert_int_equal(a.mapped, 0);
        }
        assert_true(a.remote_drained <= a.remote_pushed);
        assert_true(a.lock_contended <= a.lock_acquired);
    }
    assert_int_equal(in_use, tot.arenas);
    assert_int_equal(allocated + tot.large_allocated, tot.allocated);
    assert_int_equal(freeb, tot.free);
    assert_int_equal(free_blocks, tot.free_blocks);
    assert_true(mapped + tot.large_allocated <= tot.mapped);   /* large mappings are in mapped */

    a = arena_now((unsigned)me);
    assert_true(a.in_use);
    assert_true(a.threads >= 1);
    assert_true(a.allocated >= ta_usable_size(mine));
    size_t acquired = a.lock_acquired;
    ta_free(ta_malloc(10));   /* at least two lock acquisitions by this thread */
    assert_true(arena_now((unsigned)me).lock_acquired >= acquired + 2);

    ta_free(theirs);
    ta_free(big);
    ta_free(mine);
    assert_heap_ok();
}

/* A block freed by a thread that does not own its arena is a remote free: pushed, then drained
 * (at the latest by ta_collect). With one arena every free is local and nothing is pushed. */
static void test_remote_free_counters(void **state) {
    int me = heap_shape_my_arena();
    void *theirs = NULL;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, thread_alloc, &theirs), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_non_null(theirs);
    int owner = heap_shape_arena_of(theirs);
    assert_true(owner >= 0);
    ta_collect();   /* earlier tests' remote frees batched in this thread's cache are pushed now */
    ta_stats s0 = stats_now();
    ta_free(theirs);
    ta_collect();
    ta_stats s1 = stats_now();
    size_t expect = owner != me ? 1 : 0;
    assert_int_equal(s1.remote_pushed, s0.remote_pushed + expect);
    assert_int_equal(s1.remote_drained, s1.remote_pushed);   /* all drained after collect */
    ta_arena_stats a = arena_now((unsigned)owner);
    assert_int_equal(a.remote_pending, 0);
    assert_int_equal(a.remote_drained, a.remote_pushed);
    assert_heap_ok();
}

/* ta_stats_print: a table that names tamalloc, has the per-arena header, and a row for this
 * thread's arena. */
/* Every allocation the caches do not serve (sizes past 4 KiB) is one next-fit search of the arena:
 * searches counts it, search_steps the index nodes and headers it read (at least one each: a hit at
 * the rover reads the rover), search_max_steps the most one read; the arena's figures add up to the
 * totals. With many holes too small for the request, a search still reads few: it does not visit
 * the holes (the fit index passes over them). */
static void test_search_counters(void **state) {
    (void)state;
    ta_stats s0 = stats_now();
    enum { N = 2000 };
    static void *p[N];
    for (int i = 0; i < N; i++) p[i] = ta_malloc(4400);   /* past the cache: arena searches */
    for (int i = 0; i < N; i += 2) ta_free(p[i]);         /* 1000 holes of 4416 bytes */
    ta_stats s1 = stats_now();
    assert_true(s1.searches >= s0.searches + N);
    assert_true(s1.search_steps - s0.search_steps >= s1.searches - s0.searches);
    assert_true(s1.search_max_steps >= 1);
    void *r = ta_malloc(4400);   /* past the tail the search takes the lowest hole: the rover is in the holes */
    s1 = stats_now();
    size_t steps0 = s1.search_steps, searches0 = s1.searches;
    void *q[100];
    for (int i = 0; i < 100; i++) q[i] = ta_malloc(9000);  /* no hole fits: passed over, not walked */
    ta_stats s2 = stats_now();
    assert_true(s2.searches >= searches0 + 100);
    double mean = (double)(s2.search_steps - steps0) / (double)(s2.searches - searches0);
    printf("search_counters: %.1f steps per search past 999 holes too small\n", mean);
    assert_true(mean < 60.0);   /* the walk read every hole from the rover on: about 1000 per search */
    ta_free(r);
    size_t searches = 0, steps = 0, max = 0;
    for (unsigned i = 0;; i++) {
        ta_arena_stats a;
        if (ta_get_arena_stats(i, &a) == 0) break;
        searches += a.searches;
        steps += a.search_steps;
        if (a.search_max_steps > max) max = a.search_max_steps;
    }
    ta_stats s3 = stats_now();
    assert_int_equal(searches, s3.searches);
    assert_int_equal(steps, s3.search_steps);
    assert_int_equal(max, s3.search_max_steps);
    for (int i = 0; i < 100; i++) ta_free(q[i]);
    for (int i = 1; i < N; i += 2) ta_free(p[i]);
}

static void test_stats_print(void **state) {
    int me = heap_shape_my_arena();
    void *p = ta_malloc(1234);
    assert_non_null(p);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    ta_stats_print(f);
    assert_int_equal(fclose(f), 0);
    assert_non_null(text);
    assert_non_null(strstr(text, "tamalloc"));
    /* the per-arena header line, then a row whose first field is this thread's arena index */
    int header = 0, found = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        unsigned idx;
        if (!header) header = strstr(line, "arena") && strstr(line, "threads") && strstr(line, "allocated") &&
                              strstr(line, "free") && !strstr(line, "tamalloc");
        else if (sscanf(line, "%u", &idx) == 1 && idx == (unsigned)me) found = 1;
    }
    assert_true(header);
    assert_true(found);
    free(text);
    ta_free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocated_tracks_usable_sizes),
        cmocka_unit_test(test_free_bytes_and_blocks_follow_coalescing),
        cmocka_unit_test(test_mapped_follows_segments),
        cmocka_unit_test(test_arena_stats_add_up),
        cmocka_unit_test(test_remote_free_counters),
        cmocka_unit_test(test_search_counters),
        cmocka_unit_test(test_stats_print),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
