/* malloc_prog.c - a held-out program that knows nothing of tamalloc: standard C and POSIX only
 * (tests/install builds it with a plain `cc`). Threads pass blocks to each other through a shared
 * table (so frees are often cross-thread) with malloc, calloc, realloc, posix_memalign and free;
 * every block's contents are checked. Prints "malloc_prog: ok <checksum>", where the checksum
 * depends only on the program, so runs with and without tamalloc print the same line. Whether
 * tamalloc served it is for the caller to see (TAMALLOC_STATS=1). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { THREADS = 4, ROUNDS = 5000, SLOTS = 256 };

static struct { pthread_mutex_t lock; unsigned char *p; size_t n; } table[SLOTS];
static unsigned long long sums[THREADS];

static void fail(const char *what) {
    fprintf(stderr, "malloc_prog: %s\n", what);
    exit(1);
}

static unsigned long long drop(unsigned char *p, size_t n, unsigned i) {
    unsigned long long s = 0;
    for (size_t k = 0; k < n; k++) {
        if (p[k] != (unsigned char)(i * 7 + k)) fail("a block's contents changed");
        s += p[k];
    }
    free(p);
    return s;
}

static void *worker(void *arg) {
    unsigned id = (unsigned)(uintptr_t)arg;
    unsigned seed = id * 2654435761u + 17;
    for (int r = 0; r < ROUNDS; r++) {
        seed = seed * 1103515245u + 12345u;
        unsigned i = (seed >> 8) % SLOTS;
        size_t n = 1 + (seed >> 14) % 4000;
        unsigned char *q = NULL;
        switch (seed & 3) {
            case 0: q = malloc(n); break;
            case 1: q = calloc(n, 1); break;
            case 2: if (posix_memalign((void **)&q, 64, n) != 0) q = NULL; break;
            case 3: q = realloc(NULL, n); break;
        }
        if (!q) fail("allocation failed");
        for (size_t k = 0; k < n; k++) q[k] = (unsigned char)(i * 7 + k);
        pthread_mutex_lock(&table[i].lock);
        unsigned char *old = table[i].p;
        size_t oldn = table[i].n;
        table[i].p = q;
        table[i].n = n;
        pthread_mutex_unlock(&table[i].lock);
        if (old) sums[id] += drop(old, oldn, i);
    }
    return NULL;
}

int main(void) {
    for (int i = 0; i < SLOTS; i++) pthread_mutex_init(&table[i].lock, NULL);
    pthread_t t[THREADS];
    for (unsigned i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i) != 0) fail("pthread_create");
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    unsigned long long total = 0;
    for (int i = 0; i < THREADS; i++) total += sums[i];
    for (unsigned i = 0; i < SLOTS; i++)
        if (table[i].p) total += drop(table[i].p, table[i].n, i);
    /* Every block made is dropped exactly once (by the thread that replaces it, or here), and its
     * sum depends only on its slot and size, which each thread's seed fixes: the total does not
     * depend on the interleaving. A block the C library allocates inside (strdup) goes back
     * through free, too. */
    char *s = strdup("done");
    if (!s) fail("strdup");
    printf("malloc_prog: ok %llu\n", total);
    free(s);
    return 0;
}
