/* prof_dump.c - the heap profiler under load (TAMALLOC_PROF_SAMPLE=4K: a sample every 4 KiB, so
 * about one allocation in ten of these sizes is sampled and records its stack). Four threads swap
 * self-describing objects through shared slots (every thread frees others' blocks, sampled ones
 * included), while the main thread writes profiles with ta_prof_dump and checks each one's header,
 * and forks: each child writes a profile of the heap it inherited, allocates and frees sampled
 * blocks, writes another, and exits 0 only if both are well formed and its frees were counted.
 *
 * Required beyond the closing invariant: every profile parses; once every block is freed, the live
 * samples are back to the count before the threads started (every sampled free was accounted, by
 * whichever thread made it); samples were taken (the allocated totals grew). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stress/harness.h"
#include "tamalloc.h"

enum { THREADS = 4, SLOTS = 512, OPS_PER_THREAD = 60000, DUMPS = 40, FORKS = 4 };

typedef struct head { unsigned long long in_n, in_bytes, n, bytes, rate; } head;

static _Atomic(void *) slots[SLOTS];
static atomic_int running;
static size_t ops_per_thread;
static char dir[512];

/* Writes a profile to path and reads its first line back; 0 on success. */
static int dump_head(const char *path, head *h) {
    if (ta_prof_dump(path) != 0) return -1;
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int k = fscanf(f, "heap profile: %llu: %llu [%llu: %llu] @ heap_v2/%llu", &h->in_n, &h->in_bytes, &h->n, &h->bytes, &h->rate);
    char line[64];
    int mapped = 0;
    while (fgets(line, sizeof line, f))
        if (strcmp(line, "MAPPED_LIBRARIES:\n") == 0) mapped = 1;
    fclose(f);
    return k == 5 && h->rate == 4096 && mapped && h->in_n <= h->n && h->in_bytes <= h->bytes ? 0 : -1;
}

static void run(unsigned me, void *arg) {
    (void)arg;
    rng r = stress_rng(me);
    uint64_t seq = 0;
    size_t ops = 0, cross = 0;
    for (size_t i = 0; i < ops_per_thread; i++) {
        size_t n = rng_below(&r, 100) < 3 ? stress_size(&r, 8192, 200 * 1024) : stress_size(&r, 16, 2048);
        void *p = stress_obj_new(n, stress_tag(me, seq++));
        void *old = atomic_exchange(&slots[rng_below(&r, SLOTS)], p);
        ops++;
        if (old) {
            uint64_t tag = stress_obj_free(old, "before free in prof_dump");
            ops++;
            if (stress_tag_thread(tag) != me) cross++;
        }
    }
    stress_count_ops(ops);
    stress_count_cross(cross);
    /* alive until the main thread has done its forks: a child must inherit threads at work, not
     * finished ones awaiting their join (TSan reports those as leaked when the child exits) */
    while (atomic_load(&running)) usleep(1000);
}

/* The child: its inherited profile, then its own samples counted in and out. */
static int child(unsigned k) {
    char path[600];
    head a, b, c;
    snprintf(path, sizeof path, "%s/prof_dump.child%u.a.heap", dir, k);
    if (dump_head(path, &a) != 0) return 2;
    enum { N = 2000 };
    static void *p[N];
    for (int i = 0; i < N; i++) {
        if (!(p[i] = ta_malloc(1000))) return 3;
        memset(p[i], 0x5a, 1000);
    }
    snprintf(path, sizeof path, "%s/prof_dump.child%u.b.heap", dir, k);
    if (dump_head(path, &b) != 0 || b.in_n <= a.in_n) return 4;   /* about 2000 * 0.22 samples */
    for (int i = 0; i < N; i++) ta_free(p[i]);
    snprintf(path, sizeof path, "%s/prof_dump.child%u.c.heap", dir, k);
    if (dump_head(path, &c) != 0 || c.in_n != a.in_n || c.in_bytes != a.in_bytes) return 5;
    return 0;
}

int main(void) {
    stress_begin("prof_dump", 0x9f0f);
    const char *t = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof dir, "%s", t ? t : "/tmp");
    ops_per_thread = stress_ops(OPS_PER_THREAD);
    char path[600];
    snprintf(path, sizeof path, "%s/prof_dump.main.heap", dir);
    head before, h;
    STRESS_REQUIRE(dump_head(path, &before) == 0, "the first profile is malformed or unwritable");

    atomic_store(&running, 1);
    stress_group *g = stress_group_start(THREADS, run, NULL);
    int forks = 0;
    for (int i = 0; i < DUMPS; i++) {
        STRESS_REQUIRE(dump_head(path, &h) == 0, "profile %d written under load is malformed", i);
        if (i % (DUMPS / FORKS) == DUMPS / FORKS / 2) {
            pid_t pid = fork();
            STRESS_REQUIRE(pid >= 0, "fork failed");
            if (pid == 0) {
                alarm(60);   /* a deadlocked child is killed, and reported below */
                _exit(child((unsigned)i));
            }
            int st = 0;
            STRESS_REQUIRE(waitpid(pid, &st, 0) == pid, "waitpid failed");
            STRESS_REQUIRE(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fork child %d failed (status %#x: exit 2-5 = a profile check, a signal = a crash or deadlock)", i, st);
            forks++;
        }
        usleep(2000);
    }
    atomic_store(&running, 0);
    stress_group_join(g);
    for (unsigned k = 0; k < SLOTS; k++) {
        void *p = atomic_exchange(&slots[k], NULL);
        if (p) stress_obj_free(p, "at the end of prof_dump");
    }
    STRESS_REQUIRE(dump_head(path, &h) == 0, "the last profile is malformed");
    STRESS_REQUIRE(h.n > before.n, "no allocation was sampled");
    STRESS_REQUIRE(h.in_n == before.in_n && h.in_bytes == before.in_bytes,
                   "live samples %llu (%llu bytes) after every block was freed, %llu (%llu) before", h.in_n, h.in_bytes,
                   before.in_n, before.in_bytes);
    printf("prof_dump: %d profiles under load, %d forks, %llu samples taken\n", DUMPS, forks, h.n - before.n);
    return stress_end();
}
