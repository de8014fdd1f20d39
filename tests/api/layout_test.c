/* layout_test.c - the arena's block layout, asserted as heap_shape strings ("A64 F128* ..."; sizes
 * are whole blocks with their 16-byte header, '*' is the rover, "x<k>" a run of k equal blocks):
 * splitting from the front, coalescing before/after/both, the next-fit rover (the search starts
 * at the rover, wraps to an earlier hole, and moves after a split or an exact fit), the free gap
 * in front of an aligned block, and segment growth and release.
 *
 * Every test starts from the same state (see fresh_arena): this thread's arena holds one fully
 * free segment of `data` bytes, "F<data>*". Nothing assumes which arena index that is. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "tests/api/api_util.h"
#include "tests/testlib/heap_shape.h"

#define HDR HEAP_SHAPE_HDR

static unsigned me;              /* this thread's arena */
static size_t data;              /* block bytes of one segment */
static const char *seg_start;    /* first block of the fresh segment */

/* A block of exactly `size` bytes (header included; a multiple of 16, at least 32). */
static void *blk(size_t size) {
    void *p = ta_malloc(size - HDR);
    assert_non_null(p);
    return p;
}

/* Asserts the arena's shape equals the printf-formatted expectation (failures name the caller's
 * line and print both strings). */
#define expect_shape(...) expect_shape_at(__FILE__, __LINE__, __VA_ARGS__)
static void expect_shape_at(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void expect_shape_at(const char *file, int line, const char *fmt, ...) {
    char want[1024], got[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(want, sizeof want, fmt, ap);
    va_end(ap);
    _assert_string_equal(heap_shape(me, got, sizeof got), want, file, line);
}

/* Setup: give every empty segment back, then map one fresh segment and free it again, so the
 * arena is exactly one free segment with the rover on it. */
static int fresh_arena(void **state) {
    ta_collect();
    int a = heap_shape_my_arena();
    if (a < 0) return -1;
    me = (unsigned)a;
    ta_collect();
    char got[64];
    if (heap_shape(me, got, sizeof got)[0] != 0) return -1;   /* something was left allocated */
    char *probe = ta_malloc(1);
    if (!probe) return -1;
    data = heap_shape_segment_bytes(probe);
    seg_start = probe - HDR;
    ta_free(probe);
    return 0;
}

static void test_fresh_arena_is_one_free_segment(void **state) {
    assert_true(data > 0);
    expect_shape("F%zu*", data);
    ta_arena_stats a;
    ta_get_arena_stats(me, &a);
    assert_int_equal(a.segments, 1);
    assert_int_equal(a.free, data);
}

/* Each allocation is carved from the front of the free block; the remainder keeps the rover. */
static void test_split_from_the_front(void **state) {
    char *a = blk(48);
    assert_ptr_equal(a - HDR, seg_start);
    expect_shape("A48 F%zu*", data - 48);
    char *b = blk(64);
    expect_shape("A48 A64 F%zu*", data - 112);
    char *c = ta_malloc(0);   /* the minimum block */
    expect_shape("A48 A64 A32 F%zu*", data - 144);
    char *d = ta_malloc(17);  /* 17 + 16 rounds up to 48 */
    expect_shape("A48 A64 A32 A48 F%zu*", data - 192);
    ta_free(d);
    ta_free(c);
    ta_free(b);
    ta_free(a);
    expect_shape("F%zu*", data);
}

/* A freed block merges with a free neighbour after it, before it, or both. */
static void test_coalescing(void **state) {
    char *a = blk(48), *b = blk(64), *c = blk(32), *d = blk(96), *e = blk(48);
    size_t t = data - 288;
    expect_shape("A48 A64 A32 A96 A48 F%zu*", t);
    ta_free(b);   /* both neighbours in use: a new free block */
    expect_shape("A48 F64 A32 A96 A48 F%zu*", t);
    ta_free(c);   /* merges into the free block before it */
    expect_shape("A48 F96 A96 A48 F%zu*", t);
    ta_free(a);   /* absorbs the free block after it */
    expect_shape("F144 A96 A48 F%zu*", t);
    ta_free(e);   /* absorbs the free space after it, which held the rover */
    expect_shape("F144 A96 F%zu*", t + 48);
    ta_free(d);   /* both sides: the segment is one free block again */
    expect_shape("F%zu*", data);
    assert_heap_ok();
}

/* The next-fit rover. The free space after the test's blocks is filled exactly, so the only free
 * blocks are the holes the test makes and the search has to choose between them. */
static void test_next_fit_rover(void **state) {
    enum { B = 0, C, D, E, F };
    char *a = blk(64), *x[5] = {blk(128), blk(160), blk(128), blk(112), blk(96)};
    size_t t = data - 688;
    expect_shape("A64 A128 A160 A128 A112 A96 F%zu*", t);

    /* fill: blocks of 64 KiB, the last one taking the rest exactly (each below the mmap threshold) */
    enum { FILL = 65536 };
    size_t nfill = t / FILL, last = t - (nfill - 1) * FILL;
    static void *fill[128];
    assert_true(nfill >= 3 && nfill <= 128);
    for (size_t i = 0; i + 1 < nfill; i++) fill[i] = blk(FILL);
    fill[nfill - 1] = blk(last);
    char fs[64];
    if (last == FILL) snprintf(fs, sizeof fs, "A%dx%zu", FILL, nfill);
    else snprintf(fs, sizeof fs, "A%dx%zu A%zu", FILL, nfill - 1, last);
    expect_shape("A64 A128 A160 A128 A112 A96 %s", fs);   /* no free block: no rover */

    ta_free(x[D]);   /* the first free block gets the rover */
    expect_shape("A64 A128 A160 F128* A112 A96 %s", fs);
    ta_free(x[B]);   /* a hole before the rover; the rover stays */
    expect_shape("A64 F128 A160 F128* A112 A96 %s", fs);

    /* Both holes fit 48 bytes; the search starts at the rover, so the later hole is split (a
     * first-fit search would have taken the earlier one). The rover moves to the remainder. */
    char *p48 = blk(48);
    assert_ptr_equal(p48, (char *)x[D]);
    expect_shape("A64 F128 A160 A48 F80* A112 A96 %s", fs);

    /* 96 does not fit the rover's block, and nothing after it: the search wraps to the head. */
    char *p96 = blk(96);
    assert_ptr_equal(p96, (char *)x[B]);
    expect_shape("A64 A96 F32* A160 A48 F80 A112 A96 %s", fs);

    /* An exact fit leaves no remainder: the rover moves on to the next free block. */
    ta_free(x[F]);
    expect_shape("A64 A96 F32* A160 A48 F80 A112 F96 %s", fs);
    char *p80 = blk(80);
    expect_shape("A64 A96 F32 A160 A48 A80 A112 F96* %s", fs);
    /* ... and when there is no next free block, it wraps to the head of the list. */
    char *p96b = blk(96);
    expect_shape("A64 A96 F32* A160 A48 A80 A112 A96 %s", fs);

    ta_free(a);
    ta_free(x[C]);
    ta_free(x[E]);
    ta_free(p48);
    ta_free(p96);
    ta_free(p80);
    ta_free(p96b);
    for (size_t i = 0; i < nfill; i++) ta_free(fill[i]);
    expect_shape("F%zu*", data);
    assert_heap_ok();
}

/* An aligned block is carved at an aligned offset inside the free block; the skipped front stays
 * a free block in place and the rover goes to the remainder after the aligned block. */
static void test_aligned_block_leaves_free_front(void **state) {
    char *p = ta_memalign(4096, 100);   /* block of 128 */
    assert_non_null(p);
    assert_aligned(p, 4096);
    size_t front = (size_t)(p - HDR - seg_start);
    if (front == 0) {
        expect_shape("A128 F%zu*", data - 128);
    } else {
        assert_true(front >= 32);
        expect_shape("F%zu A128 F%zu*", front, data - front - 128);
    }
    ta_free(p);
    expect_shape("F%zu*", data);
}

/* Allocating more than a segment holds maps more segments (shown as " | " in the shape); freeing
 * everything leaves them mapped and empty (they go back after a decay tick finds them empty
 * twice), and ta_collect gives them all back at once. */
static void test_segment_growth_and_release(void **state) {
    enum { N = 90, SIZE = 100 << 10 };   /* 9 MiB in 100 KiB blocks: three segments */
    static void *p[N];
    ta_stats s0, s1, s2, s3;
    ta_get_stats(&s0);
    for (int i = 0; i < N; i++) p[i] = ta_malloc(SIZE);
    ta_get_stats(&s1);
    ta_arena_stats a;
    ta_get_arena_stats(me, &a);
    assert_int_equal(a.segments, 3);
    size_t segment = a.mapped / 3;
    assert_int_equal(s1.mapped, s0.mapped + 2 * segment);
    char got[1024];
    const char *shape = heap_shape(me, got, sizeof got);
    int separators = 0;
    for (const char *at = shape; (at = strstr(at, " | ")) != NULL; at += 3) separators++;
    assert_int_equal(separators, 2);
    for (int i = 0; i < N; i++) ta_free(p[i]);
    ta_get_stats(&s2);
    ta_get_arena_stats(me, &a);
    /* Emptied segments stay mapped until they have stayed empty for a decay tick (hysteresis:
     * TAMALLOC_DECAY_MS), or until ta_collect; the three are one free block each now. */
    assert_int_equal(a.segments, 3);
    assert_int_equal(s2.mapped, s1.mapped);
    assert_int_equal(a.free_blocks, 3);
    assert_int_equal(a.free, 3 * data);
    ta_collect();
    ta_get_stats(&s3);
    ta_get_arena_stats(me, &a);
    assert_int_equal(a.segments, 0);
    assert_int_equal(s3.mapped, s0.mapped - segment);
    expect_shape("%s", "");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_fresh_arena_is_one_free_segment, fresh_arena),
        cmocka_unit_test_setup(test_split_from_the_front, fresh_arena),
        cmocka_unit_test_setup(test_coalescing, fresh_arena),
        cmocka_unit_test_setup(test_next_fit_rover, fresh_arena),
        cmocka_unit_test_setup(test_aligned_block_leaves_free_front, fresh_arena),
        cmocka_unit_test_setup(test_segment_growth_and_release, fresh_arena),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
