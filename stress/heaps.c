/* heaps.c - first-class heaps under concurrency: 4 threads share 2 heaps. Each thread allocates
 * from either heap (ta_heap_malloc, ta_heap_calloc, ta_heap_aligned_alloc) and from its own arena
 * (ta_malloc), hands blocks to the others through a shared channel, and frees (ta_free) or resizes
 * (ta_realloc, or ta_heap_realloc with the block's own heap) the blocks it takes: most frees and
 * resizes are of blocks another thread allocated. After the threads are joined, the heaps are
 * destroyed with blocks still live in them (in the channel and left by the threads), the channel's
 * heap blocks are dropped unfreed, and its arena blocks must still carry their pattern. Three
 * rounds, each with two new heaps; then the harness's closing invariant (ta_check, remote frees all
 * drained, allocated back to its start value). Run it under --config=tsan too. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "stress/harness.h"
#include "tamalloc.h"

enum { THREADS = 4, HEAPS = 2, ROUNDS = 3, OPS_PER_THREAD = 60000, CHAN = 512, KEEP = 32 };

static ta_heap *heaps[HEAPS];
static stress_chan *chan;
static size_t ops_per_thread;

/* seq's low 2 bits: the heap (0, 1) or 2 for the thread's arena. */
static unsigned blk_home(const stress_blk *b) { return (unsigned)(b->tag & 3); }

static size_t pick_size(rng *r) {
    uint64_t roll = rng_below(r, 1000);
    if (roll < 3) return stress_size(r, STRESS_LARGE_MIN, 512 * 1024);
    if (roll < 80) return stress_size(r, 2048, 64 * 1024);
    return stress_size(r, 16, 2048);
}

typedef struct worker { unsigned me; rng r; uint64_t seq; size_t ops, cross; } worker;

static void new_blk(worker *w, stress_blk *b) {
    unsigned home = (unsigned)rng_below(&w->r, 5);   /* 0, 1: a heap (twice as often); 2: the arena */
    home = home < 4 ? home & 1 : 2;
    size_t n = pick_size(&w->r);
    uint64_t tag = stress_tag(w->me, (w->seq++ << 2) | home);
    void *p;
    size_t align = 16;
    if (home == 2) {
        p = ta_malloc(n);
    } else {
        uint64_t how = rng_below(&w->r, 10);
        if (how == 0) {
            p = ta_heap_calloc(heaps[home], 1, n);
            STRESS_REQUIRE(p != NULL, "ta_heap_calloc(%zu) failed", n);
            for (size_t i = 0; i < n; i++) STRESS_REQUIRE(((unsigned char *)p)[i] == 0, "ta_heap_calloc byte %zu not zero", i);
        } else if (how == 1) {
            align = (size_t)64 << rng_below(&w->r, 6);
            p = ta_heap_aligned_alloc(heaps[home], align, n);
        } else {
            p = ta_heap_malloc(heaps[home], n);
        }
    }
    w->ops++;
    stress_accept(p, n, align, tag, home == 2 ? "ta_malloc" : "ta_heap_*alloc");
    b->p = p;
    b->n = n;
    b->tag = tag;
}

static void free_blk(worker *w, stress_blk *b) {
    if (stress_tag_thread(b->tag) != w->me) w->cross++;
    w->ops++;
    stress_verify(b->p, b->n, b->tag, "before ta_free in heaps");
    ta_free(b->p);
    b->p = NULL;
}

/* Resized by another thread, through ta_realloc or (for a heap's block) ta_heap_realloc: the
 * block must stay in its home, which the closing destroy checks (a block moved out of its heap
 * would survive it and show as allocated at the end). */
static void resize_blk(worker *w, stress_blk *b) {
    size_t n2 = pick_size(&w->r);
    unsigned home = blk_home(b);
    stress_verify(b->p, b->n, b->tag, "before realloc in heaps");
    unsigned char head[64];   /* the pattern depends on the address: compare the bytes kept */
    size_t kept = b->n < n2 ? b->n : n2;
    if (kept > sizeof head) kept = sizeof head;
    memcpy(head, b->p, kept);
    void *q = home < HEAPS && rng_below(&w->r, 2) ? ta_heap_realloc(heaps[home], b->p, n2) : ta_realloc(b->p, n2);
    STRESS_REQUIRE(q != NULL, "realloc to %zu failed", n2);
    STRESS_REQUIRE(memcmp(q, head, kept) == 0, "realloc %p -> %p lost its contents", b->p, q);
    uint64_t tag = stress_tag(w->me, (w->seq++ << 2) | home);
    stress_accept(q, n2, 16, tag, "realloc");
    if (stress_tag_thread(b->tag) != w->me) w->cross++;
    w->ops++;
    b->p = q;
    b->n = n2;
    b->tag = tag;
}

static void run(unsigned me, void *arg) {
    (void)arg;
    worker w = {me, stress_rng(me + 100 * (unsigned)(uintptr_t)arg), 0, 0, 0};
    stress_blk keep[KEEP] = {{0}};
    for (size_t i = 0; i < ops_per_thread; i++) {
        uint64_t roll = rng_below(&w.r, 100);
        stress_blk b;
        if (roll < 45) {                         /* hand a new block to the others */
            new_blk(&w, &b);
            if (!stress_chan_try_put(chan, &b)) {
                stress_blk old;
                if (stress_chan_try_get(chan, &old)) free_blk(&w, &old);
                if (!stress_chan_try_put(chan, &b)) free_blk(&w, &b);
            }
        } else if (roll < 85) {                  /* take one (most likely another thread's) */
            if (!stress_chan_try_get(chan, &b)) continue;
            if (rng_below(&w.r, 4) == 0) {
                resize_blk(&w, &b);
                unsigned k = (unsigned)rng_below(&w.r, KEEP);
                if (keep[k].p) free_blk(&w, &keep[k]);
                keep[k] = b;
            } else {
                free_blk(&w, &b);
            }
        } else {                                 /* churn the kept set */
            unsigned k = (unsigned)rng_below(&w.r, KEEP);
            if (keep[k].p) free_blk(&w, &keep[k]);
            new_blk(&w, &keep[k]);
        }
    }
    /* Heap blocks stay live for the destroy; arena blocks are freed (they outlive no heap). */
    for (unsigned k = 0; k < KEEP; k++)
        if (keep[k].p && blk_home(&keep[k]) == 2) free_blk(&w, &keep[k]);
    stress_count_ops(w.ops);
    stress_count_cross(w.cross);
}

int main(void) {
    stress_begin("heaps", 0x4ea95ull);
    ops_per_thread = stress_ops(OPS_PER_THREAD);
    for (unsigned round = 0; round < ROUNDS; round++) {
        for (unsigned h = 0; h < HEAPS; h++) {
            heaps[h] = ta_heap_new();
            STRESS_REQUIRE(heaps[h] != NULL, "ta_heap_new failed");
        }
        chan = stress_chan_new(CHAN);
        stress_run_threads(THREADS, run, (void *)(uintptr_t)round);
        size_t live[HEAPS], pending = 0;
        for (unsigned h = 0; h < HEAPS; h++) {
            ta_stats s;
            STRESS_REQUIRE(ta_heap_get_stats(heaps[h], &s) == 0, "ta_heap_get_stats");
            live[h] = s.allocated;
            pending += s.remote_pushed - s.remote_drained;
        }
        STRESS_REQUIRE(ta_check() == 0, "ta_check() = %d before the destroy", ta_check());
        ta_stats before, after;
        ta_get_stats(&before);
        for (unsigned h = 0; h < HEAPS; h++) ta_heap_destroy(heaps[h]);
        ta_get_stats(&after);
        STRESS_REQUIRE(before.allocated - after.allocated >= live[0] + live[1],
                       "destroy freed %zu bytes, the heaps held %zu", before.allocated - after.allocated, live[0] + live[1]);
        /* the channel: heap blocks are gone with their heaps, arena blocks must be intact */
        stress_chan_close(chan);
        stress_blk b;
        size_t dropped = 0, kept = 0;
        while (stress_chan_get(chan, &b)) {
            if (blk_home(&b) < HEAPS) { dropped++; continue; }
            stress_verify(b.p, b.n, b.tag, "arena block after the heaps' destroy");
            ta_free(b.p);
            kept++;
        }
        stress_chan_destroy(chan);
        printf("heaps round %u: heaps held %zu + %zu bytes (%zu remote frees pending) at destroy; channel: %zu heap "
               "blocks dropped, %zu arena blocks intact\n", round, live[0], live[1], pending, dropped, kept);
        STRESS_REQUIRE(ta_check() == 0, "ta_check() = %d after the destroy", ta_check());
    }
    return stress_end();
}
