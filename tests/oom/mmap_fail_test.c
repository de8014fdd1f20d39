/* mmap_fail_test.c - the n-th mmap fails (test hook ta_os_fail_after, platform/os.h), for
 * n = 1..MAX_N, in the middle of a sequence that grows arenas segment by segment and maps large
 * blocks: the allocation that needed that mapping returns NULL with ENOMEM, every other one
 * succeeds, live blocks keep their contents, ta_check() == 0, and the allocator keeps working
 * (growing again) afterwards. Both failure sites must be hit: segment growth and large blocks.
 * Also realloc and aligned allocation when their mapping fails. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "tamalloc.h"
#include "alloc/platform/os.h"
#include "tests/testlib/pattern.h"

#define MAX_N 24
#define MAX_OPS 4000
#define LARGE (1u << 20)
#define MEDIUM 100000u   /* about 40 per segment */
#define CHECKED(n) ((n) < 4096 ? (n) : 4096)   /* bytes of each block filled and verified */

typedef struct round_result { int failed_small, failed_large; } round_result;

static void *blocks[MAX_OPS];
static size_t sizes[MAX_OPS];

/* Allocates (every 8th large, else medium) until one allocation fails or MAX_OPS; checks the
 * failure, the heap and the survivors, then shows the allocator still grows, and frees all. */
static round_result one_round(unsigned n) {
    round_result r = {0, 0};
    int count = 0;
    ta_os_fail_after(n);
    for (; count < MAX_OPS; count++) {
        size_t size = count % 8 == 7 ? LARGE : MEDIUM + (size_t)count;
        errno = 0;
        void *p = ta_malloc(size);
        if (p == NULL) {
            assert_int_equal(errno, ENOMEM);
            if (size == LARGE) r.failed_large = 1; else r.failed_small = 1;
            break;
        }
        pattern_fill(p, CHECKED(size), n);
        blocks[count] = p;
        sizes[count] = size;
    }
    assert_true(count < MAX_OPS);   /* the n-th mapping was reached and failed */
    assert_int_equal(ta_check(), 0);
    ta_os_fail_after(0);
    /* Keeps working: the same request, then enough to map new segments and large blocks. */
    int more = count + 100 < MAX_OPS ? count + 100 : MAX_OPS;
    for (int i = count; i < more; i++) {
        size_t size = i % 8 == 7 ? LARGE : MEDIUM + (size_t)i;
        blocks[i] = ta_malloc(size);
        assert_non_null(blocks[i]);
        pattern_fill(blocks[i], CHECKED(size), n);
        sizes[i] = size;
    }
    for (int i = 0; i < more; i++) {
        assert_true(pattern_ok(blocks[i], CHECKED(sizes[i]), n));
        ta_free(blocks[i]);
    }
    assert_int_equal(ta_check(), 0);
    return r;
}

static void test_nth_mmap_fails(void **state) {
    (void)state;
    int small = 0, large = 0;
    for (unsigned n = 1; n <= MAX_N; n++) {
        round_result r = one_round(n);
        small += r.failed_small;
        large += r.failed_large;
    }
    assert_true(small > 0);   /* segment growth failed at least once */
    assert_true(large > 0);   /* a large mapping failed at least once */
}

/* The same from threads that start with no arena (the first segment of a fresh arena fails). */
static void *thread_round(void *arg) {
    unsigned n = (unsigned)(uintptr_t)arg;
    ta_os_fail_after(n);
    void *p = ta_malloc(64);   /* the thread's first allocation */
    int err = errno;
    ta_os_fail_after(0);
    if (p) { ta_free(p); return (void *)0; }
    return err == ENOMEM ? (void *)1 : (void *)2;
}

static void test_fresh_arena_first_segment(void **state) {
    (void)state;
    int failed = 0;
    for (unsigned n = 1; n <= 3; n++) {
        for (int t = 0; t < 12; t++) {   /* more threads than arenas on a small machine */
            pthread_t th;
            void *rc;
            assert_int_equal(pthread_create(&th, NULL, thread_round, (void *)(uintptr_t)n), 0);
            pthread_join(th, &rc);
            assert_true(rc != (void *)2);
            failed += rc == (void *)1;
            assert_int_equal(ta_check(), 0);
        }
    }
    assert_true(failed > 0);
    void *p = ta_malloc(64);
    assert_non_null(p);
    ta_free(p);
}

static void test_realloc_and_aligned_on_failure(void **state) {
    (void)state;
    char *p = ta_malloc(1000);
    assert_non_null(p);
    pattern_fill(p, 1000, 77);
    char saved[1000];
    memcpy(saved, p, sizeof saved);
    ta_collect();   /* no kept large mapping to reuse: the realloc below needs a new one */
    ta_os_fail_after(1);
    errno = 0;
    assert_null(ta_realloc(p, 2 << 20));   /* needs a new large mapping */
    assert_int_equal(errno, ENOMEM);
    assert_true(pattern_ok(p, 1000, 77));
    assert_int_equal(ta_usable_size(p) >= 1000, 1);

    ta_os_fail_after(1);
    errno = 0;
    assert_null(ta_aligned_alloc(1 << 21, 100));
    assert_int_equal(errno, ENOMEM);
    void *out = (void *)(uintptr_t)0x1234;
    ta_os_fail_after(1);
    assert_int_equal(ta_posix_memalign(&out, 1 << 21, 100), ENOMEM);
    assert_ptr_equal(out, (void *)(uintptr_t)0x1234);
    ta_os_fail_after(0);

    char *q = ta_realloc(p, 2 << 20);
    assert_non_null(q);
    assert_memory_equal(q, saved, sizeof saved);
    ta_free(q);
    assert_int_equal(ta_check(), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nth_mmap_fails),
        cmocka_unit_test(test_fresh_arena_first_segment),
        cmocka_unit_test(test_realloc_and_aligned_on_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
