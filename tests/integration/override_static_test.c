/* override_static_test.c - a program linked with `malloc = "//alloc:tamalloc_override"`: it calls
 * the C library's names (malloc, free, calloc, realloc, reallocarray, posix_memalign, aligned_alloc,
 * memalign, valloc, pvalloc, malloc_usable_size, malloc_trim, free_sized, free_aligned_sized and
 * the __libc_* names) and checks that
 *   - tamalloc served them: the live-byte count of ta_get_stats moves by exactly the usable size of
 *     each block, malloc_usable_size gives tamalloc's sizes (16 for malloc(1); glibc gives 24), and
 *     ta_usable_size accepts every pointer (it faults on one tamalloc did not hand out);
 *   - each function keeps glibc's contract, errno included (ENOMEM, EINVAL, free leaves errno);
 *   - free() of a pointer tamalloc did not hand out aborts with a "tamalloc:" message;
 *   - a thread created by a constructor that runs before tamalloc's own, and worker threads that
 *     exchange blocks (cross-thread frees), work: every block's contents survive, the blocks come
 *     from several arenas, remote frees happen, malloc_trim drains them, and ta_check() passes;
 *   - the introspection names are tamalloc's too (mallinfo2, mallopt, malloc_info into a memory
 *     stream that reallocs while it is written); the fully static link also shows that they keep
 *     libc.a's malloc.o out (it defines them as well: both would clash).
 * Seeded (TAMALLOC_TEST_SEED replays a run); no timing. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tamalloc.h"
#include "tests/testlib/check.h"
#include "tests/testlib/pattern.h"
#include "tests/testlib/rng.h"

/* Not declared by glibc 2.36's headers. */
void free_sized(void *p, size_t size);
void free_aligned_sized(void *p, size_t alignment, size_t size);
void cfree(void *p);
void *__libc_malloc(size_t size);
void __libc_free(void *p);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t alignment, size_t size);
void *__libc_valloc(size_t size);
void *__libc_pvalloc(size_t size);


/* volatile: the compiler must neither fold the calls nor reject the deliberately bad arguments. */
static volatile size_t huge = SIZE_MAX, align0 = 0, align3 = 3, align24 = 24;
static size_t page;

static size_t live_bytes(void) {
    ta_stats s;
    ta_get_stats(&s);
    return s.allocated;
}

static int aligned_to(const void *p, size_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

/* Contents that depend only on (tag, offset), so they can be checked after realloc moves a block
 * (testlib's pattern also depends on the address and size). */
static uint64_t seq_word(uint64_t tag, size_t i) { return (tag + i) * 0x9e3779b97f4a7c15ULL ^ (tag >> 7); }
static void seq_fill(void *p, size_t n, uint64_t tag) {
    unsigned char *b = p;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) { uint64_t w = seq_word(tag, i / 8); memcpy(b + i, &w, 8); }
    uint64_t w = seq_word(tag, i / 8);
    for (size_t k = 0; i < n; i++, k++) b[i] = (unsigned char)(w >> (8 * k));
}
static int seq_ok(const void *p, size_t n, uint64_t tag) {
    const unsigned char *b = p;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) { uint64_t w = seq_word(tag, i / 8); if (memcmp(b + i, &w, 8) != 0) return 0; }
    uint64_t w = seq_word(tag, i / 8);
    for (size_t k = 0; i < n; i++, k++) if (b[i] != (unsigned char)(w >> (8 * k))) return 0;
    return 1;
}

/* ------------------------------------------------------------------------------------------- */
/* A thread started before main, by a constructor that runs before tamalloc's (priority 101 runs
 * before unprioritised constructors), allocating while the rest of start-up continues. */

#define EARLY_OPS 20000
static pthread_t early_thread;
static int early_started;
static volatile int early_failed;

static void *early_main(void *arg) {
    (void)arg;
    void *keep[64] = {0};
    rng r = rng_make(0xea71);
    for (int i = 0; i < EARLY_OPS; i++) {
        unsigned k = (unsigned)rng_below(&r, 64);
        if (keep[k]) {
            if (!pattern_ok(keep[k], 48, k)) early_failed = 1;
            free(keep[k]);
        }
        keep[k] = malloc(48);
        if (!keep[k]) { early_failed = 1; break; }
        pattern_fill(keep[k], 48, k);
    }
    for (unsigned k = 0; k < 64; k++) free(keep[k]);
    return NULL;
}

__attribute__((constructor(101))) static void start_early_thread(void) {
    early_started = pthread_create(&early_thread, NULL, early_main, NULL) == 0;
    void *p = malloc(100);   /* races with the early thread's first allocation */
    free(p);
}

/* ------------------------------------------------------------------------------------------- */

static void test_served_by_tamalloc(void) {
    size_t before = live_bytes();
    void *p = malloc(1);
    CHECK(p != NULL, "malloc(1)");
    CHECK(malloc_usable_size(p) == 16, "usable %zu: tamalloc's minimum block has 16 usable bytes", malloc_usable_size(p));
    CHECK(ta_usable_size(p) == 16, "ta_usable_size");
    CHECK(live_bytes() == before + 16, "live bytes %zu -> %zu after malloc(1)", before, live_bytes());
    free(p);
    CHECK(live_bytes() == before, "live bytes after free");

    p = malloc(1000);
    CHECK(malloc_usable_size(p) == 1008, "malloc(1000) usable %zu", malloc_usable_size(p));
    CHECK(live_bytes() == before + 1008, "live bytes after malloc(1000)");
    free(p);
    CHECK(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL)");

    /* A large block (>= the 128 KiB mmap threshold) is counted too. */
    p = malloc(1 << 20);
    CHECK(p && malloc_usable_size(p) >= (1 << 20), "large malloc");
    CHECK(live_bytes() == before + malloc_usable_size(p), "large block in live bytes");
    free(p);
    CHECK(live_bytes() == before, "live bytes after large free");

    void *z = malloc(0);
    CHECK(z != NULL && malloc_usable_size(z) == 16, "malloc(0) returns a unique block");
    void *z2 = malloc(0);
    CHECK(z2 != NULL && z2 != z, "two malloc(0) differ");
    free(z);
    free(z2);
}

static void test_errno(void) {
    void *p;
    errno = 0;
    CHECK(malloc(huge) == NULL && errno == ENOMEM, "malloc(SIZE_MAX) errno %d", errno);
    errno = 0;
    CHECK(malloc(huge / 2) == NULL && errno == ENOMEM, "malloc(SIZE_MAX/2) errno %d", errno);
    errno = 0;
    CHECK(calloc(huge / 2, 4) == NULL && errno == ENOMEM, "calloc overflow errno %d", errno);
    errno = 0;
    CHECK(calloc(2, huge / 2) == NULL && errno == ENOMEM, "calloc overflow errno %d", errno);

    /* calloc zeroes, also a block recycled from a dirty one. */
    p = malloc(256);
    memset(p, 0xab, 256);
    free(p);
    unsigned char *c = calloc(16, 16);
    CHECK(c != NULL, "calloc");
    for (int i = 0; i < 256; i++) CHECK(c[i] == 0, "calloc byte %d is %#x", i, c[i]);
    free(c);

    /* realloc: NULL acts as malloc; failure leaves the block intact; 0 frees and returns NULL. */
    size_t base = live_bytes();
    p = realloc(NULL, 100);
    CHECK(p != NULL && malloc_usable_size(p) == 112, "realloc(NULL, 100)");
    seq_fill(p, 100, 7);
    errno = 0;
    CHECK(realloc(p, huge) == NULL && errno == ENOMEM, "realloc(p, SIZE_MAX) errno %d", errno);
    CHECK(seq_ok(p, 100, 7), "realloc failure kept the contents");
    errno = 0;
    CHECK(reallocarray(p, huge / 2, 3) == NULL && errno == ENOMEM, "reallocarray overflow errno %d", errno);
    CHECK(seq_ok(p, 100, 7), "reallocarray failure kept the contents");
    p = reallocarray(p, 50, 100);
    CHECK(p != NULL && malloc_usable_size(p) >= 5000 && seq_ok(p, 100, 7), "reallocarray grows, keeps contents");
    p = realloc(p, 300000);   /* into a large block */
    CHECK(p != NULL && seq_ok(p, 100, 7), "realloc to large keeps contents");
    p = realloc(p, 40);
    CHECK(p != NULL && seq_ok(p, 40, 7), "realloc shrink keeps contents");
    errno = 4321;
    CHECK(realloc(p, 0) == NULL, "realloc(p, 0) returns NULL (glibc)");
    CHECK(errno == 4321, "realloc(p, 0) left errno %d", errno);
    CHECK(live_bytes() == base, "realloc(p, 0) freed the block: live %zu, expected %zu", live_bytes(), base);

    /* posix_memalign: returns the error, never sets errno, leaves *out alone on failure. */
    void *out = (void *)0x1234;
    errno = 77;
    CHECK(posix_memalign(&out, align24, 8) == EINVAL && out == (void *)0x1234 && errno == 77, "posix_memalign(24)");
    CHECK(posix_memalign(&out, 4, 8) == EINVAL && out == (void *)0x1234 && errno == 77, "posix_memalign(4): not a multiple of sizeof(void*)");
    CHECK(posix_memalign(&out, align0, 8) == EINVAL && errno == 77, "posix_memalign(0)");
    CHECK(posix_memalign(&out, 64, huge) == ENOMEM && out == (void *)0x1234 && errno == 77, "posix_memalign ENOMEM, errno %d", errno);
    static const size_t aligns[] = {8, 16, 32, 64, 256, 4096, 65536, 1 << 21};
    for (unsigned i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        CHECK(posix_memalign(&out, aligns[i], 100) == 0 && aligned_to(out, aligns[i]), "posix_memalign(%zu)", aligns[i]);
        CHECK(ta_usable_size(out) >= 100, "usable");
        free(out);
    }

    /* aligned_alloc: EINVAL for a non power of two (glibc 2.36), including 0. */
    errno = 0;
    CHECK(aligned_alloc(align3, 16) == NULL && errno == EINVAL, "aligned_alloc(3) errno %d", errno);
    errno = 0;
    CHECK(aligned_alloc(align0, 16) == NULL && errno == EINVAL, "aligned_alloc(0) errno %d", errno);
    errno = 0;
    CHECK(aligned_alloc(64, huge) == NULL && errno == ENOMEM, "aligned_alloc ENOMEM errno %d", errno);
    p = aligned_alloc(128, 1000);
    CHECK(p && aligned_to(p, 128), "aligned_alloc(128)");
    free(p);

    /* memalign: a non power of two is rounded up; an impossible one is EINVAL. */
    p = memalign(align24, 10);
    CHECK(p && aligned_to(p, 32), "memalign(24) rounds to 32");
    free(p);
    errno = 0;
    CHECK(memalign(huge / 2 + 2, 10) == NULL && errno == EINVAL, "memalign(huge) errno %d", errno);
    errno = 0;
    CHECK(memalign(64, huge) == NULL && errno == ENOMEM, "memalign ENOMEM errno %d", errno);

    /* valloc / pvalloc: page aligned; pvalloc rounds the size up to a page. */
    p = valloc(100);
    CHECK(p && aligned_to(p, page) && malloc_usable_size(p) >= 100, "valloc");
    free(p);
    p = pvalloc(100);
    CHECK(p && aligned_to(p, page) && malloc_usable_size(p) >= page, "pvalloc(100) usable %zu", p ? malloc_usable_size(p) : 0);
    free(p);
    p = pvalloc(page + 1);
    CHECK(p && aligned_to(p, page) && malloc_usable_size(p) >= 2 * page, "pvalloc(page+1)");
    free(p);
    errno = 0;
    CHECK(pvalloc(huge - 10) == NULL && errno == ENOMEM, "pvalloc overflow errno %d", errno);
    errno = 0;
    CHECK(valloc(huge) == NULL && errno == ENOMEM, "valloc ENOMEM errno %d", errno);

    /* free leaves errno unchanged: NULL, small, large (munmap), aligned, sized. */
    void *small = malloc(64), *large = malloc(1 << 20), *al = memalign(4096, 5000), *s2 = malloc(80), *s3 = aligned_alloc(64, 64);
    errno = 9999;
    free(NULL);
    free(small);
    free(large);
    free(al);
    free_sized(s2, 80);
    free_aligned_sized(s3, 64, 64);
    CHECK(errno == 9999, "free changed errno to %d", errno);
    CHECK(live_bytes() == base, "free_sized/free_aligned_sized freed: live %zu, expected %zu", live_bytes(), base);
}

static void test_libc_names(void) {
    size_t base = live_bytes();
    void *a = __libc_malloc(1), *b = __libc_calloc(3, 5), *c = __libc_memalign(64, 3), *d = __libc_valloc(1), *e = __libc_pvalloc(1);
    CHECK(a && b && c && d && e, "__libc_* allocate");
    CHECK(malloc_usable_size(a) == 16 && malloc_usable_size(b) == 16, "__libc_malloc/__libc_calloc are tamalloc's");
    CHECK(aligned_to(c, 64) && aligned_to(d, page) && aligned_to(e, page) && malloc_usable_size(e) >= page, "__libc_ aligned");
    a = __libc_realloc(a, 500);
    CHECK(a && malloc_usable_size(a) == 512, "__libc_realloc");
    __libc_free(a);
    __libc_free(b);
    cfree(c);
    free(d);
    free(e);
    CHECK(live_bytes() == base, "all freed");
}

/* malloc_trim drains remote queues and returns empty segments: 1 when memory went back. */
#define TRIM_BLOCKS 200
static void *trim_blocks[TRIM_BLOCKS];
static pthread_mutex_t trim_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t trim_cv = PTHREAD_COND_INITIALIZER;
static int trim_phase;

static void *trim_owner(void *arg) {
    (void)arg;
    for (int i = 0; i < TRIM_BLOCKS; i++) trim_blocks[i] = malloc(64 << 10);   /* ~3 segments */
    pthread_mutex_lock(&trim_mu);
    trim_phase = 1;
    pthread_cond_broadcast(&trim_cv);
    while (trim_phase != 2) pthread_cond_wait(&trim_cv, &trim_mu);   /* stays alive, idle */
    pthread_mutex_unlock(&trim_mu);
    return NULL;
}

static void test_malloc_trim(void) {
    pthread_t t;
    CHECK(pthread_create(&t, NULL, trim_owner, NULL) == 0, "pthread_create");
    pthread_mutex_lock(&trim_mu);
    while (trim_phase != 1) pthread_cond_wait(&trim_cv, &trim_mu);
    pthread_mutex_unlock(&trim_mu);
    for (int i = 0; i < TRIM_BLOCKS; i++) CHECK(trim_blocks[i] && malloc_usable_size(trim_blocks[i]) == 64 << 10, "block %d", i);

    ta_stats s0, s1, s2;
    ta_get_stats(&s0);
    for (int i = 0; i < TRIM_BLOCKS; i++) free(trim_blocks[i]);   /* remote: the owner is idle */
    ta_get_stats(&s1);
    CHECK(s1.remote_pushed + s1.remote_batched >= s0.remote_pushed + s0.remote_batched + TRIM_BLOCKS,
          "frees from another thread were queued (pushed, or batched in this thread's cache)");
    CHECK(s1.allocated == s0.allocated, "queued blocks stay live until their owner drains them");
    CHECK(malloc_trim(0) == 1, "malloc_trim released the drained segments");
    ta_get_stats(&s2);
    CHECK(s2.remote_drained == s2.remote_pushed, "malloc_trim drained every queue: pushed %zu drained %zu", s2.remote_pushed, s2.remote_drained);
    CHECK(s2.allocated + (size_t)TRIM_BLOCKS * (64 << 10) == s1.allocated, "drained blocks are free: %zu -> %zu", s1.allocated, s2.allocated);
    CHECK(s2.mapped + (size_t)2 * (4 << 20) <= s1.mapped, "segments went back to the OS: mapped %zu -> %zu", s1.mapped, s2.mapped);
    CHECK(malloc_trim(0) == 0, "nothing left to release");

    pthread_mutex_lock(&trim_mu);
    trim_phase = 2;
    pthread_cond_broadcast(&trim_cv);
    pthread_mutex_unlock(&trim_mu);
    pthread_join(t, NULL);
}

/* free() of a pointer tamalloc did not hand out: reported and aborted, never ignored. The child
 * re-executes this program with its fd 2 on the pipe (the message goes to fd 2, or to the duplicate
 * of it that TAMALLOC_STATS makes tamalloc take at start-up). */
static void foreign_free_child(void) {
    static char not_ours[64] __attribute__((aligned(16)));
    free(not_ours + 16);
    _exit(0);   /* reaching here is the failure */
}

static void test_foreign_free_aborts(void) {
    int fds[2];
    CHECK(pipe(fds) == 0, "pipe");
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        dup2(fds[1], 2);
        execl("/proc/self/exe", "override_static_test", "--foreign-free", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char buf[512] = {0};
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 && (r = read(fds[0], buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)r;
    close(fds[0]);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "free of a foreign pointer aborts (status %#x)", st);
    CHECK(strncmp(buf, "tamalloc: invalid pointer", 25) == 0 && strstr(buf, ": free") != NULL, "message: %s", buf);
}

/* Workers: random libc-name operations on a shared slot table, so blocks are freed and resized
 * by threads other than the allocating one. Each slot is guarded by its own lock. */
#define WORKERS 4
#define SLOTS 512
#define OPS_PER_WORKER 20000
typedef struct slot { pthread_mutex_t mu; unsigned char *p; size_t n; uint64_t tag; } slot;
static slot slots[SLOTS];
static uint64_t base_seed;
static size_t worker_ops[WORKERS][6];   /* malloc, calloc, realloc, posix_memalign, aligned_alloc, free */
static const char *const op_names[6] = {"malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc", "free"};

static size_t pick_size(rng *r) {
    switch (rng_below(r, 8)) {
    case 0: return rng_below(r, 16);
    case 7: return 1024 + rng_below(r, 150000);   /* sometimes past the mmap threshold */
    default: return 16 + rng_below(r, 1000);
    }
}

static void *worker(void *arg) {
    unsigned id = (unsigned)(uintptr_t)arg;
    rng r = rng_make(base_seed + id * 7919);
    for (int i = 0; i < OPS_PER_WORKER; i++) {
        slot *s = &slots[rng_below(&r, SLOTS)];
        pthread_mutex_lock(&s->mu);
        if (s->p) {
            if (!seq_ok(s->p, s->n, s->tag)) {
                fprintf(stderr, "corrupted block %p size %zu\n", (void *)s->p, s->n);
                abort();
            }
            if (rng_below(&r, 3) == 0) {
                size_t n = pick_size(&r);
                unsigned char *q = realloc(s->p, n);
                if (n == 0) {
                    if (q != NULL) abort();   /* realloc(p, 0) frees */
                    s->p = NULL;
                } else {
                    if (!q || malloc_usable_size(q) < n || !seq_ok(q, n < s->n ? n : s->n, s->tag)) abort();
                    s->p = q;
                    s->n = n;
                    seq_fill(q, n, s->tag);
                }
                worker_ops[id][2]++;
            } else {
                free(s->p);
                s->p = NULL;
                worker_ops[id][5]++;
            }
        } else {
            size_t n = pick_size(&r);
            unsigned kind = (unsigned)rng_below(&r, 4);
            void *q = NULL;
            if (kind == 0) q = malloc(n);
            else if (kind == 1) {
                q = calloc(1, n);
                for (size_t k = 0; k < n; k++) if (((unsigned char *)q)[k]) abort();
            } else if (kind == 2) {
                if (posix_memalign(&q, (size_t)16 << rng_below(&r, 6), n) != 0) abort();
                kind = 3;
            } else {
                size_t a = (size_t)16 << rng_below(&r, 6);
                q = aligned_alloc(a, n);
                if (!aligned_to(q, a)) abort();
                kind = 4;
            }
            if (!q || malloc_usable_size(q) < n) abort();
            s->p = q;
            s->n = n;
            s->tag = rng_next(&r);
            seq_fill(q, n, s->tag);
            worker_ops[id][kind]++;
        }
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

static void test_threads(void) {
    for (int i = 0; i < SLOTS; i++) pthread_mutex_init(&slots[i].mu, NULL);
    ta_stats before, after;
    ta_get_stats(&before);
    pthread_t t[WORKERS];
    for (uintptr_t i = 0; i < WORKERS; i++) CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0, "pthread_create");
    for (int i = 0; i < WORKERS; i++) pthread_join(t[i], NULL);
    ta_get_stats(&after);
    CHECK(after.arenas >= 2, "worker threads got arenas of their own: %zu arenas", after.arenas);
    CHECK(after.remote_pushed > before.remote_pushed, "blocks were freed by other threads (remote)");
    size_t total[6] = {0};
    for (int i = 0; i < WORKERS; i++) for (int k = 0; k < 6; k++) total[k] += worker_ops[i][k];
    printf("workers: %d threads x %d ops:", WORKERS, OPS_PER_WORKER);
    for (int k = 0; k < 6; k++) printf(" %s %zu", op_names[k], total[k]);
    printf("; remote frees %zu\n", after.remote_pushed - before.remote_pushed);
    for (int i = 0; i < SLOTS; i++) {
        CHECK(slots[i].p == NULL || seq_ok(slots[i].p, slots[i].n, slots[i].tag), "slot %d intact", i);
        free(slots[i].p);
    }
    malloc_trim(0);
    ta_get_stats(&after);
    CHECK(after.remote_drained == after.remote_pushed, "all queued frees drained");
    CHECK(ta_check() == 0, "ta_check: %s", ta_check_name(ta_check()));
}

/* The C library's introspection (preload_introspect_test.sh checks every field and parameter). */
static void test_introspection(void) {
    ta_stats s;
    ta_get_stats(&s);
    struct mallinfo2 m = mallinfo2();
    CHECK(m.uordblks == s.allocated - s.large_allocated && m.ordblks == s.free_blocks,
          "mallinfo2 is tamalloc's: uordblks %zu (ta: %zu - %zu large), ordblks %zu (ta: %zu)", m.uordblks, s.allocated,
          s.large_allocated, m.ordblks, s.free_blocks);
    CHECK(mallopt(12345, 1) == 0, "mallopt of an unknown parameter returns 0 (glibc's returns 1)");
    char *xml = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&xml, &len);   /* its buffer grows by realloc while malloc_info writes */
    CHECK(fp != NULL, "open_memstream");
    CHECK(malloc_info(0, fp) == 0, "malloc_info(0, memstream)");
    CHECK(fclose(fp) == 0, "fclose");
    size_t heaps = 0;
    for (const char *h = xml; (h = strstr(h, "<heap nr=\"")) != NULL; h++) heaps++;
    CHECK(strncmp(xml, "<malloc version=\"1\">\n", 21) == 0 && len > 10 && strcmp(xml + len - 10, "</malloc>\n") == 0,
          "malloc_info's XML: %.40s ...", xml);
    CHECK(heaps == s.arenas && heaps >= 2, "malloc_info: %zu heaps, %zu arenas in use", heaps, s.arenas);
    free(xml);
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--foreign-free") == 0) foreign_free_child();
    base_seed = rng_base_seed(0x5eed0f0e);
    printf("seed %#llx\n", (unsigned long long)base_seed);
    page = (size_t)sysconf(_SC_PAGESIZE);
    CHECK(early_started, "constructor thread started");
    pthread_join(early_thread, NULL);   /* the byte counts below need a quiet process */
    CHECK(!early_failed, "the thread created before tamalloc's constructor kept its blocks intact");
    test_served_by_tamalloc();
    test_errno();
    test_libc_names();
    test_malloc_trim();
    test_foreign_free_aborts();
    test_threads();
    test_introspection();
    CHECK(ta_check() == 0, "final ta_check");
    printf("PASS: %d checks\n", checks);
    return 0;
}
