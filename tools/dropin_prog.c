/* dropin_prog.c - a program linked with tamalloc's drop-in (malloc = "//alloc:tamalloc_override")
 * for the trace and heap-map tests.
 *
 *   dropin_prog trace    two threads each make a known set of calls with sizes 6900..7999 (sizes
 *                        the C library's own allocations do not use): 500 malloc, 100 calloc,
 *                        100 realloc (of their own blocks, to other sizes in the range), 50
 *                        aligned_alloc(64, ...), then free every block: 650 frees. Run it with
 *                        TAMALLOC_TRACE=FILE; trace_test.sh counts those calls in FILE.
 *   dropin_prog signal MAP
 *                        with TAMALLOC_HEAP_MAP=MAP: raises SIGUSR2 and checks that the handler
 *                        itself wrote nothing (MAP is still absent) and that the next calloc
 *                        wrote MAP; raises it again and checks that malloc/free pairs served by
 *                        the thread cache write MAP within SIGNAL_MAX_PAIRS pairs; then removes
 *                        MAP so the test can see the at-exit map appear again.
 * Exit status 0, or 1 with a message. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PER_THREAD_MALLOC 500
#define PER_THREAD_CALLOC 100
#define PER_THREAD_REALLOC 100
#define PER_THREAD_ALIGNED 50
#define LIVE (PER_THREAD_MALLOC + PER_THREAD_CALLOC + PER_THREAD_ALIGNED)

static size_t size_of(unsigned i, unsigned salt) { return 7001 + ((i * 37u + salt * 101u) % 499u) * 2u; }

static void *worker(void *arg) {
    unsigned salt = (unsigned)(size_t)arg;
    void **p = calloc(LIVE, sizeof *p);   /* not in the size range: not counted */
    if (!p) return (void *)1;
    unsigned n = 0;
    for (unsigned i = 0; i < PER_THREAD_MALLOC; i++) p[n++] = malloc(size_of(i, salt));
    for (unsigned i = 0; i < PER_THREAD_CALLOC; i++) p[n++] = calloc(1, size_of(i + 1000, salt));
    for (unsigned i = 0; i < PER_THREAD_REALLOC; i++) p[i * 3] = realloc(p[i * 3], size_of(i + 2000, salt));
    for (unsigned i = 0; i < PER_THREAD_ALIGNED; i++) p[n++] = aligned_alloc(64, size_of(i + 3000, salt) & ~(size_t)63);
    for (unsigned i = 0; i < n; i++) {
        if (!p[i]) return (void *)1;
        memset(p[i], (int)i, 16);
    }
    for (unsigned i = 0; i < n; i++) free(p[i]);
    free(p);
    return NULL;
}

static int trace_mode(void) {
    pthread_t t[2];
    for (size_t k = 0; k < 2; k++)
        if (pthread_create(&t[k], NULL, worker, (void *)k) != 0) return 1;
    for (int k = 0; k < 2; k++) {
        void *ret;
        if (pthread_join(t[k], &ret) != 0 || ret != NULL) { fprintf(stderr, "dropin_prog: worker failed\n"); return 1; }
    }
    return 0;
}

static int file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (int)st.st_size : -1;
}

static int is_heap_map(const char *map) {
    char buf[64] = {0};
    FILE *f = fopen(map, "r");
    int ok = f && fread(buf, 1, sizeof buf - 1, f) > 0 && strncmp(buf, "{\"tamalloc_heap_map\":1,", 23) == 0;
    if (f) fclose(f);
    if (!ok) fprintf(stderr, "dropin_prog: %s is not a heap map\n", map);
    return ok;
}

/* The most cached frees between a SIGUSR2 and the map: the fast paths of malloc and free do not
 * test the flag, the free countdown's exit does, every TA_CACHE_TICK_FREES (256) cached frees. */
#define SIGNAL_MAX_PAIRS 257

static int signal_mode(const char *map) {
    if (file_size(map) != -1) { fprintf(stderr, "dropin_prog: %s exists before the signal\n", map); return 1; }
    raise(SIGUSR2);   /* the handler only sets a flag */
    if (file_size(map) != -1) { fprintf(stderr, "dropin_prog: the signal handler wrote the map itself\n"); return 1; }
    void *p = calloc(1, 777);   /* any name but malloc and free tests the flag on every call */
    if (file_size(map) <= 0) { fprintf(stderr, "dropin_prog: no heap map after the signal and a calloc\n"); return 1; }
    if (!is_heap_map(map)) return 1;
    free(p);
    unlink(map);

    /* malloc and free served by the thread cache: the map comes at the latest with the countdown. */
    void *warm[16];
    for (int i = 0; i < 16; i++) warm[i] = malloc(32);
    for (int i = 0; i < 16; i++) free(warm[i]);
    raise(SIGUSR2);
    int pairs = 0;
    while (file_size(map) == -1 && pairs < SIGNAL_MAX_PAIRS + 1) {
        volatile char *q = malloc(32);
        q[0] = (char)pairs;
        free((void *)q);
        pairs++;
    }
    if (file_size(map) <= 0) {
        fprintf(stderr, "dropin_prog: no heap map after the signal and %d cached malloc/free pairs\n", pairs);
        return 1;
    }
    if (pairs > SIGNAL_MAX_PAIRS) {
        fprintf(stderr, "dropin_prog: the heap map came after %d pairs (at most %d)\n", pairs, SIGNAL_MAX_PAIRS);
        return 1;
    }
    if (!is_heap_map(map)) return 1;
    printf("heap map written after %d cached malloc/free pairs\n", pairs);
    unlink(map);   /* the at-exit map must appear again */
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "trace")) return trace_mode();
    if (argc == 3 && !strcmp(argv[1], "signal")) return signal_mode(argv[2]);
    fprintf(stderr, "usage: dropin_prog trace | dropin_prog signal MAP\n");
    return 2;
}
