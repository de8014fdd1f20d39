/* api_prog.c - a held-out program for the installed and archived libraries (tests/install): it is
 * not built by Bazel but by the tests with a plain `cc`, as a user would build it.
 *   api_prog override   malloc must be tamalloc's (libtamalloc_override.a, libtamalloc.so)
 *   api_prog system     malloc must stay the C library's (libtamalloc.a: the ta_* API only)
 * It uses the ta_* API (allocation, the aligned calls, realloc growth, stats, ta_check) from several
 * threads, then tells whose malloc served a 1 MiB request: tamalloc's direct-mapped blocks count in
 * ta_stats.large_allocated, the C library's do not. Prints "api_prog: ok (...)" and exits 0, or
 * prints what failed and exits 1. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tamalloc.h>

#define CHECK(c)                                                                  \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "api_prog: %s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            exit(1);                                                              \
        }                                                                         \
    } while (0)

enum { THREADS = 4, ROUNDS = 2000, SLOTS = 64 };

static void *worker(void *arg) {
    unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u + 1;
    unsigned char *slot[SLOTS] = {0};
    size_t len[SLOTS] = {0};
    for (int r = 0; r < ROUNDS; r++) {
        seed = seed * 1103515245u + 12345u;
        unsigned i = (seed >> 8) % SLOTS;
        if (slot[i]) {
            for (size_t k = 0; k < len[i]; k++) CHECK(slot[i][k] == (unsigned char)(i + k));
            if (seed & 1) { ta_free(slot[i]); slot[i] = NULL; continue; }
            size_t n = 1 + (seed >> 12) % 3000;
            unsigned char *q = ta_realloc(slot[i], n);
            CHECK(q != NULL);
            slot[i] = q;
            for (size_t k = len[i] < n ? len[i] : n; k < n; k++) q[k] = (unsigned char)(i + k);
            len[i] = n;
        } else {
            size_t n = 1 + (seed >> 12) % 2000;
            slot[i] = (seed & 2) ? ta_malloc(n) : ta_calloc(1, n);
            CHECK(slot[i] != NULL);
            CHECK(ta_usable_size(slot[i]) >= n);
            for (size_t k = 0; k < n; k++) slot[i][k] = (unsigned char)(i + k);
            len[i] = n;
        }
    }
    for (int i = 0; i < SLOTS; i++) ta_free(slot[i]);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2 || (strcmp(argv[1], "override") != 0 && strcmp(argv[1], "system") != 0)) {
        fprintf(stderr, "usage: api_prog override|system\n");
        return 2;
    }
    int expect_tamalloc = strcmp(argv[1], "override") == 0;

    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) CHECK(pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1)) == 0);
    for (int i = 0; i < THREADS; i++) CHECK(pthread_join(t[i], NULL) == 0);

    void *a = NULL;
    CHECK(ta_posix_memalign(&a, 256, 1000) == 0 && ((uintptr_t)a & 255) == 0);
    void *b = ta_aligned_alloc(4096, 8192);
    CHECK(b != NULL && ((uintptr_t)b & 4095) == 0);
    ta_free(a);
    ta_free(b);
    CHECK(ta_check() == 0);

    ta_stats before, after;
    ta_get_stats(&before);
    void *big = malloc(1 << 20);
    CHECK(big != NULL);
    memset(big, 1, 1 << 20);
    ta_get_stats(&after);
    int served = after.large_allocated >= before.large_allocated + (1 << 20);
    free(big);
    if (served != expect_tamalloc) {
        fprintf(stderr, "api_prog: malloc(1 MiB) was served by %s, expected %s\n",
                served ? "tamalloc" : "the C library", expect_tamalloc ? "tamalloc" : "the C library");
        return 1;
    }
    printf("api_prog: ok (ta_* API from %d threads; malloc is %s)\n", THREADS,
           served ? "tamalloc's" : "the C library's");
    return 0;
}
