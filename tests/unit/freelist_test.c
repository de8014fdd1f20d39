/* freelist_test.c - the address-ordered next-fit free list on fake segments (real 4 MiB-aligned
 * mappings with a hand-filled header, no arena): next-fit from the rover with one wrap, the rover
 * after a split and after an exact fit, the split threshold, front-aligned carving, coalescing with
 * neither, the previous, the next or both neighbours, in-place resize, detection of a corrupted
 * link, and address order across several segments. Every step is followed by a full invariant
 * walk written here independently of check.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "alloc/arena.h"
#include "alloc/block.h"
#include "alloc/freelist.h"
#include "alloc/segment.h"
#include "tests/testlib/rng.h"
#include "tests/unit/unit_support.h"

/* A zeroed arena holds the free list and the segment list; only arena.c's segment linking is used
 * on it (the list functions under test take the free list alone). */
static ta_arena the_arena;
#define fl (the_arena.fl)
#define segs (the_arena.segments)  /* address-ordered segment list, as an arena keeps it */
static char dummy_owner;           /* stands in for the owning arena */
#define OWNER ((struct ta_arena *)&dummy_owner)

static int setup(void **state) {
    (void)state;
    ta_fl_init(&fl, 1);   /* TAMALLOC_CHECK's default level: neighbour headers verified on free */
    segs = NULL;
    ta_arena_link_segment_locked(&the_arena, fake_segment_new(OWNER));
    return 0;
}

static int teardown(void **state) {
    (void)state;
    for (ta_segment *s = segs, *next; s; s = next) {
        next = s->next;
        fake_segment_free(s);
    }
    segs = NULL;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

static ta_block *at(ta_block *b, size_t off) { return (ta_block *)((char *)b + off); }

/* The most one search of a one-segment arena reads (fittree.h, fitindex.h): two treap nodes per
 * pass, 24 tree nodes and two leaves of at most 16 headers per segment searched, the tail window. */
#define FIND_STEPS_ONE_SEGMENT (2 * (2 + 24 + 32) + TA_FL_TAIL_STEPS)

/* Allocates bsize bytes (16-aligned) the way an arena does: search, then carve. */
static ta_block *alloc_blk(size_t bsize) {
    size_t front = 1;
    ta_block *b = ta_fl_find_locked(&fl, bsize, TA_ALIGN, &front);
    assert_non_null(b);
    assert_int_equal(front, 0);
    ta_block *u = ta_fl_carve_locked(&fl, b, 0, bsize);
    assert_true(ta_block_is(u, TA_STATE_USED));
    return u;
}

/* Carves bsize bytes from the front of the list's last block (the segment's tail), whatever the
 * search would pick: for tests that need a block at a known place. */
static ta_block *alloc_from_tail(size_t bsize) {
    ta_block *u = ta_fl_carve_locked(&fl, fl.tail, 0, bsize);
    assert_true(ta_block_is(u, TA_STATE_USED));
    return u;
}

/* Frees a USED block the way an arena does: claim (USED -> QUEUED), then release. */
static ta_block *release(ta_block *b) {
    assert_true(ta_block_claim_free(b, b->size));
    return ta_fl_release_locked(&fl, b);
}

static int is_merged(ta_block *b) {
    return ta_atomic_load_relaxed(&b->a_tag) == ta_block_tag(b, 0, TA_STATE_MERGED);
}

/* Every invariant of freelist.h and segment.h, from the blocks' side and the list's side. */
static void check_all(void) {
    size_t free_blocks = 0, free_bytes = 0;
    ta_segment *prev_seg = NULL;
    for (ta_segment *s = segs; s; prev_seg = s, s = s->next) {
        assert_ptr_equal(s->prev, prev_seg);
        if (prev_seg) assert_true(prev_seg < s);
        size_t here = 0;
        int prev_free = 0;
        char *p = s->start;
        while (p < s->end) {
            ta_block *b = (ta_block *)p;
            assert_true(b->size >= TA_MIN_BLOCK);
            assert_int_equal(b->size % TA_ALIGN, 0);
            assert_true(b->size <= (size_t)(s->end - p));
            assert_true(ta_block_tag_ok(b));
            int is_free = ta_block_state(b) == TA_STATE_FREE;
            if (!is_free) assert_true(ta_block_state(b) == TA_STATE_USED || ta_block_state(b) == TA_STATE_QUEUED);
            assert_int_equal(ta_segment_is_free_start(s, b), is_free);
            assert_false(is_free && prev_free);   /* coalescing leaves no two free neighbours */
            prev_free = is_free;
            if (is_free) { here++; free_bytes += b->size; }
            p += b->size;
        }
        assert_ptr_equal(p, s->end);   /* the blocks tile [start, end) */
        size_t bits = 0;
        for (size_t w = 0; w < TA_GRANULES / 64; w++) bits += (size_t)__builtin_popcountll(s->free_starts.bits[w]);
        assert_int_equal(bits, here);
        free_blocks += here;
    }
    size_t n = 0, bytes = 0;
    int rover_seen = 0;
    ta_block *prev = NULL;
    for (ta_block *b = fl.head; b; prev = b, b = ta_fl_next(b)) {
        if (prev) assert_true(prev < b);
        assert_ptr_equal(ta_fl_prev(b), prev);
        assert_true(ta_block_is(b, TA_STATE_FREE));
        n++;
        bytes += b->size;
        if (b == fl.rover) rover_seen = 1;
    }
    assert_ptr_equal(fl.tail, prev);
    assert_int_equal(fl.count, n);
    assert_int_equal(fl.bytes, bytes);
    assert_int_equal(n, free_blocks);
    assert_int_equal(bytes, free_bytes);
    if (n) assert_true(rover_seen); else assert_null(fl.rover);
}

/* The list is exactly the n blocks given, in order. */
static void assert_list(size_t n, ...) {
    va_list ap;
    va_start(ap, n);
    ta_block *b = fl.head;
    for (size_t i = 0; i < n; i++) {
        ta_block *want = va_arg(ap, ta_block *);
        assert_ptr_equal(b, want);
        b = ta_fl_next(b);
    }
    va_end(ap);
    assert_null(b);
    assert_int_equal(fl.count, n);
}

/* fl_front_for's contract, computed independently: the gap before a block whose user pointer is
 * aligned, 0 when already aligned, else at least TA_MIN_BLOCK. */
static size_t front_for(ta_block *b, size_t align) {
    uintptr_t user = (uintptr_t)ta_block_user(b);
    if (user % align == 0) return 0;
    size_t f = TA_MIN_BLOCK;
    while ((user + f) % align) f += TA_ALIGN;
    return f;
}

/* ---------------------------------------------------------------------------------------------
 * Next fit and the rover
 * ------------------------------------------------------------------------------------------- */

static void test_new_segment_is_one_free_block(void **state) {
    (void)state;
    ta_block *b = (ta_block *)segs->start;
    assert_list(1, b);
    assert_int_equal(b->size, TA_SEGMENT_DATA_SIZE);
    assert_ptr_equal(fl.rover, b);
    assert_true(ta_segment_is_empty(b));
    check_all();
}

static void test_next_fit_starts_at_rover_and_wraps_once(void **state) {
    (void)state;
    ta_block *p1 = alloc_blk(128);
    alloc_blk(64);
    ta_block *p3 = alloc_blk(64);
    alloc_blk(64);
    alloc_blk(fl.head->size);   /* exact fit: the list is now empty */
    assert_int_equal(fl.count, 0);
    assert_null(fl.head);
    assert_null(fl.rover);
    release(p1);
    assert_ptr_equal(fl.rover, p1);   /* the first free block of an empty list becomes the rover */
    release(p3);
    assert_ptr_equal(fl.rover, p1);   /* inserting does not move a rover */
    assert_list(2, p1, p3);
    check_all();

    size_t front, steps;
    /* From the rover, although the head would also fit. */
    fl.rover = p3;
    steps = fl.steps;
    assert_ptr_equal(ta_fl_find_locked(&fl, 64, TA_ALIGN, &front), p3);
    assert_int_equal(fl.steps - steps, 1);
    /* Past the tail it wraps to the head: the index climbs and descends one segment's fit tree
     * (at most 24 nodes and 2 leaves of headers) and reads the treap. */
    steps = fl.steps;
    assert_ptr_equal(ta_fl_find_locked(&fl, 128, TA_ALIGN, &front), p1);
    assert_in_range(fl.steps - steps, 2, FIND_STEPS_ONE_SEGMENT);
    assert_int_equal(fl.max_steps >= fl.steps - steps, 1);
    /* Nothing fits: the segment's summary says so at once, and so does the treap's, once per pass
     * (before and after the wrap). */
    size_t searches = fl.searches;
    steps = fl.steps;
    assert_null(ta_fl_find_locked(&fl, 144, TA_ALIGN, &front));
    assert_int_equal(fl.steps - steps, 2);
    assert_int_equal(fl.searches - searches, 1);
    fl.rover = p1;
    steps = fl.steps;
    assert_null(ta_fl_find_locked(&fl, 4096, TA_ALIGN, &front));
    assert_int_equal(fl.steps - steps, 2);
    check_all();
}

static void test_empty_list_finds_nothing(void **state) {
    (void)state;
    alloc_blk(TA_SEGMENT_DATA_SIZE);
    size_t front;
    assert_null(ta_fl_find_locked(&fl, 32, TA_ALIGN, &front));
    check_all();
}

static void test_split_from_front_rover_to_remainder(void **state) {
    (void)state;
    ta_block *head = fl.head;
    size_t total = head->size;
    ta_block *a = alloc_blk(64);
    assert_ptr_equal(a, head);   /* the allocated block is at the free block's start */
    assert_int_equal(a->size, 64);
    ta_block *r = at(a, 64);
    assert_list(1, r);
    assert_ptr_equal(fl.rover, r);
    assert_int_equal(r->size, total - 64);
    assert_int_equal(fl.bytes, total - 64);
    check_all();

    /* In the middle of the list the remainder keeps the block's list position. */
    ta_block *a1 = alloc_blk(256);
    alloc_blk(64);
    ta_block *a3 = alloc_blk(64);
    alloc_blk(64);
    ta_block *tail = fl.head;
    release(a1);
    release(a3);
    assert_list(3, a1, a3, tail);
    fl.rover = a1;
    size_t front;
    ta_block *b = ta_fl_find_locked(&fl, 64, TA_ALIGN, &front);
    assert_ptr_equal(b, a1);
    ta_block *u = ta_fl_carve_locked(&fl, b, front, 64);
    assert_ptr_equal(u, a1);
    ta_block *rem = at(a1, 64);
    assert_int_equal(rem->size, 192);
    assert_ptr_equal(fl.rover, rem);
    assert_list(3, rem, a3, tail);
    check_all();
}

static void test_exact_fit_moves_rover_past(void **state) {
    (void)state;
    ta_block *a1 = alloc_blk(96);
    alloc_blk(64);
    ta_block *a3 = alloc_blk(64);
    alloc_blk(64);
    ta_block *tail = fl.head;
    release(a1);
    release(a3);
    assert_list(3, a1, a3, tail);

    fl.rover = a3;
    ta_block *u = alloc_blk(64);          /* exact fit on a3 */
    assert_ptr_equal(u, a3);
    assert_ptr_equal(fl.rover, tail);     /* the next free block */
    assert_list(2, a1, tail);
    check_all();

    u = alloc_blk(tail->size);            /* exact fit on the last block: wraps to the head */
    assert_ptr_equal(u, tail);
    assert_ptr_equal(fl.rover, a1);
    assert_list(1, a1);
    check_all();

    u = alloc_blk(96);                    /* exact fit on the only block: empty list, no rover */
    assert_ptr_equal(u, a1);
    assert_null(fl.rover);
    assert_list(0);
    check_all();
}

static void test_split_threshold(void **state) {
    (void)state;
    ta_block *h = alloc_blk(80);
    alloc_blk(64);   /* guard: h's hole does not merge with the tail */
    ta_block *tail = fl.head;
    release(h);
    assert_list(2, h, tail);

    /* 80 - 64 = 16 < TA_MIN_BLOCK: no split, the whole block is handed out. */
    fl.rover = h;
    ta_block *u = alloc_blk(64);
    assert_ptr_equal(u, h);
    assert_int_equal(u->size, 80);
    assert_list(1, tail);
    check_all();
    release(u);
    assert_list(2, h, tail);

    /* 80 - 48 = 32 == TA_MIN_BLOCK: split. */
    fl.rover = h;
    u = alloc_blk(48);
    assert_ptr_equal(u, h);
    assert_int_equal(u->size, 48);
    ta_block *r = at(h, 48);
    assert_int_equal(r->size, 32);
    assert_list(2, r, tail);
    assert_ptr_equal(fl.rover, r);
    check_all();
}

static void test_front_aligned_carve(void **state) {
    (void)state;
    const size_t align = 256;
    if (front_for(fl.head, align) == 0) alloc_blk(32);   /* make the head's user pointer misaligned */
    ta_block *b = fl.head;
    size_t total = b->size, f = front_for(b, align), front = 0;
    assert_true(f >= TA_MIN_BLOCK);
    assert_ptr_equal(ta_fl_find_locked(&fl, 64, align, &front), b);
    assert_int_equal(front, f);
    ta_block *a = ta_fl_carve_locked(&fl, b, front, 64);
    assert_ptr_equal(a, at(b, f));
    assert_int_equal((uintptr_t)ta_block_user(a) % align, 0);
    assert_true(ta_block_is(a, TA_STATE_USED));
    assert_int_equal(a->size, 64);
    assert_int_equal(b->size, f);   /* the front gap stays free, in b's place */
    assert_true(ta_block_is(b, TA_STATE_FREE));
    ta_block *r = at(a, 64);
    assert_int_equal(r->size, total - f - 64);
    assert_list(2, b, r);
    assert_ptr_equal(fl.rover, r);
    check_all();

    /* Already aligned: no front gap, the block is carved at the free block's start. */
    uintptr_t ru = (uintptr_t)ta_block_user(r) % align;
    if (ru) alloc_blk(align - ru < TA_MIN_BLOCK ? 2 * align - ru : align - ru);
    ta_block *r2 = fl.tail;
    assert_int_equal((uintptr_t)ta_block_user(r2) % align, 0);
    fl.rover = r2;
    assert_ptr_equal(ta_fl_find_locked(&fl, 64, align, &front), r2);
    assert_int_equal(front, 0);
    assert_ptr_equal(ta_fl_carve_locked(&fl, r2, front, 64), r2);
    check_all();

    /* A hole of exactly front + bsize: the gap stays free, nothing remains after the block. */
    ta_block *tail = fl.tail;
    size_t hf = front_for(tail, align);
    if (hf == 0) { alloc_from_tail(32); tail = fl.tail; hf = front_for(tail, align); }
    ta_block *hole = alloc_from_tail(hf + 64);
    alloc_from_tail(64);   /* guard */
    release(hole);
    fl.rover = hole;
    assert_ptr_equal(ta_fl_find_locked(&fl, 64, align, &front), hole);
    assert_int_equal(front, hf);
    a = ta_fl_carve_locked(&fl, hole, front, 64);
    assert_int_equal((uintptr_t)ta_block_user(a) % align, 0);
    assert_int_equal(a->size, 64);
    assert_int_equal(hole->size, hf);
    assert_ptr_equal(fl.rover, hole);
    assert_true(ta_block_is(ta_block_next_phys(a), TA_STATE_USED));   /* the guard */
    check_all();
}

/* A free block too small for the aligned request is skipped. */
static void test_front_aligned_skips_too_small(void **state) {
    (void)state;
    const size_t align = 4096;
    ta_block *h = alloc_blk(80);   /* a front gap is >= 32 bytes, so 64 more never fit in 80 */
    alloc_blk(64);
    release(h);
    fl.rover = h;
    size_t front;
    ta_block *b = ta_fl_find_locked(&fl, 64, align, &front);
    assert_ptr_not_equal(b, h);
    assert_int_equal(front, front_for(b, align));
    check_all();
}

/* ---------------------------------------------------------------------------------------------
 * Coalescing
 * ------------------------------------------------------------------------------------------- */

static void test_coalesce_none_prev_next_both(void **state) {
    (void)state;
    ta_block *A = alloc_blk(64), *B = alloc_blk(96), *C = alloc_blk(128), *D = alloc_blk(160);
    ta_block *E = alloc_blk(192), *F = alloc_blk(224), *G = alloc_blk(256), *H = alloc_blk(288);
    ta_block *T = fl.head;
    size_t tsize = T->size;
    check_all();

    /* none: inserted in address order, size unchanged */
    assert_ptr_equal(release(B), B);
    assert_int_equal(B->size, 96);
    assert_list(2, B, T);
    check_all();

    /* previous: B absorbs C and keeps its list position */
    assert_ptr_equal(release(C), B);
    assert_int_equal(B->size, 96 + 128);
    assert_true(is_merged(C));
    assert_list(2, B, T);
    check_all();

    /* none again, between two listed blocks */
    assert_ptr_equal(release(G), G);
    assert_list(3, B, G, T);
    check_all();

    /* next: F absorbs G and takes its list position; a rover on G follows */
    fl.rover = G;
    assert_ptr_equal(release(F), F);
    assert_int_equal(F->size, 224 + 256);
    assert_true(is_merged(G));
    assert_ptr_equal(fl.rover, F);
    assert_list(3, B, F, T);
    check_all();

    assert_ptr_equal(release(E), E);   /* next again */
    assert_int_equal(E->size, 192 + 224 + 256);
    assert_list(3, B, E, T);

    /* both: B absorbs D and E; a rover on E moves to B */
    fl.rover = E;
    assert_ptr_equal(release(D), B);
    assert_int_equal(B->size, 96 + 128 + 160 + 192 + 224 + 256);
    assert_true(is_merged(D));
    assert_true(is_merged(E));
    assert_ptr_equal(fl.rover, B);
    assert_list(2, B, T);
    check_all();

    assert_ptr_equal(release(H), B);   /* both, with the tail */
    assert_int_equal(B->size, 96 + 128 + 160 + 192 + 224 + 256 + 288 + tsize);
    assert_list(1, B);
    check_all();

    assert_ptr_equal(release(A), A);   /* next: the segment is one free block again */
    assert_int_equal(A->size, TA_SEGMENT_DATA_SIZE);
    assert_true(ta_segment_is_empty(A));
    assert_list(1, A);
    assert_int_equal(fl.bytes, TA_SEGMENT_DATA_SIZE);
    check_all();
}

/* Frees in random order insert in address order; a seeded mix of allocations and frees keeps
 * every invariant after every step. */
static void test_random_alloc_free_keeps_invariants(void **state) {
    (void)state;
    uint64_t seed = rng_base_seed(0xf7ee1157);
    printf("freelist_test seed %#llx\n", (unsigned long long)seed);
    rng r = rng_make(seed);
    enum { SLOTS = 96 };
    ta_block *live[SLOTS] = {0};
    for (int op = 0; op < 1500; op++) {
        unsigned i = (unsigned)rng_below(&r, SLOTS);
        if (live[i]) {
            release(live[i]);
            live[i] = NULL;
        } else {
            size_t bsize = ta_block_size_for(rng_below(&r, 4) ? rng_below(&r, 200) : rng_below(&r, 20000));
            fl.rover = rng_below(&r, 8) == 0 ? fl.head : fl.rover;
            live[i] = alloc_blk(bsize);
            assert_true(live[i]->size >= bsize && live[i]->size < bsize + TA_MIN_BLOCK);
        }
        check_all();
    }
    for (unsigned i = 0; i < SLOTS; i++) if (live[i]) release(live[i]);
    assert_list(1, (ta_block *)segs->start);
    assert_int_equal(fl.head->size, TA_SEGMENT_DATA_SIZE);
    check_all();
}

/* ---------------------------------------------------------------------------------------------
 * Resize in place
 * ------------------------------------------------------------------------------------------- */

static void test_resize_shrink(void **state) {
    (void)state;
    ta_block *U = alloc_blk(256);
    alloc_blk(64);   /* guard */
    ta_block *T = fl.head;
    assert_true(ta_fl_resize_locked(&fl, U, 64));
    assert_int_equal(U->size, 64);
    assert_true(ta_block_is(U, TA_STATE_USED));
    ta_block *t = at(U, 64);
    assert_int_equal(t->size, 192);
    assert_list(2, t, T);
    check_all();

    /* Shrinking by less than a minimal block keeps the size. */
    ta_block *U2 = alloc_blk(256);
    alloc_blk(64);
    assert_true(ta_fl_resize_locked(&fl, U2, 240));
    assert_int_equal(U2->size, 256);
    check_all();

    /* The split-off tail merges with a free next neighbour. */
    ta_block *U3 = alloc_blk(256);
    ta_block *T3 = fl.rover;
    assert_ptr_equal(T3, at(U3, 256));
    size_t t3 = T3->size;
    assert_true(ta_fl_resize_locked(&fl, U3, 64));
    assert_int_equal(U3->size, 64);
    ta_block *m = at(U3, 64);
    assert_true(ta_block_is(m, TA_STATE_FREE));
    assert_int_equal(m->size, 192 + t3);
    assert_true(is_merged(T3));
    check_all();
}

static void test_resize_grow(void **state) {
    (void)state;
    ta_block *W = alloc_blk(64), *X = alloc_blk(256);
    alloc_blk(64);   /* guard */
    ta_block *T = fl.head;
    release(X);
    assert_list(2, X, T);

    fl.rover = X;
    assert_true(ta_fl_resize_locked(&fl, W, 128));
    assert_int_equal(W->size, 128);
    assert_true(ta_block_is(W, TA_STATE_USED));
    ta_block *r = at(W, 128);
    assert_int_equal(r->size, 64 + 256 - 128);
    assert_ptr_equal(fl.rover, r);   /* the rover follows the neighbour's remainder */
    assert_list(2, r, T);
    check_all();

    /* Taking all but 16 bytes of the neighbour takes all of it. */
    assert_true(ta_fl_resize_locked(&fl, W, 128 + 192 - 16));
    assert_int_equal(W->size, 128 + 192);
    assert_list(1, T);
    check_all();

    /* Cannot grow: the next block is used. */
    ta_block *W2 = alloc_blk(64);
    alloc_blk(64);
    assert_false(ta_fl_resize_locked(&fl, W2, 128));
    assert_int_equal(W2->size, 64);

    /* Cannot grow: the free neighbour is too small; nothing changes. */
    ta_block *W3 = alloc_blk(64), *X3 = alloc_blk(64);
    alloc_blk(64);
    release(X3);
    size_t count = fl.count, bytes = fl.bytes;
    assert_false(ta_fl_resize_locked(&fl, W3, 160));
    assert_int_equal(W3->size, 64);
    assert_int_equal(fl.count, count);
    assert_int_equal(fl.bytes, bytes);
    assert_true(ta_block_is(X3, TA_STATE_FREE));
    /* Exactly the two blocks: fits. */
    assert_true(ta_fl_resize_locked(&fl, W3, 128));
    assert_int_equal(W3->size, 128);
    assert_int_equal(fl.count, count - 1);
    check_all();
}

/* ---------------------------------------------------------------------------------------------
 * Corruption
 * ------------------------------------------------------------------------------------------- */

static void test_corrupted_link_is_caught(void **state) {
    (void)state;
    ta_block *A = alloc_blk(64), *B = alloc_blk(64), *C = alloc_blk(64);
    alloc_blk(64);
    ta_block *T = fl.head;
    release(A);
    release(C);
    assert_list(3, A, C, T);
    uintptr_t *cs = (uintptr_t *)ta_block_user(C), *as = (uintptr_t *)ta_block_user(A);
    uintptr_t c_next = cs[0], c_prev = cs[1], a_next = as[0];

    /* Garbage in the next link (a use-after-free write). */
    cs[0] = 0x4141414141414141ULL;
    EXPECT_FAULT(ta_fl_next(C));
    assert_int_equal(the_trap.fault, TA_FAULT_CORRUPT_LINK);
    assert_ptr_equal(the_trap.addr, ta_block_user(C));
    assert_non_null(strstr(the_trap.msg, "next link"));

    /* ... also when the block is carved whole (unlinking reads both links). Next-fit itself reads
     * no links on its way: the fit index passes over blocks by their sizes. */
    EXPECT_FAULT(ta_fl_carve_locked(&fl, C, 0, C->size));
    assert_int_equal(the_trap.fault, TA_FAULT_CORRUPT_LINK);
    assert_ptr_equal(the_trap.addr, ta_block_user(C));
    cs[0] = c_next;

    /* Garbage in the prev link. */
    cs[1] = 0;
    EXPECT_FAULT(ta_fl_prev(C));
    assert_int_equal(the_trap.fault, TA_FAULT_CORRUPT_LINK);
    assert_non_null(strstr(the_trap.msg, "prev link"));
    cs[1] = c_prev;

    /* Well-encoded links to the wrong blocks: a used block, and backwards. */
    as[0] = ta_link_encode(&as[0], B);
    EXPECT_FAULT(ta_fl_next(A));
    assert_int_equal(the_trap.fault, TA_FAULT_CORRUPT_LINK);
    as[0] = a_next;
    cs[0] = ta_link_encode(&cs[0], A);
    EXPECT_FAULT(ta_fl_next(C));
    assert_int_equal(the_trap.fault, TA_FAULT_CORRUPT_LINK);
    cs[0] = c_next;
    check_all();   /* restored: everything verifies again */

    /* Freeing B merges A, B and C, which reads C's links: the corruption is caught there too. */
    cs[1] = 0x4242424242424242ULL;
    assert_true(ta_block_claim_free(B, B->size));
    EXPECT_FAULT(ta_fl_release_locked(&fl, B));
    assert_int_equal(the_trap.fault, TA_FAULT_CORRUPT_LINK);
    assert_ptr_equal(the_trap.addr, ta_block_user(C));
}

/* Overwriting the header after a block is reported as an overflow when the block is freed. */
static void test_overflow_into_next_header_is_caught(void **state) {
    (void)state;
    ta_block *A = alloc_blk(64), *B = alloc_blk(64);
    alloc_blk(64);
    memset(ta_block_user(A), 0x5a, 64);   /* 48 usable bytes plus B's header */
    (void)B;
    assert_true(ta_block_claim_free(A, A->size));
    EXPECT_FAULT(ta_fl_release_locked(&fl, A));
    assert_int_equal(the_trap.fault, TA_FAULT_OVERFLOW);
    assert_ptr_equal(the_trap.addr, ta_block_user(A));
}

/* ---------------------------------------------------------------------------------------------
 * Several segments
 * ------------------------------------------------------------------------------------------- */

static void test_address_order_across_segments(void **state) {
    (void)state;
    ta_segment *s[3] = {segs, fake_segment_new(OWNER), fake_segment_new(OWNER)};
    /* Link the two new ones highest address first, so linking must sort. */
    if (s[1] < s[2]) { ta_segment *t = s[1]; s[1] = s[2]; s[2] = t; }
    ta_arena_link_segment_locked(&the_arena, s[1]);
    ta_arena_link_segment_locked(&the_arena, s[2]);
    for (int i = 0; i < 3; i++)   /* sort by address */
        for (int j = i + 1; j < 3; j++)
            if (s[j] < s[i]) { ta_segment *t = s[i]; s[i] = s[j]; s[j] = t; }
    assert_ptr_equal(segs, s[0]);
    assert_ptr_equal(s[0]->next, s[1]);
    assert_ptr_equal(s[1]->next, s[2]);
    assert_null(s[2]->next);
    ta_block *f[3];
    for (int i = 0; i < 3; i++) f[i] = (ta_block *)s[i]->start;
    assert_list(3, f[0], f[1], f[2]);
    assert_ptr_equal(ta_fl_next(f[0]), f[1]);   /* links cross segments and verify */
    assert_ptr_equal(ta_fl_prev(f[2]), f[1]);
    check_all();

    /* Fill the middle segment: a 64-byte block at its start and the rest in one block. */
    fl.rover = f[1];
    ta_block *m1 = alloc_blk(64);
    assert_ptr_equal(m1, f[1]);
    fl.rover = at(m1, 64);
    ta_block *m2 = alloc_blk(TA_SEGMENT_DATA_SIZE - 64);
    assert_ptr_equal(m2, at(m1, 64));
    assert_list(2, f[0], f[2]);
    check_all();

    /* A free in the middle segment finds its list neighbours in the other segments. */
    release(m1);
    assert_list(3, f[0], m1, f[2]);
    assert_ptr_equal(ta_fl_prev(m1), f[0]);
    assert_ptr_equal(ta_fl_next(m1), f[2]);
    check_all();

    /* With the lowest segment full too, the freed block becomes the head. */
    fl.rover = f[0];
    ta_block *l = alloc_blk(TA_SEGMENT_DATA_SIZE);
    assert_ptr_equal(l, f[0]);
    assert_list(2, m1, f[2]);
    check_all();
    release(l);
    assert_list(3, f[0], m1, f[2]);
    /* Next-fit wraps across segments: from a too-small block in the highest to the lowest. */
    fl.rover = f[2];
    ta_block *h = alloc_blk(TA_SEGMENT_DATA_SIZE - 64);
    assert_ptr_equal(fl.rover, fl.tail);
    assert_int_equal(fl.tail->size, 64);
    size_t front, steps = fl.steps;
    /* f[0] is a whole free segment, a tail: the search looks on (m1 is too small) until it is back
     * at the rover, then takes it. */
    assert_ptr_equal(ta_fl_find_locked(&fl, 128, TA_ALIGN, &front), f[0]);
    assert_in_range(fl.steps - steps, 3, 3 * FIND_STEPS_ONE_SEGMENT);
    release(h);
    release(m2);
    assert_list(3, f[0], f[1], f[2]);
    for (int i = 0; i < 3; i++) assert_int_equal(f[i]->size, TA_SEGMENT_DATA_SIZE);
    check_all();

    /* Unlinking the middle segment leaves the others linked in order. */
    ta_arena_unlink_segment_locked(&the_arena, s[1]);
    fake_segment_free(s[1]);
    assert_list(2, f[0], f[2]);
    assert_ptr_equal(ta_fl_next(f[0]), f[2]);
    check_all();
}

/* A segment's tail (the free block ending at the segment's end) is kept for last: a hole behind the
 * rover that fits is taken first, the tail only when no hole fits. */
static void test_tail_kept_for_last(void **state) {
    (void)state;
    ta_block *a = alloc_blk(64), *b = alloc_blk(64);
    alloc_blk(64);
    (void)a;
    release(b);                       /* a hole of 64 behind the rover */
    ta_block *tail = fl.tail;
    assert_ptr_equal(fl.rover, tail);
    assert_list(2, b, tail);
    size_t front = 1;
    assert_ptr_equal(ta_fl_find_locked(&fl, 64, TA_ALIGN, &front), b);   /* not the tail ahead */
    assert_int_equal(front, 0);
    assert_ptr_equal(ta_fl_find_locked(&fl, 80, TA_ALIGN, &front), tail); /* the hole is too small */
    /* Carving the hole moves the rover past it, as next-fit does. */
    assert_ptr_equal(alloc_blk(64), b);
    assert_ptr_equal(fl.rover, tail);
    check_all();
}

/* Builds n holes of 32 bytes and then a hole of 64, separated by used guards, all below the tail;
 * the rover at the tail. Returns the 64-byte hole. */
static ta_block *holes_then_fit(int n) {
    for (int i = 0; i < n; i++) {
        ta_block *h = alloc_from_tail(32);
        alloc_from_tail(32);   /* guard */
        release(h);
    }
    ta_block *fit = alloc_from_tail(64);
    alloc_from_tail(32);
    release(fit);
    fl.rover = fl.tail;
    assert_int_equal(fl.count, (size_t)n + 2);
    return fit;
}

/* Past a tail that fits, the search looks at TA_FL_TAIL_STEPS more blocks for a hole (here: from the
 * tail, wrapping to the lowest hole), and takes the tail when none of them fits. */
static void test_tail_steps_bound_the_search(void **state) {
    (void)state;
    ta_block *fit = holes_then_fit(TA_FL_TAIL_STEPS - 1);   /* the fit is the TA_FL_TAIL_STEPS-th block after the tail */
    size_t front, steps = fl.steps;
    assert_ptr_equal(ta_fl_find_locked(&fl, 64, TA_ALIGN, &front), fit);
    assert_int_equal(fl.steps - steps, TA_FL_TAIL_STEPS + 1);
    check_all();
}

static void test_tail_taken_after_tail_steps(void **state) {
    (void)state;
    holes_then_fit(TA_FL_TAIL_STEPS);   /* one small hole more: the fit is beyond the bound */
    size_t front, steps = fl.steps;
    assert_ptr_equal(ta_fl_find_locked(&fl, 64, TA_ALIGN, &front), fl.tail);
    assert_int_equal(fl.steps - steps, TA_FL_TAIL_STEPS + 1);
    check_all();
}

int main(void) {
    ta_block_init_secrets(0x6e7f1e57ULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_segment_is_one_free_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_fit_starts_at_rover_and_wraps_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_list_finds_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_from_front_rover_to_remainder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exact_fit_moves_rover_past, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_threshold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_front_aligned_carve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_front_aligned_skips_too_small, setup, teardown),
        cmocka_unit_test_setup_teardown(test_coalesce_none_prev_next_both, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_alloc_free_keeps_invariants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resize_shrink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resize_grow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupted_link_is_caught, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overflow_into_next_header_is_caught, setup, teardown),
        cmocka_unit_test_setup_teardown(test_address_order_across_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_kept_for_last, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_steps_bound_the_search, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_taken_after_tail_steps, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
