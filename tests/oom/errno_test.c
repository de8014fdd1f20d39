/* errno_test.c - ta_free leaves errno alone on every path: NULL, a small block (local coalescing),
 * a large block (munmap), a remote free (lock-free push), a remote free into an arena with no live
 * thread (the pusher drains it), a free that drains the caller's remote queue, and frees that
 * release whole segments back to the OS (munmap after unlocking). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>

#include "tamalloc.h"

#define SENTINEL 9137

static void free_keeps_errno(void *p) {
    errno = SENTINEL;
    ta_free(p);
    assert_int_equal(errno, SENTINEL);
}

static void test_local_and_large(void **state) {
    (void)state;
    free_keeps_errno(NULL);
    void *a = ta_malloc(24), *b = ta_malloc(5000), *c = ta_malloc(64 << 10), *d = ta_malloc(1 << 20);
    void *e = ta_aligned_alloc(1 << 21, 100);   /* a large block aligned beyond a segment */
    assert_non_null(a); assert_non_null(b); assert_non_null(c); assert_non_null(d); assert_non_null(e);
    free_keeps_errno(b);   /* no free neighbour */
    free_keeps_errno(a);   /* merges forward into b's space */
    free_keeps_errno(c);
    free_keeps_errno(d);   /* munmap */
    free_keeps_errno(e);
    assert_int_equal(ta_check(), 0);
}

/* Frees that empty segments beyond the retained one: with TAMALLOC_DECAY_MS=0 (BUILD) the decay
 * ticks inside these frees unmap them (after unlocking) and purge free pages. */
static void test_segment_release(void **state) {
    (void)state;
    enum { N = 120 };   /* 120 x 100 KB: about three segments */
    void *p[N];
    for (int i = 0; i < N; i++) assert_non_null(p[i] = ta_malloc(100000));
    ta_stats before;
    ta_get_stats(&before);
    for (int i = 0; i < N; i++) free_keeps_errno(p[i]);
    ta_stats after;
    ta_get_stats(&after);
    for (int k = 0; k < 256 && after.mapped >= before.mapped; k++) {   /* more arena operations: ticks */
        void *q = ta_malloc(5000);
        assert_non_null(q);
        free_keeps_errno(q);
        ta_get_stats(&after);
    }
    assert_true(after.mapped < before.mapped);   /* some segment really went back to the OS */
    assert_int_equal(ta_check(), 0);
}

typedef struct job { void **blocks; int n; int alloc; } job;

static void *worker(void *arg) {
    job *j = arg;
    for (int i = 0; i < j->n; i++) {
        if (j->alloc) { j->blocks[i] = ta_malloc(48 + (size_t)i * 16); if (!j->blocks[i]) return (void *)1; }
        else {
            errno = SENTINEL;
            ta_free(j->blocks[i]);
            if (errno != SENTINEL) return (void *)1;
        }
    }
    return NULL;
}

static int run(job *j) {
    pthread_t t;
    void *rc = (void *)1;
    if (pthread_create(&t, NULL, worker, j) != 0) return -1;
    pthread_join(t, &rc);
    return rc == NULL ? 0 : -1;
}

static void test_remote(void **state) {
    (void)state;
    enum { N = 300 };   /* more than one drain batch */
    void *blocks[N];
    for (int i = 0; i < N; i++) assert_non_null(blocks[i] = ta_malloc(32 + (size_t)i));
    job j = {blocks, N, 0};
    assert_int_equal(run(&j), 0);           /* remote frees into this thread's arena */
    void *x = ta_malloc(16);                /* drains what they queued */
    free_keeps_errno(x);

    job k = {blocks, N, 1};
    assert_int_equal(run(&k), 0);           /* a thread allocates, then exits */
    for (int i = 0; i < N; i++) free_keeps_errno(blocks[i]);   /* remote frees into an orphaned arena */

    /* frees queued for this thread's arena, then a local free that drains them */
    for (int i = 0; i < N; i++) assert_non_null(blocks[i] = ta_malloc(64));
    void *mine = ta_malloc(64);
    job m = {blocks, N, 0};
    assert_int_equal(run(&m), 0);
    free_keeps_errno(mine);
    ta_collect();
    assert_int_equal(ta_check(), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_and_large),
        cmocka_unit_test(test_segment_release),
        cmocka_unit_test(test_remote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
