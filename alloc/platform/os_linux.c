/* os_linux.c - Linux implementation of os.h (mmap, munmap, madvise, getrandom, sched affinity).
 * Every function saves errno on entry and restores it, except where os.h says it sets it. */
#include "alloc/platform/os.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc/platform/atomic.h"

static ta_atomic_int os_fail_countdown;   /* test hook: fail the n-th map call; 0 = off */
static ta_atomic_int os_stderr_fd = -1;   /* the duplicate of fd 2 (ta_os_keep_stderr), or -1 */

void ta_os_fail_after(unsigned n) { ta_atomic_store_relaxed(&os_fail_countdown, (int)n); }

static int os_should_fail(void) {
    int n = ta_atomic_load_relaxed(&os_fail_countdown);
    while (n > 0) {
        if (atomic_compare_exchange_weak(&os_fail_countdown, &n, n - 1)) return n == 1;
    }
    return 0;
}

size_t ta_os_page_size(void) {
    static ta_atomic_size page;   /* racing first callers compute the same value */
    size_t v = ta_atomic_load_relaxed(&page);
    if (!v) {
        int saved = errno;
        long r = sysconf(_SC_PAGESIZE);
        v = r > 0 ? (size_t)r : 4096;
        ta_atomic_store_relaxed(&page, v);
        errno = saved;
    }
    return v;
}

/* Where the next aligned mapping is likely to fit: just below the previous one (the kernel hands
 * out mappings top-down). Trying it first turns the usual over-map plus two trims into one mmap. */
static ta_atomic_uptr os_next_hint;

static void os_note_hint(char *aligned, size_t size, size_t align) {
    size_t step = (size + align - 1) & ~(align - 1);
    uintptr_t a = (uintptr_t)aligned;
    ta_atomic_store_relaxed(&os_next_hint, a > step ? a - step : (uintptr_t)0);
}

void *ta_os_map_aligned(size_t size, size_t align) {
    int saved = errno;
    size_t page = ta_os_page_size();
    if (align < page) align = page;
    if (os_should_fail() || size > SIZE_MAX - align) { errno = ENOMEM; return NULL; }
    uintptr_t hint = ta_atomic_load_relaxed(&os_next_hint);
    if (align > page && hint) {
        char *p = mmap((void *)hint, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED && ((uintptr_t)p & (align - 1)) == 0) {
            os_note_hint(p, size, align);
            errno = saved;
            return p;
        }
        if (p != MAP_FAILED) munmap(p, size);   /* the hint was taken: fall back */
    }
    size_t span = size + align - page;
    char *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { errno = ENOMEM; return NULL; }
    char *aligned = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
    size_t before = (size_t)(aligned - p), after = span - before - size;
    if (before) munmap(p, before);
    if (after) munmap(aligned + size, after);
    if (align > page) os_note_hint(aligned, size, align);
    errno = saved;
    return aligned;
}

void ta_os_unmap(void *p, size_t size) {
    int saved = errno;
    munmap(p, size);
    errno = saved;
}

void ta_os_purge(void *p, size_t size) {
    int saved = errno;
    madvise(p, size, MADV_DONTNEED);
    errno = saved;
}

static uint64_t os_mix(uint64_t x) {
    x ^= x >> 33; x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

uint64_t ta_os_random_secret(void) {
    int saved = errno;
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        const unsigned char *at = (const unsigned char *)getauxval(AT_RANDOM);
        if (at) memcpy(&r, at, sizeof r);
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r ^= os_mix((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)&r);
    errno = saved;
    return r | 1;
}

/* The lowest number for a descriptor tamalloc keeps: TA_OS_FD_FLOOR, halved until it is below the
 * RLIMIT_NOFILE soft limit (fcntl refuses a floor at or above it). */
static int os_fd_floor(void) {
    struct rlimit rl;
    int floor = TA_OS_FD_FLOOR;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        while (floor > 3 && (rlim_t)floor >= rl.rlim_cur) floor /= 2;
    return floor;
}

/* The file the duplicate refers to: a program may close the duplicate (closefrom(3) in daemons)
 * and reuse its number for a file of its own, which must never receive our messages. */
static dev_t os_stderr_dev;
static ino_t os_stderr_ino;

void ta_os_keep_stderr(void) {
    int saved = errno;
    struct stat st;
    int fd = fcntl(2, F_DUPFD_CLOEXEC, os_fd_floor());
    if (fd >= 0 && fstat(fd, &st) == 0) {
        os_stderr_dev = st.st_dev;
        os_stderr_ino = st.st_ino;
        ta_atomic_store_relaxed(&os_stderr_fd, fd);
    } else if (fd >= 0) {
        close(fd);
    }
    errno = saved;
}

/* Writes what it can of buf to fd, advancing *buf and *len; 0 when all of it was written. */
static int os_write_all(int fd, const char **buf, size_t *len) {
    while (*len > 0) {
        ssize_t n = write(fd, *buf, *len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        *buf += n;
        *len -= (size_t)n;
    }
    return 0;
}

void ta_os_write_stderr(const char *buf, size_t len) {
    int saved = errno;
    struct stat st;
    int kept = ta_atomic_load_relaxed(&os_stderr_fd), fd = kept;
    if (fd >= 0 && (fstat(fd, &st) != 0 || st.st_dev != os_stderr_dev || st.st_ino != os_stderr_ino))
        fd = -1;   /* the duplicate was closed, or its number now names another file */
    if (fd >= 0 && os_write_all(fd, &buf, &len) == 0) {
        errno = saved;
        return;
    }
    /* The duplicate went away: the rest of buf, and every later message, goes to fd 2. */
    if (kept >= 0) ta_atomic_store_relaxed(&os_stderr_fd, -1);
    errno = 0;
    if (os_write_all(2, &buf, &len) != 0 && errno == EBADF) {
        /* fd 2 is closed: the terminal, if the process has one (nothing else when it has none). */
        int tty = open("/dev/tty", O_WRONLY | O_NOCTTY | O_CLOEXEC);
        if (tty >= 0) {
            os_write_all(tty, &buf, &len);
            close(tty);
        }
    }
    errno = saved;
}

/* Reads a small file into buf without stdio (stdio allocates). Returns bytes read or -1. */
static long os_read_small(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    long n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0) return -1;
    buf[n] = 0;
    return n;
}

/* A CPU quota as a CPU count, rounded up; 0 when there is none. */
static unsigned os_cgroup_cpus(void) {
    char buf[128];
    long quota = -1, period = 0;
    if (os_read_small("/sys/fs/cgroup/cpu.max", buf, sizeof buf) > 0) {
        if (strncmp(buf, "max", 3) == 0) return 0;
        char *end;
        quota = strtol(buf, &end, 10);
        period = strtol(end, NULL, 10);
    } else if (os_read_small("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", buf, sizeof buf) > 0) {
        quota = strtol(buf, NULL, 10);
        if (os_read_small("/sys/fs/cgroup/cpu/cpu.cfs_period_us", buf, sizeof buf) > 0)
            period = strtol(buf, NULL, 10);
    }
    if (quota <= 0 || period <= 0) return 0;
    return (unsigned)((quota + period - 1) / period);
}

unsigned ta_os_cpu_count(void) {
    int saved = errno;
    unsigned n = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = (unsigned)CPU_COUNT(&set);
    if (n == 0) {
        long v = sysconf(_SC_NPROCESSORS_ONLN);
        n = v > 0 ? (unsigned)v : 1;
    }
    unsigned quota = os_cgroup_cpus();
    if (quota && quota < n) n = quota;
    errno = saved;
    return n;
}

const char *ta_os_getenv(const char *name) { return getenv(name); }

void ta_os_yield(void) { sched_yield(); }

int ta_os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void)) {
    return pthread_atfork(prepare, parent, child);
}

int ta_os_open_write(const char *path) {
    int err;
    return ta_os_open_write_err(path, &err);
}

int ta_os_open_write_err(const char *path, int *err) {
    int saved = errno;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    *err = fd < 0 ? errno : 0;
    int floor = fd >= 0 ? os_fd_floor() : 0;
    if (fd >= 0 && fd < floor) {
        int high = fcntl(fd, F_DUPFD_CLOEXEC, floor);
        if (high >= 0) {
            close(fd);
            fd = high;
        }
    }
    errno = saved;
    return fd;
}

int ta_os_write_fd(int fd, const void *buf, size_t len) {
    int saved = errno;
    const char *p = buf;
    int rc = os_write_all(fd, &p, &len);
    errno = saved;
    return rc;
}

void ta_os_close(int fd) {
    int saved = errno;
    close(fd);
    errno = saved;
}

int ta_os_on_signal(int sig, void (*fn)(int)) {
    int saved = errno;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    int rc = sigaction(sig, &sa, NULL);
    errno = saved;
    return rc;
}

long ta_os_pid(void) { return (long)getpid(); }

uint64_t ta_os_now_ms(void) {
    int saved = errno;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    errno = saved;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int ta_os_resize(void *p, size_t old_size, size_t new_size) {
    if (new_size > old_size && os_should_fail()) return -1;
    int saved = errno;
    void *q = mremap(p, old_size, new_size, 0);   /* in place, or not at all */
    errno = saved;
    return q == p ? 0 : -1;
}

int ta_os_move(void *p, size_t old_size, size_t new_size, void *dst) {
    int saved = errno;
    void *q = mremap(p, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
    errno = saved;
    return q == dst ? 0 : -1;
}

/* ---------------------------------------------------------------------------------------------
 * File copies for the heap profiler.
 * ------------------------------------------------------------------------------------------- */

int ta_os_copy_file(const char *src, int fd) {
    int saved = errno;
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) { errno = saved; return -1; }
    char buf[4096];
    int rc = 0;
    for (;;) {
        ssize_t k = read(in, buf, sizeof buf);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) { rc = k < 0 ? -1 : 0; break; }
        const char *p = buf;
        size_t len = (size_t)k;
        if (os_write_all(fd, &p, &len) != 0) { rc = -1; break; }
    }
    close(in);
    errno = saved;
    return rc;
}

void ta_os_exit_now(int code) {
    fflush(NULL);
    _exit(code);
}
