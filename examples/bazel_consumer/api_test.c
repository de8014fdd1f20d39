/* api_test.c - a test in another workspace that uses tamalloc's API through
 * deps = ["@tamalloc//alloc:tamalloc"]: allocation, alignment, realloc, usable sizes, statistics
 * and the heap check. Exits 0 when every check holds. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tamalloc.h"

static int failures;
#define CHECK(c)                                                                          \
    do {                                                                                  \
        if (!(c)) {                                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);         \
            failures++;                                                                   \
        }                                                                                 \
    } while (0)

static void *worker(void *arg) {
    (void)arg;
    for (int i = 0; i < 10000; i++) {
        size_t n = 1 + (size_t)(i * 37) % 5000;
        char *p = ta_malloc(n);
        if (!p) return (void *)1;
        memset(p, i & 0xff, n);
        p = ta_realloc(p, n * 2);
        if (!p || (unsigned char)p[n - 1] != (unsigned char)(i & 0xff)) return (void *)1;
        ta_free(p);
    }
    return NULL;
}

int main(void) {
    char *p = ta_malloc(100);
    CHECK(p != NULL && ((uintptr_t)p & 15) == 0);
    CHECK(ta_usable_size(p) >= 100);
    strcpy(p, "hello from another workspace");
    p = ta_realloc(p, 5000);
    CHECK(p != NULL && strcmp(p, "hello from another workspace") == 0);

    void *a = NULL;
    CHECK(ta_posix_memalign(&a, 4096, 100) == 0 && ((uintptr_t)a & 4095) == 0);
    int *z = ta_calloc(1000, sizeof *z);
    CHECK(z != NULL && z[0] == 0 && z[999] == 0);

    ta_stats s;
    ta_get_stats(&s);
    CHECK(s.arenas >= 1 && s.mapped > 0);

    pthread_t t[4];
    for (int i = 0; i < 4; i++) CHECK(pthread_create(&t[i], NULL, worker, NULL) == 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        CHECK(r == NULL);
    }
    ta_free(p);
    ta_free(a);
    ta_free(z);
    ta_collect();
    CHECK(ta_check() == 0);
    if (failures) return 1;
    printf("api_test: ok (%zu arenas, %zu bytes mapped)\n", s.arenas, s.mapped);
    return 0;
}
