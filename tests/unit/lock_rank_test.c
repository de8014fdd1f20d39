/* lock_rank_test.c - the debug lock-rank checker (compiled with TA_DEBUG=1, so ta_lock_acquire
 * records and checks ranks): locks taken in rank order, and equal ranks in ascending address
 * order, pass; an inversion (a lower rank while a higher one is held) and a descending pair of
 * equal rank each kill the process with "tamalloc: lock rank order violated: ..." on stderr and
 * SIGABRT, before the acquire could block. Death cases run in a forked child. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The rank checks are inline in lock.h under TA_DEBUG >= 1: turn them on for this file whatever the
 * build configuration says (--config=dbg already has them on). */
#undef TA_DEBUG
#define TA_DEBUG 1
#include "alloc/platform/lock.h"

_Static_assert(TA_LOCK_RANKS, "this test is built with TA_DEBUG >= 1");

static ta_lock locks[4];   /* ascending addresses */

static void init_locks(void) {
    ta_lock_init(&locks[0], TA_RANK_ARENA_TABLE);
    ta_lock_init(&locks[1], TA_RANK_ARENA);
    ta_lock_init(&locks[2], TA_RANK_ARENA);
    ta_lock_init(&locks[3], TA_RANK_SEGMAP);
}

/* Runs fn in a child with stderr captured; returns its wait status, stderr text in err. */
static int run_child(void (*fn)(void), char *err, size_t cap) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        init_locks();
        fn();
        _exit(0);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t k;
    while (n + 1 < cap && (k = read(fds[0], err + n, cap - 1 - n)) > 0) n += (size_t)k;
    err[n] = 0;
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void in_order(void) {
    ta_lock_acquire(&locks[0]);   /* arena table */
    ta_lock_acquire(&locks[1]);   /* arena, lower address */
    ta_lock_acquire(&locks[2]);   /* arena, higher address */
    ta_lock_acquire(&locks[3]);   /* segmap */
    ta_lock_release(&locks[3]);
    ta_lock_release(&locks[2]);
    ta_lock_release(&locks[1]);
    ta_lock_release(&locks[0]);
    /* released: the lower arena may be taken again, then segmap under it */
    ta_lock_acquire(&locks[2]);
    ta_lock_release(&locks[2]);
    ta_lock_acquire(&locks[1]);
    ta_lock_acquire(&locks[3]);
    ta_lock_release(&locks[3]);
    ta_lock_release(&locks[1]);
}

static void inversion(void) {
    ta_lock_acquire(&locks[1]);   /* arena */
    ta_lock_acquire(&locks[0]);   /* arena table under an arena: must not get here */
}

static void descending_equal(void) {
    ta_lock_acquire(&locks[2]);
    ta_lock_acquire(&locks[1]);   /* a second arena of lower address */
}

static void try_counts(void) {
    assert_true(ta_lock_try(&locks[3]));   /* segmap held through a try */
    ta_lock_acquire(&locks[1]);            /* an arena under segmap: reported */
}

static void test_rank_order_passes(void **state) {
    (void)state;
    char err[512];
    int st = run_child(in_order, err, sizeof err);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_string_equal(err, "");
}

static void expect_rank_death(void (*fn)(void), const char *detail) {
    char err[512];
    int st = run_child(fn, err, sizeof err);
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT) fail_msg("child did not abort (status %#x); stderr: %s", st, err);
    if (strncmp(err, "tamalloc: lock rank order violated: ", 36) != 0) fail_msg("unexpected report: %s", err);
    if (!strstr(err, detail)) fail_msg("report lacks \"%s\": %s", detail, err);
}

static void test_inversion_aborts(void **state) {
    (void)state;
    expect_rank_death(inversion, "taking a lock of rank \"arena table\" while holding one of rank \"arena\"");
}

static void test_equal_rank_descending_aborts(void **state) {
    (void)state;
    expect_rank_death(descending_equal, "taking a lock of rank \"arena\" below the address of one already held");
}

static void test_try_lock_counts_as_held(void **state) {
    (void)state;
    expect_rank_death(try_counts, "taking a lock of rank \"arena\" while holding one of rank \"segmap\"");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rank_order_passes),
        cmocka_unit_test(test_inversion_aborts),
        cmocka_unit_test(test_equal_rank_descending_aborts),
        cmocka_unit_test(test_try_lock_counts_as_held),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
