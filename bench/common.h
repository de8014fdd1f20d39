/* Shared helpers for the benchmark workloads: argument parsing, a seeded RNG, timing, block
 * stamps, the resident size at the end of a run, and the one result line every workload prints.
 * Relies on: libc (dlsym/dladdr included: glibc >= 2.34 has them in libc) and pthreads only; it
 * never calls the allocator itself except through the workload and the end-of-run probe below
 * (so LD_PRELOAD decides what is measured). Every result line carries the process's CPU times
 * and page faults (getrusage); under libtamalloc.so (found at run time with dlsym, never linked)
 * it also carries tamalloc's next-fit search counters.
 * Invariant: a stamp written by bench_stamp is read back by bench_stamp_ok only from the same
 * (pointer, size); checksums are sums of bench_mix() of verified values, so they do not depend on
 * the order in which threads finish. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* splitmix64: a tiny, well-mixed, seedable generator; one per thread or per chunk of work. */
typedef struct {
    uint64_t s; /* state */
} bench_rng;

static inline uint64_t bench_mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t bench_next(bench_rng *r) {
    r->s += 0x9e3779b97f4a7c15ull;
    return bench_mix(r->s);
}

/* Uniform in [lo, hi]. The modulo bias is irrelevant here. */
static inline size_t bench_range(bench_rng *r, size_t lo, size_t hi) {
    return lo + (size_t)(bench_next(r) % (uint64_t)(hi - lo + 1));
}

static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Writes v at the start of a block, and v ^ size at its end when the block has room for both
 * (size >= 16). Unaligned-safe through memcpy; blocks of under 8 bytes carry one byte. */
static inline void bench_stamp(void *p, size_t size, uint64_t v) {
    unsigned char *c = p;
    if (size < 8) {
        c[0] = (unsigned char)v;
        return;
    }
    memcpy(c, &v, 8);
    if (size >= 16) {
        uint64_t e = v ^ size;
        memcpy(c + size - 8, &e, 8);
    }
}

/* 1 when the stamps bench_stamp(p, size, v) wrote are still there. */
static inline int bench_stamp_ok(const void *p, size_t size, uint64_t v) {
    const unsigned char *c = p;
    if (size < 8)
        return c[0] == (unsigned char)v;
    uint64_t a;
    memcpy(&a, c, 8);
    if (a != v)
        return 0;
    if (size >= 16) {
        uint64_t e;
        memcpy(&e, c + size - 8, 8);
        if (e != (v ^ size))
            return 0;
    }
    return 1;
}

/* Parses "PROG THREADS SCALE": both positive integers. Exits with usage on error. */
static inline void bench_args(int argc, char **argv, const char *usage, int *threads,
                              long *scale) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s %s\n", argv[0], usage);
        exit(2);
    }
    char *end;
    long t = strtol(argv[1], &end, 10);
    if (*end || t < 1 || t > 256) {
        fprintf(stderr, "%s: bad thread count '%s'\n", argv[0], argv[1]);
        exit(2);
    }
    long s = strtol(argv[2], &end, 10);
    if (*end || s < 1) {
        fprintf(stderr, "%s: bad scale '%s'\n", argv[0], argv[2]);
        exit(2);
    }
    *threads = (int)t;
    *scale = s;
}

static inline void *bench_xmalloc(size_t n) {
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "bench: out of memory (%zu bytes)\n", n);
        exit(3);
    }
    return p;
}

/* Peak RSS in KiB from a /proc/PID/status file's VmHWM line, -1 if unreadable. */
static inline long bench_vmhwm_kb(const char *status_path) {
    FILE *f = fopen(status_path, "r");
    char line[256];
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* Peak RSS of this process in KiB. Not getrusage's ru_maxrss, which Linux carries over exec from
 * the parent that forked us (a Python runner's ~14 MiB). */
static inline long bench_maxrss_kb(void) {
    return bench_vmhwm_kb("/proc/self/status");
}

/* The measured interval: from the first worker's bench_clock_start() to the last worker's
 * bench_clock_stop(). Workers read the clock themselves because on an oversubscribed machine the
 * main thread may not run again until they have finished. */
static pthread_mutex_t bench_clock_lock = PTHREAD_MUTEX_INITIALIZER;
static double bench_clock_t0, bench_clock_t1; /* earliest start, latest stop */

static inline void bench_clock_start(void) {
    double t = bench_now();
    pthread_mutex_lock(&bench_clock_lock);
    if (bench_clock_t0 == 0 || t < bench_clock_t0)
        bench_clock_t0 = t;
    pthread_mutex_unlock(&bench_clock_lock);
}

static inline void bench_clock_stop(void) {
    double t = bench_now();
    pthread_mutex_lock(&bench_clock_lock);
    if (t > bench_clock_t1)
        bench_clock_t1 = t;
    pthread_mutex_unlock(&bench_clock_lock);
}

static inline double bench_clock_secs(void) {
    return bench_clock_t1 - bench_clock_t0;
}

/* Workers call bench_start_wait() after their setup, so all start together with the main thread. */
static pthread_barrier_t bench_start_line;
static inline void bench_start_wait(void) { pthread_barrier_wait(&bench_start_line); }

/* Runs fn on n threads, thread i getting (char *)args + i * stride; returns the measured seconds. */
static inline double bench_run_threads(int n, void *(*fn)(void *), void *args, size_t stride) {
    pthread_barrier_init(&bench_start_line, NULL, (unsigned)n + 1);
    pthread_t *tid = bench_xmalloc(sizeof(pthread_t) * (size_t)n);
    for (int i = 0; i < n; i++)
        pthread_create(&tid[i], NULL, fn, (char *)args + (size_t)i * stride);
    bench_start_wait();
    for (int i = 0; i < n; i++)
        pthread_join(tid[i], NULL);
    free(tid);
    return bench_clock_secs();
}

/* Current resident size of this process in KiB (the second field of /proc/self/statm, in pages),
 * -1 if unreadable. Read with open/read, not stdio, so that reading it allocates nothing. */
static inline long bench_rss_kb(void) {
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    long size, resident;
    if (sscanf(buf, "%ld %ld", &size, &resident) != 2)
        return -1;
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* The end-of-run probe, identical for every allocator. Enabled by the environment variable
 * BENCH_END_RSS_MS=<sleep in ms> (bench/run.py's end-RSS pass sets 1200); unset or empty, nothing
 * is measured and the result line has no end fields. Called only once the workload has joined its
 * threads and freed everything it allocated:
 *   1. sleep BENCH_END_RSS_MS, so that allocators giving memory back after a delay (glibc's,
 *      jemalloc's, mimalloc's, tamalloc's decay: 1 s by default) can;
 *   2. 100 malloc(5000)/free pairs: allocators whose decay is driven by their own calls (tamalloc
 *      has no background thread) get the calls to run it on;
 *   3. end_kb = the current resident size (bench_rss_kb, not the peak);
 *   4. malloc_trim(0), only if the process has a malloc_trim that belongs to the allocator in use
 *      (found by dlsym(RTLD_DEFAULT) in the same object as malloc: glibc's, libtamalloc.so's;
 *      under a preloaded allocator that does not export one, the symbol found is glibc's, which
 *      would not touch that allocator's memory), then trim_kb = the resident size again;
 *      trim_kb = -1 when there is no such malloc_trim.
 * Returns 0 when not enabled, 1 when end_kb and trim_kb were measured. */
static inline int bench_end_rss(long *end_kb, long *trim_kb) {
    const char *env = getenv("BENCH_END_RSS_MS");
    if (!env || !*env)
        return 0;
    char *e;
    long ms = strtol(env, &e, 10);
    if (*e || ms < 0 || ms > 60000) {
        fprintf(stderr, "bench: bad BENCH_END_RSS_MS '%s' (0..60000)\n", env);
        exit(2);
    }
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    for (int i = 0; i < 100; i++) {
        void *volatile p = malloc(5000); /* volatile: the pair cannot be optimized away */
        free(p);
    }
    *end_kb = bench_rss_kb();
    *trim_kb = -1;
    void *trim = dlsym(RTLD_DEFAULT, "malloc_trim");
    void *mall = dlsym(RTLD_DEFAULT, "malloc");
    Dl_info ti, mi;
    if (trim && mall && dladdr(trim, &ti) && dladdr(mall, &mi) && ti.dli_fbase == mi.dli_fbase) {
        ((int (*)(size_t))trim)(0);
        *trim_kb = bench_rss_kb();
    }
    return 1;
}

/* tamalloc's statistics, when the allocator in use is libtamalloc.so. The workloads link the C
 * library's malloc and get tamalloc only through LD_PRELOAD, so they cannot include tamalloc.h:
 * bench_ta_stats mirrors its struct ta_stats, field for field and in the same order (keep the
 * two in step; //bench:stats_layout_test compares them), and ta_get_stats is looked up with
 * dlsym(RTLD_DEFAULT) in the object that provides malloc (only libtamalloc.so exports it). It is
 * called on a buffer with room to spare, so fields that a later tamalloc appends to ta_stats
 * cannot overflow it. */
typedef struct {
    size_t allocated;        /* bytes in live blocks */
    size_t free;             /* bytes in free blocks */
    size_t free_blocks;      /* blocks on the arenas' free lists (summed over the arenas) */
    size_t mapped;
    size_t large_allocated;
    size_t arenas;
    size_t remote_pushed;
    size_t remote_drained;
    size_t cached;
    size_t cached_blocks;
    size_t remote_batched;
    size_t purged;
    size_t dirty;
    size_t large_cached;
    size_t searches;         /* next-fit searches */
    size_t search_steps;     /* fit-index nodes and block headers those searches read */
    size_t search_max_steps; /* the most one search read (the largest over the arenas) */
    size_t background_rounds;
    size_t background_cpu_ns;
} bench_ta_stats;

typedef union {
    bench_ta_stats s;
    size_t room[64]; /* > sizeof(ta_stats) today: a longer future ta_stats still fits */
} bench_ta_stats_buf;

/* ta_get_stats of the allocator in use, or NULL when it has none (every allocator but
 * libtamalloc.so). Looked up at the first call, from one thread: a workload that samples during
 * its run (bench_ta_sample) calls this first, before its workers start. */
static inline void (*bench_ta_get_stats_fn(void))(void *) {
    static int looked;
    static void (*fn)(void *);
    if (!looked) {
        void *g = dlsym(RTLD_DEFAULT, "ta_get_stats");
        void *mall = dlsym(RTLD_DEFAULT, "malloc");
        Dl_info gi, mi;
        if (g && mall && dladdr(g, &gi) && dladdr(mall, &mi) && gi.dli_fbase == mi.dli_fbase)
            fn = (void (*)(void *))g;
        looked = 1;
    }
    return fn;
}

/* Fills *out with tamalloc's statistics; 0 (and *out untouched) under any other allocator. */
static inline int bench_ta_stats_read(bench_ta_stats *out) {
    void (*fn)(void *) = bench_ta_get_stats_fn();
    if (!fn)
        return 0;
    bench_ta_stats_buf b;
    memset(&b, 0, sizeof b);
    fn(&b);
    *out = b.s;
    return 1;
}

/* The most free blocks (ta_stats.free_blocks, summed over the arenas) seen by bench_ta_sample,
 * and how many samples were taken. A workload calls bench_ta_sample from one thread at points
 * where its workers are parked (frag and grow: the main thread between two barriers at each
 * phase end), so the peak it records is the heap's, not a torn mid-phase count. A sample is
 * inside the measured interval: one ta_get_stats, a few microseconds (the extra barrier costs
 * every allocator the same). */
static size_t bench_ta_free_blocks_peak, bench_ta_samples;

static inline void bench_ta_sample(void) {
    bench_ta_stats st;
    if (!bench_ta_stats_read(&st))
        return;
    if (st.free_blocks > bench_ta_free_blocks_peak)
        bench_ta_free_blocks_peak = st.free_blocks;
    bench_ta_samples++;
}

/* The result line's tamalloc fields, read now (at the end of the run, before the end-of-run
 * probe's own calls): " searches=N search_steps=N search_max_steps=N", then
 * " free_blocks_peak=N" if the workload sampled the free-block count (bench_ta_sample) during the
 * run. Empty under any other allocator. */
static inline void bench_ta_fields(char *buf, size_t cap) {
    bench_ta_stats st;
    buf[0] = 0;
    if (!bench_ta_stats_read(&st))
        return;
    int n = snprintf(buf, cap, " searches=%zu search_steps=%zu search_max_steps=%zu",
                     st.searches, st.search_steps, st.search_max_steps);
    if (bench_ta_samples && n > 0 && (size_t)n < cap) {
        size_t peak = st.free_blocks > bench_ta_free_blocks_peak ? st.free_blocks
                                                                 : bench_ta_free_blocks_peak;
        snprintf(buf + n, cap - (size_t)n, " free_blocks_peak=%zu", peak);
    }
}

/* The process's resource usage for the result line: getrusage(RUSAGE_SELF), i.e. the WHOLE
 * process from its start (every thread, the exited ones included; the workload's setup, its
 * checking and its frees too, not only the measured interval), and not its children (mc_bench's
 * memcached server: mc_bench reports the server's own, server_utime_s=..., from wait4). Taken
 * once, by bench_usage_take: the report functions take it first thing, with the peak RSS, so the
 * end-of-run probe's sleep, calls and malloc_trim are not in it; bench_print takes it itself if
 * nobody did. */
static struct rusage bench_usage;
static int bench_usage_taken;

static inline void bench_usage_take(void) {
    if (getrusage(RUSAGE_SELF, &bench_usage) != 0)
        memset(&bench_usage, 0, sizeof bench_usage);
    bench_usage_taken = 1;
}

/* " utime_s=U stime_s=S minflt=N majflt=N" of a struct rusage: user and kernel CPU seconds
 * (microseconds printed), minor and major page faults. */
static inline void bench_usage_fields(char *buf, size_t cap, const char *prefix,
                                      const struct rusage *ru) {
    snprintf(buf, cap, " %sutime_s=%ld.%06ld %sstime_s=%ld.%06ld %sminflt=%ld %smajflt=%ld",
             prefix, (long)ru->ru_utime.tv_sec, (long)ru->ru_utime.tv_usec, prefix,
             (long)ru->ru_stime.tv_sec, (long)ru->ru_stime.tv_usec, prefix, ru->ru_minflt,
             prefix, ru->ru_majflt);
}

/* Prints the result line (see bench_report), with this process's usage (bench_usage_take) right
 * after maxrss_kb, always there and always in that place. */
static inline void bench_print(const char *workload, int threads, uint64_t ops, double secs,
                               uint64_t checksum, int ok, long maxrss_kb, const char *end,
                               const char *extra, const char *ta) {
    if (secs <= 0)
        secs = 1e-9;
    if (!bench_usage_taken)
        bench_usage_take();
    char usage[160];
    bench_usage_fields(usage, sizeof usage, "", &bench_usage);
    printf("BENCH workload=%s threads=%d ops=%" PRIu64 " secs=%.6f ops_per_sec=%.0f"
           " checksum=0x%016" PRIx64 " ok=%d maxrss_kb=%ld%s%s%s%s%s\n",
           workload, threads, ops, secs, (double)ops / secs, checksum, ok, maxrss_kb, usage, end,
           extra && *extra ? " " : "", extra ? extra : "", ta);
    fflush(stdout);
}

/* The one machine-readable line: "BENCH workload=W threads=T ops=N secs=S ops_per_sec=R
 * checksum=0x... ok=0|1 maxrss_kb=K utime_s=U stime_s=S minflt=N majflt=N" (the last four: this
 * whole process's getrusage at report time, bench_usage_take) followed by the caller's extra
 * "key=value" fields and, under libtamalloc.so only, "searches=N search_steps=N
 * search_max_steps=N [free_blocks_peak=N]" (bench_ta_fields). For a workload that cannot free
 * everything before it reports (mc_bench: the memcached server keeps its items); the others call
 * bench_report_freed. */
static inline void bench_report(const char *workload, int threads, uint64_t ops, double secs,
                                uint64_t checksum, int ok, const char *extra) {
    long maxrss = bench_maxrss_kb();
    bench_usage_take();
    char ta[160];
    bench_ta_fields(ta, sizeof ta);
    bench_print(workload, threads, ops, secs, checksum, ok, maxrss, "", extra, ta);
}

/* bench_report for a workload that has joined its threads and freed everything it allocated:
 * with BENCH_END_RSS_MS set, the line also carries "end_rss_kb=E trim_rss_kb=T" (T is "-" when
 * the allocator has no malloc_trim of its own) right after the usage fields, measured by
 * bench_end_rss after the peak and the usage were read. */
static inline void bench_report_freed(const char *workload, int threads, uint64_t ops,
                                      double secs, uint64_t checksum, int ok, const char *extra) {
    long maxrss = bench_maxrss_kb(), end_kb, trim_kb;
    bench_usage_take(); /* before the probe: its sleep, calls and trim are not the workload's */
    char end[80] = "", ta[160];
    bench_ta_fields(ta, sizeof ta); /* the workload's searches, not the probe's */
    if (bench_end_rss(&end_kb, &trim_kb)) {
        char t[24] = "-";
        if (trim_kb >= 0)
            snprintf(t, sizeof t, "%ld", trim_kb);
        snprintf(end, sizeof end, " end_rss_kb=%ld trim_rss_kb=%s", end_kb, t);
    }
    bench_print(workload, threads, ops, secs, checksum, ok, maxrss, end, extra, ta);
}

#endif
