/* fork_busy.c - worker threads allocate, free and swap blocks through a shared table while the main
 * thread forks again and again. Each child (the only thread left in its process) must find the heap
 * consistent (ta_check() == 0) before and after it works; it allocates and verifies blocks of many
 * sizes, verifies and frees every block the workers had published (blocks of arenas whose threads
 * do not exist in the child), checks that ta_get_stats().allocated went down by exactly what it
 * freed, and exits with _exit(0). The parent requires exit status 0 from every child. An alarm()
 * watchdog in the child turns a deadlock (a lock left held across fork) into a failure (SIGALRM)
 * instead of a hang. Forks are paced by the workers' progress, not by time. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stress/harness.h"

enum { WORKERS = 3, LOCAL = 64, PUBLISHED = 32, FORKS = 60, PROGRESS = 3000, CHILD_BLOCKS = 200, WATCHDOG_S = 60 };

static pthread_mutex_t pub_lock = PTHREAD_MUTEX_INITIALIZER;
static stress_blk pub[PUBLISHED];
static atomic_int stop;
static atomic_size_t progress;

static size_t pick_size(rng *r) {
    return rng_below(r, 100) == 0 ? stress_size(r, STRESS_LARGE_MIN, 256 * 1024) : stress_size(r, 1, 16 * 1024);
}

static void worker(unsigned me, void *arg) {
    (void)arg;
    rng r = stress_rng(me);
    stress_blk local[LOCAL] = {{0}};
    uint64_t seq = 0;
    size_t ops = 0, cross = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        stress_blk *b = &local[rng_below(&r, LOCAL)];
        if (!b->p) {
            stress_blk_malloc(b, pick_size(&r), stress_tag(me, seq++));
        } else if (rng_below(&r, 100) < 30) {   /* publish it, take back whatever was there */
            stress_blk old;
            pthread_mutex_lock(&pub_lock);
            unsigned k = (unsigned)rng_below(&r, PUBLISHED);
            old = pub[k];
            pub[k] = *b;
            pthread_mutex_unlock(&pub_lock);
            *b = (stress_blk){0};
            if (old.p) {
                if (stress_tag_thread(old.tag) != me) cross++;
                stress_blk_free(&old, "before freeing a block taken from the published table");
                ops++;
            }
        } else {
            stress_blk_free(b, "before a worker's free");
        }
        if (++ops % 64 == 0) atomic_fetch_add_explicit(&progress, 64, memory_order_relaxed);
    }
    for (unsigned i = 0; i < LOCAL; i++)
        if (local[i].p) { stress_blk_free(&local[i], "before a worker's final free"); ops++; }
    stress_count_ops(ops);
    stress_count_cross(cross);
}

/* The child: a single thread in a copy of a busy heap. Never returns. */
static void child(unsigned fork_index) {
    alarm(WATCHDOG_S);
    int rc = ta_check();
    STRESS_REQUIRE(rc == 0, "child %u: ta_check() = %d (%s) right after fork", fork_index, rc, ta_check_name(rc));
    ta_stats s0, s1;
    ta_collect();   /* frees the parent queued but nobody drained yet: allocated counts them until then */
    ta_get_stats(&s0);
    rng r = stress_rng(1000 + fork_index);
    stress_blk mine[CHILD_BLOCKS];
    for (unsigned i = 0; i < CHILD_BLOCKS; i++) stress_blk_malloc(&mine[i], pick_size(&r), stress_tag(WORKERS, i));
    for (unsigned i = 0; i < CHILD_BLOCKS; i += 2) stress_blk_free(&mine[i], "before a free in the child");
    rc = ta_check();
    STRESS_REQUIRE(rc == 0, "child %u: ta_check() = %d (%s) after allocating", fork_index, rc, ta_check_name(rc));
    for (unsigned i = 1; i < CHILD_BLOCKS; i += 2) stress_blk_free(&mine[i], "before a free in the child");
    size_t freed = 0;
    for (unsigned k = 0; k < PUBLISHED; k++) {   /* the parent held pub_lock across fork: the table is whole */
        if (!pub[k].p) continue;
        freed += STRESS_USABLE(pub[k].p);
        stress_blk_free(&pub[k], "before the child frees a worker's published block");
    }
    ta_collect();
    rc = ta_check();
    STRESS_REQUIRE(rc == 0, "child %u: ta_check() = %d (%s) after ta_collect", fork_index, rc, ta_check_name(rc));
    ta_get_stats(&s1);
    STRESS_REQUIRE(s1.allocated + freed == s0.allocated,
                   "child %u: allocated %zu after freeing %zu published bytes, %zu before (its own blocks all freed)",
                   fork_index, s1.allocated, freed, s0.allocated);
    _exit(0);
}

int main(void) {
    stress_begin("fork_busy", 0xf0f0f0ULL);
    unsigned forks = (unsigned)stress_ops(FORKS);
    if (forks < 12) forks = 12;   /* under TSan too: a fork costs little */
    stress_group *workers = stress_group_start(WORKERS, worker, NULL);
    for (unsigned f = 0; f < forks; f++) {
        size_t target = atomic_load(&progress) + PROGRESS;
        while (atomic_load(&progress) < target) sched_yield();
        pthread_mutex_lock(&pub_lock);
        pid_t pid = fork();
        STRESS_REQUIRE(pid >= 0, "fork %u: %s", f, strerror(errno));
        if (pid == 0) {
            pthread_mutex_unlock(&pub_lock);
            child(f);
        }
        pthread_mutex_unlock(&pub_lock);
        int status = 0;
        pid_t w;
        while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {}
        STRESS_REQUIRE(w == pid, "waitpid(%d): %s", (int)pid, strerror(errno));
        if (WIFSIGNALED(status))
            stress_fail("fork %u: child killed by signal %d (%s)%s", f, WTERMSIG(status), strsignal(WTERMSIG(status)),
                        WTERMSIG(status) == SIGALRM ? ": the watchdog fired, the child deadlocked" : "");
        STRESS_REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fork %u: child exit status %d", f,
                       WEXITSTATUS(status));
    }
    atomic_store(&stop, 1);
    stress_group_join(workers);
    size_t ops = 0;
    for (unsigned k = 0; k < PUBLISHED; k++)
        if (pub[k].p) { stress_blk_free(&pub[k], "before the final free of a published block"); ops++; }
    stress_count_ops(ops + forks);
    stress_count_cross(ops);
    printf("fork_busy: %u forks, every child exited 0\n", forks);
    return stress_end();
}
