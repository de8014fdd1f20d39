/* mixed_random.c - every allocation call at random: malloc, calloc (checked zeroed), realloc (the
 * kept prefix checked against a hash taken before the call, including moves across the 128 KiB
 * mapping threshold and realloc(p, 0)), memalign / posix_memalign / aligned_alloc (alignment 16 B to
 * 4 KiB, sometimes 64 KiB, checked), usable-size queries and frees, at sizes from 1 byte to past the
 * threshold. Some blocks go to another thread's mailbox; the receiver frees them or reallocs them
 * (a realloc of another arena's block) and keeps them. Thread 0 runs ta_check() and ta_get_stats()
 * while the others work: both take one arena lock at a time and must see every arena consistent. */
#include <stdio.h>
#include <string.h>

#include "stress/harness.h"

enum { THREADS = 4, SLOTS = 256, MAILBOX = 64, OPS_PER_THREAD = 60000, RECEIVE_EVERY = 16, CHECK_EVERY = 4096 };

static stress_chan *mailbox[THREADS];
static size_t ops_per_thread;

typedef struct worker {
    unsigned me;
    rng r;
    uint64_t seq;
    size_t ops, cross;
    stress_blk slot[SLOTS];
} worker;

static uint64_t content_hash(const void *p, size_t n) {
    const unsigned char *c = p;
    uint64_t h = 0xcbf29ce484222325ULL ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, c + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    for (; i < n; i++) h = (h ^ c[i]) * 0x100000001b3ULL;
    return h;
}

static size_t pick_size(rng *r) {
    if (rng_below(r, 100) < 3) return stress_size(r, 96 * 1024, 200 * 1024);   /* both sides of the threshold */
    return stress_size(r, 1, 64 * 1024);
}

static void do_alloc(worker *w, stress_blk *b) {
    size_t n = pick_size(&w->r), align = 16;
    uint64_t tag = stress_tag(w->me, w->seq++);
    uint64_t roll = rng_below(&w->r, 100);
    void *p = NULL;
    const char *what;
    if (roll < 50) {
        what = "malloc";
        p = STRESS_MALLOC(n);
    } else if (roll < 75) {
        what = "calloc";
        size_t count = 1 + rng_below(&w->r, 8), each = (n + count - 1) / count;
        n = count * each;
        p = STRESS_CALLOC(count, each);
        STRESS_REQUIRE(p != NULL, "calloc(%zu, %zu) returned NULL", count, each);
        for (size_t i = 0; i < n; i++)
            STRESS_REQUIRE(((unsigned char *)p)[i] == 0, "calloc(%zu, %zu) = %p: byte %zu is 0x%02x, not zero", count,
                           each, p, i, ((unsigned char *)p)[i]);
    } else {
        align = (size_t)16 << rng_below(&w->r, 9);                  /* 16 B .. 4 KiB */
        if (rng_below(&w->r, 50) == 0) align = (size_t)64 * 1024;    /* large enough to get its own mapping */
        switch (rng_below(&w->r, 3)) {
        case 0:
            what = "memalign";
            p = STRESS_MEMALIGN(align, n);
            break;
        case 1: {
            what = "posix_memalign";
            int rc = STRESS_POSIX_MEMALIGN(&p, align, n);
            STRESS_REQUIRE(rc == 0, "posix_memalign(%zu, %zu) = %d", align, n, rc);
            break;
        }
        default:
            what = "aligned_alloc";
            n = (n + align - 1) & ~(align - 1);   /* C11 wants a multiple of the alignment */
            p = STRESS_ALIGNED_ALLOC(align, n);
            break;
        }
    }
    stress_accept(p, n, align, tag, what);
    *b = (stress_blk){p, n, tag};
    w->ops++;
}

static void do_free(worker *w, stress_blk *b) {
    if (stress_tag_thread(b->tag) != w->me) w->cross++;
    stress_blk_free(b, "before free in mixed_random");
    w->ops++;
}

static void do_realloc(worker *w, stress_blk *b) {
    stress_verify(b->p, b->n, b->tag, "before realloc");
    w->ops++;
    if (rng_below(&w->r, 100) == 0) {   /* realloc(p, 0) frees p and returns NULL */
        if (stress_tag_thread(b->tag) != w->me) w->cross++;
        void *q = STRESS_REALLOC(b->p, 0);
        STRESS_REQUIRE(q == NULL, "realloc(%p, 0) returned %p, not NULL", b->p, q);
        *b = (stress_blk){0};
        return;
    }
    size_t n = pick_size(&w->r), keep = n < b->n ? n : b->n;
    uint64_t h = content_hash(b->p, keep);
    void *q = STRESS_REALLOC(b->p, n);
    STRESS_REQUIRE(q != NULL, "realloc(%p, %zu -> %zu) returned NULL", b->p, b->n, n);
    STRESS_REQUIRE(content_hash(q, keep) == h, "realloc(%p, %zu -> %zu) = %p did not keep the first %zu bytes", b->p,
                   b->n, n, q, keep);
    *b = (stress_blk){q, n, stress_tag(w->me, w->seq++)};
    stress_accept(q, n, 16, b->tag, "realloc");
}

static void do_send(worker *w, stress_blk *b) {
    unsigned to = (w->me + 1 + (unsigned)rng_below(&w->r, THREADS - 1)) % THREADS;
    if (stress_chan_try_put(mailbox[to], b)) *b = (stress_blk){0};
}

static void do_receive(worker *w) {
    stress_blk got;
    while (stress_chan_try_get(mailbox[w->me], &got)) {
        if (rng_below(&w->r, 2)) {
            do_free(w, &got);
        } else {
            stress_blk *s = &w->slot[rng_below(&w->r, SLOTS)];
            if (s->p) do_free(w, s);
            *s = got;
            do_realloc(w, s);   /* often another arena's block */
        }
    }
}

static void run(unsigned me, void *arg) {
    (void)arg;
    worker *w = calloc(1, sizeof *w);
    STRESS_REQUIRE(w != NULL, "out of memory");
    w->me = me;
    w->r = stress_rng(me);
    for (size_t i = 0; i < ops_per_thread; i++) {
        stress_blk *b = &w->slot[rng_below(&w->r, SLOTS)];
        if (!b->p) {
            do_alloc(w, b);
        } else {
            uint64_t roll = rng_below(&w->r, 100);
            if (roll < 40) {
                do_free(w, b);
            } else if (roll < 60) {
                do_realloc(w, b);
            } else if (roll < 72) {
                do_send(w, b);
            } else if (roll < 80) {
                size_t usable = STRESS_USABLE(b->p);
                STRESS_REQUIRE(usable >= b->n, "usable size of %p is %zu, asked %zu", b->p, usable, b->n);
                stress_verify(b->p, b->n, b->tag, "after a usable-size query");
                w->ops++;
            } else {
                do_free(w, b);
                do_alloc(w, b);
            }
        }
        if (i % RECEIVE_EVERY == 0) do_receive(w);
        if (me == 0 && i % CHECK_EVERY == CHECK_EVERY - 1) {
            int rc = ta_check();
            STRESS_REQUIRE(rc == 0, "ta_check() = %d (%s) while other threads allocate", rc, ta_check_name(rc));
            ta_stats s;
            ta_get_stats(&s);
            STRESS_REQUIRE(s.remote_drained <= s.remote_pushed, "stats: drained %zu > pushed %zu", s.remote_drained,
                           s.remote_pushed);
        }
    }
    do_receive(w);
    for (unsigned i = 0; i < SLOTS; i++)
        if (w->slot[i].p) do_free(w, &w->slot[i]);
    stress_count_ops(w->ops);
    stress_count_cross(w->cross);
    free(w);
}

int main(void) {
    stress_begin("mixed_random", 0x3177edULL);
    ops_per_thread = stress_ops(OPS_PER_THREAD);
    for (unsigned i = 0; i < THREADS; i++) mailbox[i] = stress_chan_new(MAILBOX);
    stress_run_threads(THREADS, run, NULL);
    worker *w = calloc(1, sizeof *w);   /* blocks sent after their receiver's last look */
    STRESS_REQUIRE(w != NULL, "out of memory");
    w->me = THREADS;
    for (unsigned i = 0; i < THREADS; i++) {
        stress_blk b;
        while (stress_chan_try_get(mailbox[i], &b)) do_free(w, &b);
        stress_chan_destroy(mailbox[i]);
    }
    stress_count_ops(w->ops);
    stress_count_cross(w->cross);
    free(w);
    return stress_end();
}
