/* rlimit_as_test.c - allocation under a low RLIMIT_AS. (1) One thread allocates small, medium and
 * large blocks until each kind fails: every failure is NULL with ENOMEM, ta_check() == 0 after
 * each, every live block keeps its contents; after freeing, allocation succeeds again. (2) Worker
 * threads allocate and free continuously while the main thread lowers the limit below what is
 * mapped and raises it again, several times: the same guarantees, and the workers' allocations
 * succeed again once the limit is lifted. The limit is set a few hundred MiB above current use
 * (read from /proc/self/statm), so the test needs no more than that. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tamalloc.h"
#include "tests/testlib/pattern.h"
#include "tests/testlib/proc_mem.h"
#include "tests/testlib/rng.h"

#define MAX_BLOCKS 200000

static void *blocks[MAX_BLOCKS];
static size_t block_sizes[MAX_BLOCKS];
static struct rlimit original;

static void set_as_limit(size_t bytes) {
    struct rlimit r = {bytes, original.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_AS, &r), 0);
}

static void restore_limit(void) { setrlimit(RLIMIT_AS, &original); }

/* Allocates blocks of `size` until one fails; returns how many were added at blocks[*count..]. */
static int fill_until_enomem(int *count, size_t size, uint64_t tag) {
    int added = 0;
    while (*count < MAX_BLOCKS) {
        errno = 0;
        void *p = ta_malloc(size);
        if (p == NULL) {
            assert_int_equal(errno, ENOMEM);
            assert_int_equal(ta_check(), 0);
            return added;
        }
        pattern_fill(p, size < 256 ? size : 256, tag);   /* the head: cheap, and catches overlap */
        blocks[*count] = p;
        block_sizes[*count] = size;
        (*count)++;
        added++;
        if (added % 1024 == 0) assert_int_equal(ta_check(), 0);
    }
    fail_msg("never ran out of memory under the limit");
    return added;
}

static void test_single_thread_exhaustion(void **state) {
    (void)state;
    int count = 0;
    set_as_limit(proc_vm_bytes() + ((size_t)256 << 20));
    assert_true(fill_until_enomem(&count, 1 << 20, 1) > 0);      /* large blocks */
    int medium = fill_until_enomem(&count, 60000, 2);            /* arena growth */
    int small = fill_until_enomem(&count, 100, 3);               /* what is left in segments */
    (void)medium; (void)small;
    /* every kind fails now; calloc/realloc/aligned too */
    errno = 0; assert_null(ta_malloc(1 << 20)); assert_int_equal(errno, ENOMEM);
    errno = 0; assert_null(ta_calloc(1, 1 << 20)); assert_int_equal(errno, ENOMEM);
    errno = 0; assert_null(ta_realloc(blocks[0], 4 << 20)); assert_int_equal(errno, ENOMEM);
    errno = 0; assert_null(ta_aligned_alloc(1 << 21, 64)); assert_int_equal(errno, ENOMEM);
    assert_int_equal(ta_check(), 0);
    for (int i = 0; i < count; i++) {
        size_t n = block_sizes[i] < 256 ? block_sizes[i] : 256;
        assert_true(pattern_ok(blocks[i], n, block_sizes[i] == 1 << 20 ? 1 : block_sizes[i] == 60000 ? 2 : 3));
    }
    /* free half: allocation succeeds again, still under the limit */
    for (int i = 0; i < count; i += 2) ta_free(blocks[i]);
    ta_collect();
    void *a = ta_malloc(1 << 20), *b = ta_malloc(60000), *c = ta_malloc(100);
    assert_non_null(a); assert_non_null(b); assert_non_null(c);
    ta_free(a); ta_free(b); ta_free(c);
    for (int i = 1; i < count; i += 2) ta_free(blocks[i]);
    assert_int_equal(ta_check(), 0);
    restore_limit();
    ta_collect();
}

/* ---- the limit changed by another thread while workers allocate --------------------------- */

#define WORKERS 3
#define SLOTS 256

typedef struct worker {
    pthread_t t;
    uint64_t seed;
    _Atomic size_t enomem;         /* allocations that failed with ENOMEM */
    _Atomic unsigned ok_phase;     /* the phase of its latest successful allocation */
    size_t bad_errno, corrupt;     /* read by main after join */
} worker;

static _Atomic int stop;
static _Atomic unsigned phase;     /* odd: the limit is low; even: lifted */

static void *work(void *arg) {
    worker *w = arg;
    rng r = rng_make(w->seed);
    void *slot[SLOTS] = {0};
    size_t size[SLOTS] = {0};
    while (!stop) {
        unsigned i = (unsigned)rng_below(&r, SLOTS);
        if (slot[i]) {
            if (!pattern_ok(slot[i], size[i] < 256 ? size[i] : 256, i)) w->corrupt++;
            ta_free(slot[i]);
            slot[i] = NULL;
            continue;
        }
        uint64_t kind = rng_below(&r, 16);
        size_t n = kind == 0 ? (size_t)(1 + rng_below(&r, 4 << 20)) : kind < 4 ? (size_t)(1 + rng_below(&r, 120000))
                                                                                 : (size_t)(1 + rng_below(&r, 2000));
        unsigned ph = phase;
        errno = 0;
        void *p = ta_malloc(n);
        if (p == NULL) {
            if (errno == ENOMEM) w->enomem++; else w->bad_errno++;
            continue;
        }
        w->ok_phase = ph;
        pattern_fill(p, n < 256 ? n : 256, i);
        slot[i] = p;
        size[i] = n;
    }
    for (unsigned i = 0; i < SLOTS; i++) {
        if (!slot[i]) continue;
        if (!pattern_ok(slot[i], size[i] < 256 ? size[i] : 256, i)) w->corrupt++;
        ta_free(slot[i]);
    }
    return NULL;
}

static size_t total_enomem(worker *w) {
    size_t n = 0;
    for (int i = 0; i < WORKERS; i++) n += w[i].enomem;
    return n;
}

/* Waits (no deadline: the test's timeout is the bound) until every worker has allocated
 * successfully in the current phase. */
static void wait_all_succeed(worker *w) {
    for (int i = 0; i < WORKERS; i++)
        while (w[i].ok_phase != phase) { usleep(1000); assert_int_equal(ta_check(), 0); }
}

static void test_limit_changed_while_allocating(void **state) {
    (void)state;
    static worker w[WORKERS];
    size_t start = proc_vm_bytes();   /* before the workers' stacks and heaps exist */
    stop = 0;
    phase = 0;
    for (int i = 0; i < WORKERS; i++) {
        w[i].seed = rng_base_seed(0x0b5e55ed) + (uint64_t)i;
        assert_int_equal(pthread_create(&w[i].t, NULL, work, &w[i]), 0);
    }
    for (int round = 0; round < 4; round++) {
        wait_all_succeed(w);
        /* low: below what is already mapped, so every new mapping fails */
        size_t before = total_enomem(w);
        set_as_limit(start + ((size_t)round << 20));
        phase++;
        while (total_enomem(w) < before + 20) { usleep(1000); assert_int_equal(ta_check(), 0); }
        restore_limit();
        phase++;
        assert_int_equal(ta_check(), 0);
    }
    wait_all_succeed(w);   /* the limit lifted: allocation works again in every thread */
    stop = 1;
    for (int i = 0; i < WORKERS; i++) pthread_join(w[i].t, NULL);
    for (int i = 0; i < WORKERS; i++) {
        assert_int_equal(w[i].bad_errno, 0);
        assert_int_equal(w[i].corrupt, 0);
    }
    print_message("allocations failed with ENOMEM under the lowered limits: %zu\n", total_enomem(w));
    assert_int_equal(ta_check(), 0);
}

int main(void) {
    getrlimit(RLIMIT_AS, &original);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_thread_exhaustion),
        cmocka_unit_test(test_limit_changed_while_allocating),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    restore_limit();
    return rc;
}
