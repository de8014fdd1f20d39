/* Workload 8, idle after a burst: what an allocator gives back to the OS while the program makes no
 * allocator call at all (issue 19, tamalloc's background purge; jemalloc's background_thread) or,
 * with BENCH_IDLE_LIGHT=1, only light traffic its thread cache serves.
 *   1. THREADS threads allocate SCALE MiB in all (their share each) through malloc, each block
 *      small (16..1024 bytes) or medium (1..64 KiB) by a coin flip, written through (every page
 *      resident, like tests/oom/burst.h) and stamped (bench/blocklist.h);
 *   2. once they have all finished, THREADS new threads free every block, thread i the blocks of
 *      allocating thread (i + 1) % THREADS, so no block is freed by the thread that allocated it
 *      (at one thread too: the freeing thread is another one), verifying each stamp;
 *   3. with every worker joined, the idle time: BENCH_IDLE_MS milliseconds (default 3000) in which
 *      the main thread reads its resident size from /proc/self/statm (open/read into a stack
 *      buffer, parsed by hand: nothing allocates) at 0 ms, then every 250 ms, and at the end, and
 *      sleeps (nanosleep) in between; no stdio until the last reading. What else it does there is
 *      the mode, chosen by BENCH_IDLE_LIGHT:
 *        unset, empty or 0 (idle): nothing else; no allocator call from the frees to the last
 *          reading;
 *        1 (light traffic): a server serving light traffic from its thread caches. At 0 ms (after
 *          the reading), then every 10 ms up to the end (exclusive), the main thread makes
 *          LIGHT_PAIRS pairs of malloc(LIGHT_SIZE)/free, writing both ends of each block through a
 *          volatile pointer and reading them back (so the compiler keeps every call; a wrong byte
 *          counts in bad). The times are fixed from the start of the idle time: a tick that comes
 *          late is made late, never skipped, so light_pairs is LIGHT_PAIRS x ceil(idle_ms / 10)
 *          whatever the allocator. A reading and a tick that fall due together: the reading first.
 * Result line (bench_report_freed; ops = malloc + free calls of the burst, secs = the burst, from
 * the first allocation to the last free: the light traffic is in neither) plus base_rss_kb (before
 * the burst), peak_rss_kb (after the allocations), freed_rss_kb (right after the frees: the 0 ms
 * reading), idle_rss_kb (the last reading), rss_ms (the first reading within 4 MiB of
 * base_rss_kb, in ms from the start of the idle time; -1 if none), idle_ms, idle_tasks (the
 * threads of the process at the last reading: 1 + the allocator's background threads), bad
 * (wrong stamps and light-traffic bytes), light=0|1 (the mode) and, with light=1, light_pairs
 * (the malloc/free pairs it made); under libtamalloc.so also ta_background_rounds. The readings go
 * to stderr after the result line. The program's own records (lists, thread handles, readings)
 * are allocated and written before base_rss_kb is read and freed only after the last reading, so
 * they are in every reading alike.
 * Usage: idle THREADS SCALE — SCALE MiB allocated in all. ok=1 only if every stamp (and, with
 * light=1, every byte read back) verified.
 * Determinism: per-thread RNGs and list seeds; the checksum depends only on THREADS and SCALE (not
 * on the mode). */
#include "bench/blocklist.h"

#include <sys/syscall.h>

#define READ_EVERY_MS 250
#define IDLE_MS_MAX 600000
#define NEAR_BASE_KB 4096 /* rss_ms: within 4 MiB of base_rss_kb */
#define LIGHT_EVERY_MS 10  /* light traffic: a tick every 10 ms, */
#define LIGHT_PAIRS 20     /* of 20 malloc/free pairs */
#define LIGHT_SIZE 64      /* of 64 bytes (a size the thread caches serve) */

typedef struct {
    int id;            /* allocating thread's index */
    size_t share;      /* bytes it allocates */
    size_t live;       /* bytes in its list once allocated */
    bench_list list;   /* its blocks */
    bench_tally alloc; /* its malloc calls */
    bench_tally drop;  /* the frees of this list (by another thread), checksum, wrong stamps */
} job;

static job *g_jobs;
static int g_threads;
static pthread_barrier_t g_go;

/* Threads of this process (entries of /proc/self/task), -1 if unreadable: getdents64 into a stack
 * buffer, not opendir (which allocates). */
static int task_count(void) {
    struct dent {
        uint64_t ino;
        int64_t off;
        unsigned short reclen;
        unsigned char type;
        char name[];
    };
    _Alignas(8) char buf[4096];
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int count = 0;
    long n;
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
        for (long off = 0; off < n;) {
            struct dent *d = (struct dent *)(buf + off);
            if (d->name[0] != '.')
                count++;
            off += d->reclen;
        }
    close(fd);
    return n < 0 ? -1 : count;
}

static void sleep_until(double t) {
    double left = t - bench_now();
    if (left <= 0)
        return;
    struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* One tick of light traffic (BENCH_IDLE_LIGHT=1): LIGHT_PAIRS pairs of malloc(LIGHT_SIZE)/free by
 * the main thread; returns the wrong bytes read back. Both ends of each block are written and read
 * through a volatile pointer, so the compiler can delete neither the accesses nor the malloc/free
 * pair around them. */
static uint64_t light_tick(uint64_t tick) {
    uint64_t bad = 0;
    for (int i = 0; i < LIGHT_PAIRS; i++) {
        volatile unsigned char *p = bench_xmalloc(LIGHT_SIZE);
        unsigned char v = (unsigned char)(tick * LIGHT_PAIRS + (uint64_t)i);
        p[0] = v;
        p[LIGHT_SIZE - 1] = (unsigned char)~v;
        if (p[0] != v || p[LIGHT_SIZE - 1] != (unsigned char)~v)
            bad++;
        free((void *)p);
    }
    return bad;
}

static void *alloc_work(void *arg) {
    job *j = arg;
    bench_rng rng = {0x1d1eull * (uint64_t)(j->id + 1)};
    pthread_barrier_wait(&g_go);
    bench_clock_start();
    while (j->live < j->share) {
        int medium = (int)(bench_next(&rng) & 1);
        size_t before = j->live, i = j->list.n;
        /* one block: the target is reached by any block */
        bench_list_fill(&j->alloc, &rng, &j->list, medium ? 1024 : 16, medium ? 65536 : 1024,
                        &j->live, before + 1, "idle");
        size_t size = j->list.size[i];
        memset((char *)j->list.p[i] + 8, 0xa5, size - 16); /* between the stamps (size >= 16) */
    }
    return NULL;
}

static void *free_work(void *arg) {
    job *mine = arg;
    job *j = &g_jobs[(mine->id + 1) % g_threads];
    size_t live = j->live;
    for (size_t i = 0; i < j->list.n; i++)
        bench_list_drop(&j->drop, &j->list, i, &live);
    bench_clock_stop();
    return NULL;
}

int main(int argc, char **argv) {
    long scale;
    bench_args(argc, argv, "THREADS SCALE(MiB allocated in all)", &g_threads, &scale);
    long idle_ms = 3000;
    const char *env = getenv("BENCH_IDLE_MS");
    if (env && *env) {
        char *e;
        idle_ms = strtol(env, &e, 10);
        if (*e || idle_ms < 0 || idle_ms > IDLE_MS_MAX) {
            fprintf(stderr, "idle: bad BENCH_IDLE_MS '%s' (0..%d)\n", env, IDLE_MS_MAX);
            return 2;
        }
    }
    int light = 0;
    env = getenv("BENCH_IDLE_LIGHT");
    if (env && *env) {
        if (strcmp(env, "0") != 0 && strcmp(env, "1") != 0) {
            fprintf(stderr, "idle: bad BENCH_IDLE_LIGHT '%s' (0 or 1)\n", env);
            return 2;
        }
        light = env[0] == '1';
    }
    int n_read = (int)((idle_ms + READ_EVERY_MS - 1) / READ_EVERY_MS) + 1;

    /* The program's own records, allocated and written now: in every reading alike. */
    g_jobs = bench_xmalloc(sizeof(job) * (size_t)g_threads);
    pthread_t *tid = bench_xmalloc(sizeof(pthread_t) * (size_t)g_threads);
    long *at_ms = bench_xmalloc(sizeof(long) * (size_t)n_read);
    long *rss = bench_xmalloc(sizeof(long) * (size_t)n_read);
    memset(g_jobs, 0, sizeof(job) * (size_t)g_threads);
    memset(tid, 0, sizeof(pthread_t) * (size_t)g_threads);
    memset(at_ms, 0, sizeof(long) * (size_t)n_read);
    memset(rss, 0, sizeof(long) * (size_t)n_read);
    for (int i = 0; i < g_threads; i++) {
        job *j = &g_jobs[i];
        j->id = i;
        j->share = (size_t)scale * ((size_t)1 << 20) / (size_t)g_threads;
        /* mean block about 16.5 KiB: a quarter of that leaves a wide margin */
        size_t cap = j->share / 4096 + 1024;
        bench_list_init(&j->list, cap, (uint64_t)(i + 1) << 40);
        memset(j->list.p, 0, cap * sizeof(void *));
        memset(j->list.size, 0, cap * sizeof(uint32_t));
    }
    pthread_barrier_init(&g_go, NULL, (unsigned)g_threads + 1);

    long base_rss = bench_rss_kb();
    for (int i = 0; i < g_threads; i++)
        pthread_create(&tid[i], NULL, alloc_work, &g_jobs[i]);
    pthread_barrier_wait(&g_go);
    for (int i = 0; i < g_threads; i++)
        pthread_join(tid[i], NULL);
    long peak_rss = bench_rss_kb();
    for (int i = 0; i < g_threads; i++)
        pthread_create(&tid[i], NULL, free_work, &g_jobs[i]);
    for (int i = 0; i < g_threads; i++)
        pthread_join(tid[i], NULL);
    double secs = bench_clock_secs();

    /* The idle time: no allocator call from here to the last reading but light_tick's (light=1).
     * Each step waits for the next reading or tick, whichever is due first (the reading when both
     * are), on a schedule fixed from t0. */
    double t0 = bench_now();
    int k = 0, rss_ms = -1, tasks = -1;
    long read_ms = 0, tick_ms = 0; /* when the next reading, and the next tick, are due */
    uint64_t ticks = 0, light_bad = 0;
    for (;;) {
        int tick = light && tick_ms < idle_ms && tick_ms < read_ms;
        sleep_until(t0 + (double)(tick ? tick_ms : read_ms) / 1000.0);
        if (tick) {
            light_bad += light_tick(ticks++);
            tick_ms += LIGHT_EVERY_MS;
            continue;
        }
        at_ms[k] = read_ms;
        rss[k] = bench_rss_kb();
        if (rss_ms < 0 && rss[k] >= 0 && rss[k] <= base_rss + NEAR_BASE_KB)
            rss_ms = (int)read_ms;
        k++;
        if (read_ms == idle_ms) {
            tasks = task_count();
            break;
        }
        read_ms = read_ms + READ_EVERY_MS < idle_ms ? read_ms + READ_EVERY_MS : idle_ms;
    }
    long freed_rss = rss[0], idle_rss = rss[k - 1];

    uint64_t sum = 0, bad = light_bad, calls = 0;
    for (int i = 0; i < g_threads; i++) {
        job *j = &g_jobs[i];
        sum += j->drop.sum;
        bad += j->drop.bad;
        calls += j->alloc.calls + j->drop.calls;
        if (j->drop.calls != j->list.n) /* every block freed (and verified) once */
            bad++;
        bench_list_free(&j->list);
    }
    char ta[64] = "";
    bench_ta_stats st;
    if (bench_ta_stats_read(&st))
        snprintf(ta, sizeof ta, " ta_background_rounds=%zu", st.background_rounds);
    char pairs[48] = "";
    if (light)
        snprintf(pairs, sizeof pairs, " light_pairs=%" PRIu64, ticks * LIGHT_PAIRS);
    char extra[384];
    snprintf(extra, sizeof extra,
             "base_rss_kb=%ld peak_rss_kb=%ld freed_rss_kb=%ld idle_rss_kb=%ld rss_ms=%d "
             "idle_ms=%ld idle_tasks=%d bad=%" PRIu64 " light=%d%s%s",
             base_rss, peak_rss, freed_rss, idle_rss, rss_ms, idle_ms, tasks, bad, light, pairs,
             ta);
    bench_report_freed("idle", g_threads, calls, secs, sum, bad == 0, extra); /* all freed */
    fprintf(stderr, "idle: resident KiB by ms since the frees:");
    for (int i = 0; i < k; i++)
        fprintf(stderr, " %ld:%ld", at_ms[i], rss[i]);
    fprintf(stderr, "\n");
    free(g_jobs);
    free(tid);
    free(at_ms);
    free(rss);
    return bad == 0 ? 0 : 1;
}
