/* track_demo.c - a tiny program for memcheck, linked with //alloc:tamalloc_valgrind (alloc/track.h
 * client requests compiled in). memcheck_track_test.sh runs it under valgrind:
 *   track_demo misuse  leaks one 100-byte block (allocated in leak_one) and writes one byte past
 *                      the 100 bytes asked for in overflow_one (inside tamalloc's usable size,
 *                      so only memcheck can see it): memcheck must report both against the blocks;
 *   track_demo clean   every allocation function used correctly (calloc'd large blocks read,
 *                      realloc in place and moving, aligned, a free from another thread):
 *                      memcheck must report no error and no leak. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "tamalloc.h"

static volatile unsigned char sink;

__attribute__((noinline)) static void leak_one(void) {
    unsigned char *p = ta_malloc(100);
    memset(p, 1, 100);
    sink = p[50];
}

__attribute__((noinline)) static void overflow_one(void) {
    unsigned char *p = ta_malloc(100);
    memset(p, 2, 100);
    p[100] = 3;   /* one byte past the request; ta_usable_size(p) is 112 */
    ta_free(p);
}

static void *free_elsewhere(void *p) {
    ta_free(p);
    return NULL;
}

static int clean(void) {
    unsigned sum = 0;
    unsigned char *a = ta_malloc(40);
    memset(a, 7, 40);
    unsigned char *z = ta_calloc(1000, 300);   /* large: zero from a fresh mapping, not memset */
    for (size_t i = 0; i < 300000; i += 4096) sum += z[i];
    unsigned char *s = ta_calloc(10, 10);
    for (size_t i = 0; i < 100; i++) sum += s[i];
    a = ta_realloc(a, 24);                      /* shrink in place */
    for (size_t i = 0; i < 24; i++) sum += a[i];
    a = ta_realloc(a, 5000);                    /* grow: in place or moved, contents kept */
    for (size_t i = 0; i < 24; i++) sum += a[i];
    memset(a + 24, 1, 5000 - 24);
    a = ta_realloc(a, 200000);                  /* to a large block */
    for (size_t i = 0; i < 5000; i++) sum += a[i];
    void *al = ta_aligned_alloc(4096, 3000);
    memset(al, 9, 3000);
    void *pm = NULL;
    if (ta_posix_memalign(&pm, 64, 70) != 0) return 1;
    memset(pm, 1, 70);
    unsigned char *r = ta_malloc(64);
    memset(r, 5, 64);
    pthread_t t;
    pthread_create(&t, NULL, free_elsewhere, r);   /* a remote free */
    pthread_join(t, NULL);
    ta_free(al);
    ta_free(pm);
    ta_free(s);
    ta_free(z);
    ta_free(a);
    ta_collect();
    printf("clean: sum %u\n", sum);
    return ta_check() != 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "clean") == 0) return clean();
    leak_one();
    overflow_one();
    printf("misuse: done\n");
    return 0;
}
