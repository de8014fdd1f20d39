/* fork_in_signal_test.c - fork() from a signal handler that interrupted an allocation, in a
 * single-threaded program: the fork handlers must not wait for a lock the interrupted code holds
 * (prepare skips locks the forking thread already holds), so neither parent nor child hangs, and
 * the parent's heap is intact afterwards. (1) Deterministic: the signal is raised from a
 * ta_heap_walk callback, so an arena lock is certainly held. (2) A CPU-time timer (SIGPROF) forks
 * repeatedly while the program allocates and frees small, medium and large blocks, so the signal
 * lands at arbitrary points, lock held or not. The child only _exit(0)s. alarm() is a watchdog: a
 * hang ends the test by SIGALRM instead of waiting for Bazel's timeout. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tamalloc.h"
#include "tests/testlib/pattern.h"

#define WATCHDOG_SECONDS 25

static volatile sig_atomic_t forks, bad_children;

static void fork_and_reap(int sig) {
    (void)sig;
    int saved = errno;
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    if (pid > 0) {
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) bad_children++;
        forks++;
    } else {
        bad_children++;
    }
    errno = saved;
}

static void install(int sig) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fork_and_reap;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(sig, &sa, NULL), 0);
}

static int raise_in_walk(const ta_block_info *b, void *ctx) {
    (void)b;
    int *visits = ctx;
    if ((*visits)++ == 0) raise(SIGUSR1);   /* the arena's lock is held right now */
    return 0;
}

static void test_fork_while_walk_holds_lock(void **state) {
    (void)state;
    install(SIGUSR1);
    void *keep[16];
    for (int i = 0; i < 16; i++) assert_non_null(keep[i] = ta_malloc(40 + (size_t)i * 100));
    for (int round = 0; round < 20; round++) {
        int visits = 0;
        forks = 0;
        assert_int_equal(ta_heap_walk(raise_in_walk, &visits), 0);
        assert_true(visits > 0);
        assert_int_equal(forks, 1);
        assert_int_equal(bad_children, 0);
        void *p = ta_malloc(100);   /* the parent's locks were released: it still allocates */
        assert_non_null(p);
        ta_free(p);
        assert_int_equal(ta_check(), 0);
    }
    for (int i = 0; i < 16; i++) ta_free(keep[i]);
    signal(SIGUSR1, SIG_DFL);
}

static void test_fork_from_timer_during_allocation(void **state) {
    (void)state;
    enum { SLOTS = 64, WANT_FORKS = 60 };
    void *slot[SLOTS] = {0};
    size_t size[SLOTS] = {0};
    forks = 0;
    install(SIGPROF);
    struct itimerval every = {{0, 500}, {0, 500}};   /* 0.5 ms of CPU time */
    assert_int_equal(setitimer(ITIMER_PROF, &every, NULL), 0);
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    /* Only ta_* calls in this loop: fork() takes the C library's malloc locks, so the signal must
     * not land inside glibc's malloc (cmocka's asserts would call it). */
    int corrupt = 0;
    while (forks < WANT_FORKS) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        unsigned i = (unsigned)(x % SLOTS);
        if (slot[i]) {
            if (!pattern_ok(slot[i], size[i] < 64 ? size[i] : 64, i)) corrupt = 1;
            ta_free(slot[i]);
            slot[i] = NULL;
        } else {
            size[i] = (x >> 8) % 16 == 0 ? (size_t)(200000 + (x >> 20) % 300000) : (size_t)(1 + (x >> 20) % 5000);
            slot[i] = ta_malloc(size[i]);
            if (slot[i]) pattern_fill(slot[i], size[i] < 64 ? size[i] : 64, i);
            else corrupt = 1;
        }
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_PROF, &off, NULL);
    signal(SIGPROF, SIG_DFL);
    assert_int_equal(corrupt, 0);
    assert_int_equal(bad_children, 0);
    for (unsigned i = 0; i < SLOTS; i++) ta_free(slot[i]);
    assert_int_equal(ta_check(), 0);
}

int main(void) {
    alarm(WATCHDOG_SECONDS);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fork_while_walk_holds_lock),
        cmocka_unit_test(test_fork_from_timer_during_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
