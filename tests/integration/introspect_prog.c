/* introspect_prog.c - the C library's heap-introspection names (mallinfo, mallinfo2, malloc_stats,
 * malloc_info, mallopt) as a program sees them, for preload_introspect_test.sh. It is linked with
 * glibc alone; under LD_PRELOAD=libtamalloc.so it reaches tamalloc's own figures through dlsym
 * (ta_get_stats, ta_get_arena_stats: the preloaded library exports them), and compares.
 * Usage:
 *   introspect_prog names       for each name, the object whose definition the program gets
 *                               ("mallinfo2 /path/libtamalloc.so"), by dlsym(RTLD_DEFAULT) + dladdr
 *   introspect_prog check       mallinfo2/mallinfo against ta_get_stats, saturation, mallopt;
 *                               prints "PASS: N checks" (exit 1 at the first failed check)
 *   introspect_prog stats       malloc_stats() after allocating from several threads; prints
 *                               "arenas N" (ta_get_stats) on stdout
 *   introspect_prog info FILE   malloc_info(0) into FILE after allocating from several threads;
 *                               prints the mallinfo2 fields of the same moment on stdout
 *                               ("mallinfo2 arena N ordblks N ...", "arenas N"); checks that
 *                               malloc_info(1, fp) returns -1 with errno EINVAL and writes nothing,
 *                               and that it completes into an open_memstream (which reallocs)
 * Without the preload, every mode but names exits 77 with "tamalloc is not preloaded". */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tamalloc.h"   /* the types only: the functions come from the preloaded library */
#include "tests/testlib/check.h"

static void (*get_stats)(ta_stats *out);
static size_t (*get_arena_stats)(unsigned index, ta_arena_stats *out);


#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
#define GIB ((size_t)1 << 30)

static void *volatile sink;   /* keeps the compiler from dropping a malloc/free pair */

/* mallinfo is deprecated in glibc's header (its int fields overflow); calling it is the point. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static struct mallinfo old_info(void) { return mallinfo(); }
#pragma GCC diagnostic pop

static int same_info(const struct mallinfo2 *a, const struct mallinfo2 *b) { return memcmp(a, b, sizeof *a) == 0; }

/* ---------------------------------------------------------------------------------------------
 * mallinfo2 and mallinfo against ta_get_stats
 * ------------------------------------------------------------------------------------------- */

static size_t arenas_mapped(void) {
    size_t sum = 0;
    ta_arena_stats as;
    for (unsigned i = 0; get_arena_stats(i, &as); i++) sum += as.mapped;
    return sum;
}

/* Every field against the stats read just before (single-threaded: nothing moves in between). */
static void check_fields(const char *when) {
    ta_stats s;
    get_stats(&s);
    size_t segments = arenas_mapped();
    struct mallinfo2 m = mallinfo2();
    CHECK(m.uordblks == s.allocated - s.large_allocated, "%s: uordblks %zu, ta allocated %zu - large %zu", when, m.uordblks,
          s.allocated, s.large_allocated);
    CHECK(m.arena == segments, "%s: arena %zu, the arenas' segments %zu", when, m.arena, segments);
    CHECK(m.arena + m.hblkhd + s.large_cached == s.mapped, "%s: arena %zu + hblkhd %zu + kept %zu != mapped %zu", when, m.arena,
          m.hblkhd, s.large_cached, s.mapped);
    CHECK(m.ordblks == s.free_blocks, "%s: ordblks %zu, free_blocks %zu", when, m.ordblks, s.free_blocks);
    CHECK(m.smblks == s.cached_blocks && m.fsmblks == s.cached, "%s: smblks %zu/fsmblks %zu, cached %zu in %zu", when, m.smblks,
          m.fsmblks, s.cached, s.cached_blocks);
    CHECK(m.fordblks == s.free + s.cached, "%s: fordblks %zu, free %zu + cached %zu", when, m.fordblks, s.free, s.cached);
    CHECK(m.keepcost == s.dirty + s.large_cached, "%s: keepcost %zu, dirty %zu + kept %zu", when, m.keepcost, s.dirty,
          s.large_cached);
    CHECK(m.usmblks == 0, "%s: usmblks %zu", when, m.usmblks);
    CHECK(m.hblkhd >= s.large_allocated && (m.hblks == 0) == (s.large_allocated == 0), "%s: hblks %zu hblkhd %zu, large %zu",
          when, m.hblks, m.hblkhd, s.large_allocated);
    struct mallinfo mi = old_info();
    CHECK(mi.uordblks == (int)m.uordblks && mi.arena == (int)m.arena && mi.ordblks == (int)m.ordblks &&
              mi.hblks == (int)m.hblks && mi.hblkhd == (int)m.hblkhd && mi.fordblks == (int)m.fordblks &&
              mi.keepcost == (int)m.keepcost && mi.smblks == (int)m.smblks && mi.fsmblks == (int)m.fsmblks,
          "%s: mallinfo's fields are mallinfo2's (all below 2 GiB here)", when);
}

static void test_mallinfo(void) {
    ta_stats s;
    get_stats(&s);
    CHECK(s.large_allocated == 0, "no large block yet: %zu", s.large_allocated);
    struct mallinfo2 m = mallinfo2();
    CHECK(m.uordblks == s.allocated, "uordblks %zu, ta_get_stats allocated %zu", m.uordblks, s.allocated);
    check_fields("start");

    /* small blocks: uordblks moves by exactly each block's usable size */
    void *small[64];
    for (int i = 0; i < 64; i++) {
        struct mallinfo2 a = mallinfo2();
        small[i] = malloc((size_t)(8 + 97 * i));
        struct mallinfo2 b = mallinfo2();
        CHECK(b.uordblks == a.uordblks + malloc_usable_size(small[i]), "malloc(%d): uordblks %zu -> %zu, usable %zu", 8 + 97 * i,
              a.uordblks, b.uordblks, malloc_usable_size(small[i]));
    }
    check_fields("small blocks live");
    for (int i = 0; i < 64; i += 2) free(small[i]);
    check_fields("half freed");

    /* 10 MiB of large blocks: hblkhd grows by at least that, hblks by their count */
    struct mallinfo2 m0 = mallinfo2();
    void *large[5];
    for (int i = 0; i < 5; i++) large[i] = malloc(2 * MIB);
    struct mallinfo2 m1 = mallinfo2();
    CHECK(m1.hblkhd >= m0.hblkhd + 10 * MIB, "hblkhd %zu -> %zu after 10 MiB of large blocks", m0.hblkhd, m1.hblkhd);
    CHECK(m1.hblks == m0.hblks + 5, "hblks %zu -> %zu", m0.hblks, m1.hblks);
    CHECK(m1.uordblks == m0.uordblks, "uordblks counts arena blocks only: %zu -> %zu", m0.uordblks, m1.uordblks);
    check_fields("large blocks live");
    for (int i = 0; i < 5; i++) free(large[i]);
    struct mallinfo2 m2 = mallinfo2();
    CHECK(m2.hblks == m0.hblks && m2.hblkhd == m0.hblkhd, "large blocks freed: hblks %zu hblkhd %zu", m2.hblks, m2.hblkhd);
    CHECK(m2.keepcost >= m0.keepcost + 10 * MIB, "their mappings are kept for reuse, in keepcost: %zu -> %zu", m0.keepcost,
          m2.keepcost);
    check_fields("large blocks freed");
    for (int i = 1; i < 64; i += 2) free(small[i]);

    /* mallinfo's int fields stop at INT_MAX: 3 GiB in large blocks (mapped, never touched) */
    void *huge[3];
    for (int i = 0; i < 3; i++) CHECK((huge[i] = malloc(GIB)) != NULL, "malloc(1 GiB) #%d", i);
    struct mallinfo2 h2 = mallinfo2();
    struct mallinfo h = old_info();
    CHECK(h2.hblkhd >= 3 * GIB, "mallinfo2 hblkhd %zu", h2.hblkhd);
    CHECK(h.hblkhd == INT_MAX, "mallinfo hblkhd %d, expected INT_MAX (saturated, not wrapped)", h.hblkhd);
    CHECK(h.hblks == (int)h2.hblks && h.uordblks == (int)h2.uordblks, "the small fields are exact");
    for (int i = 0; i < 3; i++) free(huge[i]);
    check_fields("end");
}

/* ---------------------------------------------------------------------------------------------
 * mallopt
 * ------------------------------------------------------------------------------------------- */

/* Did malloc(n) get a mapping of its own, per ta_get_stats (and mallinfo2 agrees)? */
static int is_large(size_t n) {
    ta_stats s0, s1;
    get_stats(&s0);
    struct mallinfo2 m0 = mallinfo2();
    void *p = malloc(n);
    CHECK(p != NULL, "malloc(%zu)", n);
    get_stats(&s1);
    struct mallinfo2 m1 = mallinfo2();
    int large = s1.large_allocated > s0.large_allocated;
    CHECK(large == (m1.hblks == m0.hblks + 1), "malloc(%zu): ta stats say %s, mallinfo2 hblks %zu -> %zu", n,
          large ? "large" : "not large", m0.hblks, m1.hblks);
    CHECK(!large || s1.large_allocated - s0.large_allocated >= n, "large block of %zu bytes", n);
    free(p);
    return large;
}

/* Frees 20 mapped blocks of n bytes at once: more than the arena keeps for reuse, which is what
 * makes an unfixed threshold rise past n (the mappings churn). */
static void churn(size_t n) {
    void *p[20];
    for (int i = 0; i < 20; i++) p[i] = malloc(n);
    for (int i = 0; i < 20; i++) free(p[i]);
}

static void test_mallopt(void) {
    /* the default threshold (128 KiB) follows the program: mapped 200 KiB blocks that churn move it */
    CHECK(!is_large(100 * KIB), "100 KiB comes from an arena at the default threshold");
    CHECK(is_large(200 * KIB), "200 KiB is mapped at the default threshold");
    churn(200 * KIB);
    CHECK(!is_large(200 * KIB), "after churn, the unfixed threshold rose past 200 KiB");

    CHECK(mallopt(M_MMAP_THRESHOLD, 64 * KIB) == 1, "mallopt(M_MMAP_THRESHOLD, 64 KiB)");
    CHECK(is_large(100 * KIB), "100 KiB is mapped at a 64 KiB threshold");
    CHECK(is_large(200 * KIB), "200 KiB is mapped again: the threshold went down to 64 KiB");
    CHECK(!is_large(32 * KIB), "32 KiB comes from an arena at a 64 KiB threshold");
    churn(100 * KIB);
    CHECK(is_large(100 * KIB), "the fixed threshold does not follow churn");

    /* refused values: 0 and nothing changes */
    const int bad[] = {-1, INT_MIN, 0, 1024, 4095, (int)(MIB + 1), (int)(2 * MIB), INT_MAX};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(mallopt(M_MMAP_THRESHOLD, bad[i]) == 0, "mallopt(M_MMAP_THRESHOLD, %d) must fail", bad[i]);
    CHECK(is_large(100 * KIB) && is_large(64 * KIB) && !is_large(64 * KIB - 64) && !is_large(32 * KIB),
          "the threshold is still 64 KiB after the refused values");

    /* the range's ends are accepted */
    CHECK(mallopt(M_MMAP_THRESHOLD, (int)MIB) == 1, "mallopt(M_MMAP_THRESHOLD, 1 MiB)");
    CHECK(!is_large(900 * KIB) && is_large(MIB), "1 MiB threshold");
    CHECK(mallopt(M_MMAP_THRESHOLD, 4096) == 1, "mallopt(M_MMAP_THRESHOLD, 4096)");
    CHECK(is_large(8 * KIB) && !is_large(2 * KIB), "4 KiB threshold");
    CHECK(mallopt(M_MMAP_THRESHOLD, 64 * KIB) == 1, "back to 64 KiB");

    /* what tamalloc does not apply: 0 */
    CHECK(mallopt(12345, 1) == 0, "an unknown parameter");
    CHECK(mallopt(-100, 1) == 0, "an unknown negative parameter");
    CHECK(mallopt(M_MXFAST, 64) == 0, "M_MXFAST");
    CHECK(mallopt(M_TOP_PAD, 4096) == 0, "M_TOP_PAD");
    CHECK(mallopt(M_MMAP_MAX, 0) == 0, "M_MMAP_MAX");
    CHECK(mallopt(M_PERTURB, 0xa5) == 0, "M_PERTURB");
    CHECK(mallopt(M_ARENA_TEST, 2) == 0, "M_ARENA_TEST");
    CHECK(is_large(64 * KIB) && !is_large(32 * KIB), "the threshold is still 64 KiB");
    /* accepted as glibc accepts it, no effect (tamalloc(3)) */
    CHECK(mallopt(M_TRIM_THRESHOLD, -1) == 1 && mallopt(M_TRIM_THRESHOLD, 128 * 1024) == 1, "M_TRIM_THRESHOLD");
    /* misuse always aborts with a message: accepted only when asked for that */
    CHECK(mallopt(M_CHECK_ACTION, 3) == 1 && mallopt(M_CHECK_ACTION, 2) == 1 && mallopt(M_CHECK_ACTION, 7) == 1,
          "M_CHECK_ACTION 2, 3, 7 (abort)");
    CHECK(mallopt(M_CHECK_ACTION, 0) == 0 && mallopt(M_CHECK_ACTION, 1) == 0 && mallopt(M_CHECK_ACTION, 5) == 0 &&
              mallopt(M_CHECK_ACTION, -1) == 0 && mallopt(M_CHECK_ACTION, 8) == 0,
          "M_CHECK_ACTION 0, 1, 5 (continue after misuse), -1, 8");
}

/* ---------------------------------------------------------------------------------------------
 * mallopt(M_ARENA_MAX): threads started afterwards share the first arenas
 * ------------------------------------------------------------------------------------------- */

#define HOLDERS 3
static pthread_barrier_t hold_start, hold_end;

static void *holder(void *arg) {
    (void)arg;
    sink = malloc(48);   /* the first allocation assigns the thread its arena */
    free(sink);
    pthread_barrier_wait(&hold_start);
    pthread_barrier_wait(&hold_end);   /* alive while the main thread counts */
    return NULL;
}

/* Starts HOLDERS threads, and with all of them alive writes each arena's live-thread count minus
 * the count before into delta[] (arenas beyond 256 are not looked at). Returns the arena count. */
static unsigned threads_per_arena(long delta[256]) {
    ta_arena_stats as;
    unsigned n = 0;
    for (unsigned i = 0; i < 256 && get_arena_stats(i, &as); i++, n++) delta[i] = -(long)as.threads;
    pthread_barrier_init(&hold_start, NULL, HOLDERS + 1);
    pthread_barrier_init(&hold_end, NULL, HOLDERS + 1);
    pthread_t t[HOLDERS];
    for (int i = 0; i < HOLDERS; i++) CHECK(pthread_create(&t[i], NULL, holder, NULL) == 0, "pthread_create");
    pthread_barrier_wait(&hold_start);
    for (unsigned i = 0; i < n; i++) {
        get_arena_stats(i, &as);
        delta[i] += (long)as.threads;
    }
    pthread_barrier_wait(&hold_end);
    for (int i = 0; i < HOLDERS; i++) pthread_join(t[i], NULL);
    pthread_barrier_destroy(&hold_start);
    pthread_barrier_destroy(&hold_end);
    return n;
}

static unsigned arenas_gaining(const long *delta, unsigned n) {
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++) k += delta[i] > 0;
    return k;
}

static void test_arena_max(void) {
    long delta[256];
    CHECK(mallopt(M_ARENA_MAX, 0) == 0 && mallopt(M_ARENA_MAX, -1) == 0 && mallopt(M_ARENA_MAX, INT_MIN) == 0,
          "M_ARENA_MAX below 1 fails");
    unsigned n = threads_per_arena(delta);
    CHECK(n >= HOLDERS + 1, "the test needs %d arenas, the table has %u", HOLDERS + 1, n);
    CHECK(arenas_gaining(delta, n) == HOLDERS, "without a limit each new thread takes an arena of its own: %u arenas gained threads",
          arenas_gaining(delta, n));

    CHECK(mallopt(M_ARENA_MAX, 1) == 1, "mallopt(M_ARENA_MAX, 1)");
    threads_per_arena(delta);
    CHECK(delta[0] == HOLDERS && arenas_gaining(delta, n) == 1, "M_ARENA_MAX 1: arena 0 gained %ld of %d threads, %u arenas gained",
          delta[0], HOLDERS, arenas_gaining(delta, n));

    CHECK(mallopt(M_ARENA_MAX, 2) == 1, "mallopt(M_ARENA_MAX, 2)");
    threads_per_arena(delta);
    CHECK(delta[0] + delta[1] == HOLDERS && arenas_gaining(delta, n) <= 2, "M_ARENA_MAX 2: arenas 0 and 1 gained %ld and %ld",
          delta[0], delta[1]);

    CHECK(mallopt(M_ARENA_MAX, INT_MAX) == 1, "a limit above the arena count means all of them");
    threads_per_arena(delta);
    CHECK(arenas_gaining(delta, n) == HOLDERS, "M_ARENA_MAX INT_MAX: %u arenas gained threads", arenas_gaining(delta, n));
}

/* ---------------------------------------------------------------------------------------------
 * malloc_stats, malloc_info: a heap with several arenas, cached, free, live and mapped blocks
 * ------------------------------------------------------------------------------------------- */

#define WORKERS 3
static void *kept[WORKERS][200];
static pthread_barrier_t work_done;

static void *worker(void *arg) {
    void **mine = arg;
    for (int i = 0; i < 200; i++) mine[i] = malloc((size_t)(16 + 53 * i));
    for (int i = 0; i < 200; i += 3) { free(mine[i]); mine[i] = NULL; }   /* cached and free blocks */
    pthread_barrier_wait(&work_done);   /* all alive at once: each its own arena */
    return NULL;
}

static void build_heap(void) {
    pthread_barrier_init(&work_done, NULL, WORKERS);
    pthread_t t[WORKERS];
    for (int i = 0; i < WORKERS; i++) CHECK(pthread_create(&t[i], NULL, worker, kept[i]) == 0, "pthread_create");
    for (int i = 0; i < WORKERS; i++) pthread_join(t[i], NULL);
    sink = malloc(300 * KIB);   /* a live mapped block */
}

static int mode_info(const char *path) {
    build_heap();
    static char buf[1 << 17];   /* the stream's buffer: writing needs no allocation */
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL, "fopen %s", path);
    CHECK(setvbuf(fp, buf, _IOFBF, sizeof buf) == 0, "setvbuf");
    struct mallinfo2 before = mallinfo2();
    ta_stats s;
    get_stats(&s);
    CHECK(malloc_info(0, fp) == 0, "malloc_info(0, fp) returns 0");
    struct mallinfo2 after = mallinfo2();
    CHECK(same_info(&before, &after), "the heap did not change while malloc_info wrote");
    long at = ftell(fp);
    errno = 0;
    CHECK(malloc_info(1, fp) == -1 && errno == EINVAL, "malloc_info(1, fp) returns -1 with errno EINVAL");
    CHECK(ftell(fp) == at, "malloc_info(1, fp) writes nothing");
    CHECK(fclose(fp) == 0, "fclose");
    /* into a stream whose buffer grows by realloc while malloc_info writes: no lock is held then */
    char *mem = NULL;
    size_t len = 0;
    FILE *ms = open_memstream(&mem, &len);
    CHECK(ms != NULL && malloc_info(0, ms) == 0 && fclose(ms) == 0, "malloc_info into open_memstream");
    size_t heaps = 0;
    for (const char *h = mem; (h = strstr(h, "<heap nr=")) != NULL; h++) heaps++;
    CHECK(heaps == s.arenas && strstr(mem, "</malloc>\n") != NULL, "memstream: %zu heaps for %zu arenas", heaps, s.arenas);
    free(mem);
    printf("mallinfo2 arena %zu ordblks %zu smblks %zu hblks %zu hblkhd %zu fsmblks %zu uordblks %zu fordblks %zu\n",
           before.arena, before.ordblks, before.smblks, before.hblks, before.hblkhd, before.fsmblks, before.uordblks,
           before.fordblks);
    printf("arenas %zu\n", s.arenas);
    return 0;
}

static int mode_stats(void) {
    build_heap();
    ta_stats s;
    get_stats(&s);
    malloc_stats();
    printf("arenas %zu\n", s.arenas);
    return 0;
}

static int mode_names(void) {
    static const char *const names[] = {"mallinfo", "mallinfo2", "malloc_stats", "malloc_info", "mallopt"};
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
        Dl_info info;
        void *f = dlsym(RTLD_DEFAULT, names[i]);
        printf("%s %s\n", names[i], f && dladdr(f, &info) && info.dli_fname ? info.dli_fname : "(none)");
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "names") == 0) return mode_names();
    get_stats = (void (*)(ta_stats *))dlsym(RTLD_DEFAULT, "ta_get_stats");
    get_arena_stats = (size_t (*)(unsigned, ta_arena_stats *))dlsym(RTLD_DEFAULT, "ta_get_arena_stats");
    if (!get_stats || !get_arena_stats) {
        fprintf(stderr, "tamalloc is not preloaded (no ta_get_stats)\n");
        return 77;
    }
    if (argc == 2 && strcmp(argv[1], "check") == 0) {
        test_mallinfo();
        test_mallopt();
        test_arena_max();
        printf("PASS: %d checks\n", checks);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "stats") == 0) return mode_stats();
    if (argc == 3 && strcmp(argv[1], "info") == 0) return mode_info(argv[2]);
    fprintf(stderr, "usage: %s names|check|stats|info FILE\n", argv[0]);
    return 2;
}
