/* harness.c - see harness.h. The harness's own bookkeeping (thread groups, channels) uses the C
 * library's malloc, which the stress targets keep (malloc = "//alloc:system_malloc"), so it never
 * touches the heap under test. */
#include "stress/harness.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/testlib/pattern.h"

/* ---------------------------------------------------------------------------------------------
 * Run state.
 * ------------------------------------------------------------------------------------------- */

static const char *run_suite = "stress";
static uint64_t run_seed;
static unsigned run_scale = 1;
static struct timespec run_start;
static ta_stats run_stats0;
static atomic_size_t run_ops, run_cross;

static double now_seconds(const struct timespec *since) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - since->tv_sec) + (double)(t.tv_nsec - since->tv_nsec) / 1e9;
}

void stress_fail(const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "STRESS FAILURE %s: %s\n  (seed 0x%llx: replay with TAMALLOC_TEST_SEED=0x%llx, scale %u)\n",
            run_suite, msg, (unsigned long long)run_seed, (unsigned long long)run_seed, run_scale);
    fflush(stderr);
    fflush(stdout);
    abort();
}

static unsigned parse_positive(const char *name, const char *v) {
    char *end = NULL;
    unsigned long x = strtoul(v, &end, 10);
    if (end == v || *end != 0 || x < 1 || x > 1000000) stress_fail("%s=%s: expected an integer from 1 to 1000000", name, v);
    return (unsigned)x;
}

void stress_begin(const char *suite, uint64_t default_seed) {
    run_suite = suite;
    run_seed = rng_base_seed(default_seed);
    const char *s = getenv("TAMALLOC_STRESS_SCALE");
    run_scale = s ? parse_positive("TAMALLOC_STRESS_SCALE", s) : 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    ta_arena_stats as;
    printf("%s: seed 0x%llx (TAMALLOC_TEST_SEED replays), scale %u%s, api %s, arenas configured %zu\n", suite,
           (unsigned long long)run_seed, run_scale, STRESS_TSAN ? " (TSan: operation counts divided by " STRESS_TSAN_DIVISOR_STR ")" : "",
           STRESS_API_NAME, ta_get_arena_stats(0, &as));
    ta_get_stats(&run_stats0);
    clock_gettime(CLOCK_MONOTONIC, &run_start);
}

int stress_end(void) {
    double elapsed = now_seconds(&run_start);
    ta_collect();
    int rc = ta_check();
    STRESS_REQUIRE(rc == 0, "ta_check() = %d (%s) after ta_collect()", rc, ta_check_name(rc));
    ta_stats s;
    ta_get_stats(&s);
    STRESS_REQUIRE(s.remote_pushed == s.remote_drained,
                   "after ta_collect(): remote_pushed %zu != remote_drained %zu (remote frees stranded)",
                   s.remote_pushed, s.remote_drained);
#ifndef STRESS_USE_LIBC
    STRESS_REQUIRE(s.allocated == run_stats0.allocated,
                   "ta_get_stats().allocated is %zu at the end, %zu at the start (%zu large): leak or lost accounting",
                   s.allocated, run_stats0.allocated, s.large_allocated);
#else
    /* Under the override, the C library's own allocations (stdio, thread descriptors) come from
     * tamalloc too and may outlive the suite, so the exact balance is not required here. */
    printf("%s: allocated %zu at the end, %zu at the start (not required equal under STRESS_USE_LIBC)\n", run_suite,
           s.allocated, run_stats0.allocated);
#endif
    printf("%s: PASS ops %zu, cross-thread frees %zu, remote frees queued %zu, elapsed %.2f s, arenas used %zu, "
           "mapped at end %zu\n",
           run_suite, atomic_load(&run_ops), atomic_load(&run_cross), s.remote_pushed - run_stats0.remote_pushed,
           elapsed, s.arenas, s.mapped);
    ta_stats_print(stdout);
    return 0;
}

uint64_t stress_seed(void) { return run_seed; }
unsigned stress_scale(void) { return run_scale; }

size_t stress_ops(size_t base) {
    size_t n = base * run_scale;
    if (STRESS_TSAN) n /= STRESS_TSAN_DIVISOR;
    return n ? n : 1;
}

rng stress_rng(unsigned stream) {
    rng r = rng_make(run_seed ^ ((uint64_t)(stream + 1) * 0xd1b54a32d192ed03ULL));
    rng_next(&r);
    return r;
}

size_t stress_size(rng *r, size_t lo, size_t hi) {
    if (hi <= lo) return lo;
    unsigned bits = 0;
    while (bits < 63 && ((size_t)1 << bits) <= hi - lo) bits++;
    size_t span = (size_t)1 << rng_below(r, bits + 1);
    size_t n = lo + rng_below(r, span);
    return n > hi ? hi : n;
}

unsigned stress_env_arenas(void) {
    const char *v = getenv("TAMALLOC_ARENAS");
    return v ? parse_positive("TAMALLOC_ARENAS", v) : 0;
}

int stress_threshold_pinned(void) {
    const char *v = getenv("TAMALLOC_MMAP_THRESHOLD");
    return v && (strcmp(v, "128K") == 0 || strcmp(v, "131072") == 0);
}

void stress_count_ops(size_t n) { atomic_fetch_add(&run_ops, n); }
void stress_count_cross(size_t n) { atomic_fetch_add(&run_cross, n); }

/* ---------------------------------------------------------------------------------------------
 * Threads.
 * ------------------------------------------------------------------------------------------- */

struct stress_group {
    unsigned n;
    stress_thread_fn fn;
    void *arg;
    pthread_barrier_t start;
    struct group_thread { stress_group *g; unsigned index; pthread_t tid; } *t;
};

static void *group_main(void *p) {
    struct group_thread *t = p;
    pthread_barrier_wait(&t->g->start);
    t->g->fn(t->index, t->g->arg);
    return NULL;
}

stress_group *stress_group_start(unsigned n, stress_thread_fn fn, void *arg) {
    stress_group *g = calloc(1, sizeof *g);
    STRESS_REQUIRE(g && n > 0, "thread group of %u", n);
    g->n = n;
    g->fn = fn;
    g->arg = arg;
    g->t = calloc(n, sizeof *g->t);
    STRESS_REQUIRE(g->t != NULL, "out of memory for %u threads", n);
    pthread_barrier_init(&g->start, NULL, n);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (unsigned i = 0; i < n; i++) {
        g->t[i].g = g;
        g->t[i].index = i;
        int rc = pthread_create(&g->t[i].tid, &attr, group_main, &g->t[i]);
        STRESS_REQUIRE(rc == 0, "pthread_create of thread %u/%u: %s", i, n, strerror(rc));
    }
    pthread_attr_destroy(&attr);
    return g;
}

void stress_group_join(stress_group *g) {
    for (unsigned i = 0; i < g->n; i++) pthread_join(g->t[i].tid, NULL);
    pthread_barrier_destroy(&g->start);
    free(g->t);
    free(g);
}

void stress_run_threads(unsigned n, stress_thread_fn fn, void *arg) { stress_group_join(stress_group_start(n, fn, arg)); }

/* ---------------------------------------------------------------------------------------------
 * Blocks.
 * ------------------------------------------------------------------------------------------- */

void stress_verify(const void *p, size_t n, uint64_t tag, const char *when) {
    size_t bad = pattern_find_bad(p, n, tag);
    if (bad != (size_t)-1)
        stress_fail("corrupted block %p (%zu bytes, allocated by thread %u, tag 0x%llx): byte %zu is 0x%02x, not the "
                    "pattern, %s",
                    p, n, stress_tag_thread(tag), (unsigned long long)tag, bad, ((const unsigned char *)p)[bad], when);
}

static void accept_checks(void *p, size_t n, size_t align, const char *what) {
    STRESS_REQUIRE(p != NULL, "%s(%zu) returned NULL", what, n);
    if (align < 16) align = 16;
    STRESS_REQUIRE(((uintptr_t)p & (align - 1)) == 0, "%s(%zu) returned %p, not %zu-aligned", what, n, p, align);
    size_t usable = STRESS_USABLE(p);
    STRESS_REQUIRE(usable >= n, "%s(%zu) returned %p with usable size %zu", what, n, p, usable);
}

void stress_accept(void *p, size_t n, size_t align, uint64_t tag, const char *what) {
    accept_checks(p, n, align, what);
    pattern_fill(p, n, tag);
}

void stress_blk_malloc(stress_blk *b, size_t n, uint64_t tag) {
    b->p = STRESS_MALLOC(n);
    b->n = n;
    b->tag = tag;
    stress_accept(b->p, n, 16, tag, "malloc");
}

void stress_blk_free(stress_blk *b, const char *who) {
    stress_verify(b->p, b->n, b->tag, who);
    STRESS_FREE(b->p);
    b->p = NULL;
    b->n = 0;
}

typedef struct obj_head { uint64_t n, tag; } obj_head;

void *stress_obj_new(size_t n, uint64_t tag) {
    if (n < sizeof(obj_head)) n = sizeof(obj_head);
    void *p = STRESS_MALLOC(n);
    accept_checks(p, n, 16, "malloc");
    pattern_fill((char *)p + sizeof(obj_head), n - sizeof(obj_head), tag);
    obj_head *h = p;
    h->n = n;
    h->tag = tag;
    return p;
}

uint64_t stress_obj_free(void *p, const char *who) {
    obj_head h = *(obj_head *)p;
    size_t usable = STRESS_USABLE(p);
    STRESS_REQUIRE(h.n >= sizeof h && h.n <= usable,
                   "corrupted object %p: header size %llu (usable %zu, tag 0x%llx), %s", p, (unsigned long long)h.n,
                   usable, (unsigned long long)h.tag, who);
    stress_verify((char *)p + sizeof h, h.n - sizeof h, h.tag, who);
    STRESS_FREE(p);
    return h.tag;
}

/* ---------------------------------------------------------------------------------------------
 * Channel.
 * ------------------------------------------------------------------------------------------- */

struct stress_chan {
    pthread_mutex_t m;
    pthread_cond_t not_empty, not_full;
    size_t cap, head, count;
    int closed;
    stress_blk *ring;
};

stress_chan *stress_chan_new(size_t capacity) {
    stress_chan *c = calloc(1, sizeof *c);
    STRESS_REQUIRE(c != NULL, "out of memory for a channel");
    c->ring = calloc(capacity, sizeof *c->ring);
    STRESS_REQUIRE(c->ring != NULL && capacity > 0, "channel of %zu", capacity);
    c->cap = capacity;
    pthread_mutex_init(&c->m, NULL);
    pthread_cond_init(&c->not_empty, NULL);
    pthread_cond_init(&c->not_full, NULL);
    return c;
}

void stress_chan_destroy(stress_chan *c) {
    STRESS_REQUIRE(c->count == 0, "channel destroyed with %zu blocks in it", c->count);
    pthread_mutex_destroy(&c->m);
    pthread_cond_destroy(&c->not_empty);
    pthread_cond_destroy(&c->not_full);
    free(c->ring);
    free(c);
}

void stress_chan_put(stress_chan *c, const stress_blk *b) {
    pthread_mutex_lock(&c->m);
    STRESS_REQUIRE(!c->closed, "put on a closed channel");
    while (c->count == c->cap) pthread_cond_wait(&c->not_full, &c->m);
    c->ring[(c->head + c->count) % c->cap] = *b;
    c->count++;
    pthread_cond_signal(&c->not_empty);
    pthread_mutex_unlock(&c->m);
}

int stress_chan_try_put(stress_chan *c, const stress_blk *b) {
    pthread_mutex_lock(&c->m);
    STRESS_REQUIRE(!c->closed, "put on a closed channel");
    int room = c->count < c->cap;
    if (room) {
        c->ring[(c->head + c->count) % c->cap] = *b;
        c->count++;
        pthread_cond_signal(&c->not_empty);
    }
    pthread_mutex_unlock(&c->m);
    return room;
}

static void chan_take_locked(stress_chan *c, stress_blk *out) {
    *out = c->ring[c->head];
    c->head = (c->head + 1) % c->cap;
    c->count--;
    pthread_cond_signal(&c->not_full);
}

int stress_chan_get(stress_chan *c, stress_blk *out) {
    pthread_mutex_lock(&c->m);
    while (c->count == 0 && !c->closed) pthread_cond_wait(&c->not_empty, &c->m);
    int got = c->count > 0;
    if (got) chan_take_locked(c, out);
    pthread_mutex_unlock(&c->m);
    return got;
}

int stress_chan_try_get(stress_chan *c, stress_blk *out) {
    pthread_mutex_lock(&c->m);
    int got = c->count > 0;
    if (got) chan_take_locked(c, out);
    pthread_mutex_unlock(&c->m);
    return got;
}

void stress_chan_close(stress_chan *c) {
    pthread_mutex_lock(&c->m);
    c->closed = 1;
    pthread_cond_broadcast(&c->not_empty);
    pthread_mutex_unlock(&c->m);
}
