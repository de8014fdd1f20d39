/* heap_destroy - what dropping a heap costs as it grows: N blocks of 16-64 bytes allocated from a
 * first-class heap, then either freed one by one or dropped with one destroy call, for N from 16 Ki
 * to 4 Mi blocks (argv[1]: the largest N); tamalloc's ta_heap_* against mimalloc's mi_heap_* (libmimalloc.so.2, dlopen'ed
 * when present; argv[2] names one of them, for a process of its own). Best of 3 rounds per cell. One line per cell:
 *   HEAPDESTROY allocator=A blocks=N segments=S free_ms=F destroy_ms=D free_over_destroy=R resident_kept_kib=K
 * (K: resident KiB after the last destroy over the start's, the block array touched: what the
 * destroys left resident, this allocator's and the earlier cells'; segments: the tamalloc heap's segments before the destroy, from ta_get_arena_stats; - for
 * mimalloc). The blocks are written once each, so both allocators have touched every page. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tamalloc.h"

typedef struct heap_api {
    const char *name;
    void *(*heap_new)(void);
    void *(*heap_malloc)(void *h, size_t n);
    void (*block_free)(void *p);
    void (*heap_destroy)(void *h);
} heap_api;

static void *ta_new(void) { return ta_heap_new(); }
static void *ta_hmalloc(void *h, size_t n) { return ta_heap_malloc(h, n); }
static void ta_hdestroy(void *h) { ta_heap_destroy(h); }

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Resident bytes of the process (/proc/self/statm). */
static long resident_kib(void) {
    long pages = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) return -1;
    if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = -1;
    fclose(f);
    return res < 0 ? -1 : res * 4;
}

static long baseline_kib;   /* resident at the start, ptrs[] touched */

static uint64_t rng = 88172645463325252ull;
static size_t next_size(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return 16 + (size_t)(rng % 49);
}

/* Fills a heap with n blocks (kept in ptrs); returns the heap. */
static void *fill(const heap_api *api, void **ptrs, size_t n) {
    void *h = api->heap_new();
    if (h == NULL) { fprintf(stderr, "heap_destroy: %s: no heap\n", api->name); exit(1); }
    for (size_t i = 0; i < n; i++) {
        size_t sz = next_size();
        ptrs[i] = api->heap_malloc(h, sz);
        if (ptrs[i] == NULL) { fprintf(stderr, "heap_destroy: %s: out of memory\n", api->name); exit(1); }
        memset(ptrs[i], (int)i, sz);
    }
    return h;
}

static void cell(const heap_api *api, void **ptrs, size_t n) {
    double best_free = 1e30, best_destroy = 1e30;
    long segments = -1, kept_kib = 0;
    for (int round = 0; round < 3; round++) {
        void *h = fill(api, ptrs, n);
        double t0 = now_ms();
        for (size_t i = 0; i < n; i++) api->block_free(ptrs[i]);
        double t = now_ms() - t0;
        if (t < best_free) best_free = t;
        api->heap_destroy(h);   /* empty now */

        h = fill(api, ptrs, n);
        if (api->heap_new == ta_new) {   /* the one live heap's segments */
            ta_arena_stats as;
            segments = 0;
            for (unsigned i = 0; i < ta_get_arena_stats(i, &as); i++)
                if (as.user) segments += (long)as.segments;
        }
        t0 = now_ms();
        api->heap_destroy(h);
        t = now_ms() - t0;
        if (t < best_destroy) best_destroy = t;
        kept_kib = resident_kib() - baseline_kib;
    }
    char seg[32] = "-";
    if (segments >= 0) snprintf(seg, sizeof seg, "%ld", segments);
    printf("HEAPDESTROY allocator=%s blocks=%zu segments=%s free_ms=%.3f destroy_ms=%.3f free_over_destroy=%.1f "
           "resident_kept_kib=%ld\n",
           api->name, n, seg, best_free, best_destroy, best_destroy > 0 ? best_free / best_destroy : 0.0, kept_kib);
    fflush(stdout);
}

int main(int argc, char **argv) {
    size_t max = argc > 1 ? strtoull(argv[1], NULL, 0) : (size_t)4 << 20;
    const char *only = argc > 2 ? argv[2] : NULL;   /* one allocator per process: resident is its own */
    heap_api apis[2] = {{"tamalloc", ta_new, ta_hmalloc, ta_free, ta_hdestroy}};
    int napis = 1;
    void *mi = dlopen("libmimalloc.so.2", RTLD_NOW | RTLD_LOCAL);
    if (mi) {
        apis[1].name = "mimalloc";
        *(void **)&apis[1].heap_new = dlsym(mi, "mi_heap_new");
        *(void **)&apis[1].heap_malloc = dlsym(mi, "mi_heap_malloc");
        *(void **)&apis[1].block_free = dlsym(mi, "mi_free");
        *(void **)&apis[1].heap_destroy = dlsym(mi, "mi_heap_destroy");
        if (apis[1].heap_new && apis[1].heap_malloc && apis[1].block_free && apis[1].heap_destroy) napis = 2;
    }
    void **ptrs = malloc(max * sizeof *ptrs);
    if (ptrs == NULL) return 1;
    for (size_t i = 0; i < max; i++) ptrs[i] = ptrs;   /* touched (a zero memset would become calloc) */
    baseline_kib = resident_kib();
    for (size_t n = 16384; n <= max; n *= 4)
        for (int a = 0; a < napis; a++)
            if (only == NULL || strcmp(only, apis[a].name) == 0) cell(&apis[a], ptrs, n);
    free(ptrs);
    return 0;
}
