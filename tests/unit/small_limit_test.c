/* small_limit_test.c - the mmap threshold (init.c): ta_small_limit_follow raises it while it is not
 * fixed (past the block freed, never lowered, never past the maximum), ta_small_limit_fix
 * (mallopt(M_MMAP_THRESHOLD)) sets and fixes it, and a fix made while two threads keep raising is
 * not lost: the limit ends at the value fixed. The fix is made at the value the limit has when the
 * raisers go on, which is the case where a raise's compare-and-swap can expect exactly the fixed
 * value and must put back what it replaced; that window is a few instructions wide, so a missing
 * put-back is caught only by chance, while a fix that raises can pass is caught every run. Under
 * --config=tsan the atomics are checked too. Assumes TAMALLOC_MMAP_THRESHOLD is not set. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>

#include "alloc/config.h"
#include "alloc/init.h"
#include "alloc/platform/atomic.h"

#define KIB ((size_t)1 << 10)

#define RACE_MID (300 * KIB)
static ta_atomic_int race_go;

/* Raises with every 32nd size from 4 KiB up to RACE_MID, waits for the go, then from there up to
 * just under the maximum: the second half runs into the fix. */
static void *raiser(void *arg) {
    size_t usable = 4 * KIB + (size_t)(uintptr_t)arg;
    for (; usable < RACE_MID; usable += 32) ta_small_limit_follow(usable);
    while (!ta_atomic_load_acquire(&race_go)) {}
    for (; usable < TA_MMAP_THRESHOLD_MAX; usable += 32) ta_small_limit_follow(usable);
    return NULL;
}

static void test_follow_then_fix_race(void **state) {
    (void)state;
    ta_init();
    assert_int_equal(ta_small_limit(), TA_MMAP_THRESHOLD_DEFAULT);
    ta_small_limit_follow(200 * KIB);
    assert_int_equal(ta_small_limit(), 200 * KIB + 1);   /* unfixed: past the block freed */
    ta_small_limit_follow(100 * KIB);
    assert_int_equal(ta_small_limit(), 200 * KIB + 1);   /* never lowered */
    ta_small_limit_follow(TA_MMAP_THRESHOLD_MAX);
    assert_int_equal(ta_small_limit(), 200 * KIB + 1);   /* not past the maximum */

    /* Two threads raise to RACE_MID; then, as they go on, this one fixes the limit at the value it
     * had when they were let go (the case where a raise can expect exactly the value fixed). */
    pthread_t t[2];
    for (uintptr_t i = 0; i < 2; i++) assert_int_equal(pthread_create(&t[i], NULL, raiser, (void *)(i * 16)), 0);
    while (ta_small_limit() < RACE_MID - 64) {}
    size_t fixed = ta_small_limit();
    ta_atomic_store_release(&race_go, 1);
    ta_small_limit_fix(fixed);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    assert_int_equal(ta_small_limit(), fixed);   /* not one of the raises after it stuck */

    /* Fixed: raises change nothing, a fix does. */
    ta_small_limit_follow(900 * KIB);
    assert_int_equal(ta_small_limit(), fixed);
    ta_small_limit_fix(64 * KIB);
    assert_int_equal(ta_small_limit(), 64 * KIB);
    ta_small_limit_follow(100 * KIB);
    assert_int_equal(ta_small_limit(), 64 * KIB);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_follow_then_fix_race),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
