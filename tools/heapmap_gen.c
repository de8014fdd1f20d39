/* heapmap_gen.c - builds a known fragmented heap through the ta_* API and writes
 *   MAP.json     ta_heap_map's output, and
 *   EXPECT.json  the same heap as ta_heap_walk, ta_get_stats and ta_get_arena_stats report it,
 * for tools/heapmap_check.py to compare (tools/heapmap_test.sh). Run with TAMALLOC_ARENAS=2.
 *
 * The heap: N = 2000 blocks of 32..528 bytes allocated in a fresh arena (so they lie in order from
 * the start of its first segment), then every odd-indexed block freed (holes that cannot coalesce:
 * both neighbours stay live; the last one merges into the tail remainder), then the even blocks
 * 100..118 freed (joining the eleven holes 99..119 into one), then a second thread frees the 50
 * even blocks 1000..1098: those are remote frees, queued on this thread's arena and still pending
 * when the map is written (this thread makes no allocator call in between). Known answers, asserted
 * here and by the checker: that arena has 999 - 11 + 1 + 1 = 990 free blocks and 50 pending frees.
 * Usage: heapmap_gen MAP.json EXPECT.json. Exit status 0, or 1 with a message.
 *
 * heapmap_gen --frag MIB MAP.json writes instead the heap of the fragmentation workload's worst
 * moment (bench/frag.c's phases 1-3, one thread, deterministic): blocks of 16..1024 bytes up to MIB
 * MiB live, every other one freed, then 1..4 KiB blocks until the live bytes are back at MIB MiB
 * (the picture in docs/heapmap_frag.png). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tamalloc.h"

#define N 2000
#define REMOTE_FIRST 1000
#define REMOTE_COUNT 50
#define EXPECT_FREE_BLOCKS 990

static void *blocks[N];

static void *remote_free(void *arg) {
    (void)arg;
    for (int i = 0; i < REMOTE_COUNT; i++) ta_free(blocks[REMOTE_FIRST + 2 * i]);
    return NULL;
}

typedef struct walk_out {
    FILE *f;
    int first;
    unsigned arena;       /* arena of the previous block (UINT_MAX before the first) */
    const void *probe;    /* header of blocks[0] */
    int main_arena;       /* the arena holding it: this thread's */
    size_t free_blocks[256];   /* per arena */
} walk_out;

static int walk_block(const ta_block_info *b, void *ctx) {
    walk_out *w = ctx;
    /* The callback must not allocate: fprintf to a FILE whose buffer exists already uses glibc's
     * malloc at most, never tamalloc (this program keeps the C library's malloc). */
    if (b->arena != w->arena) {
        fprintf(w->f, "%s{\"arena\":%u,\"blocks\":[", w->arena == ~0u ? "" : "]},", b->arena);
        w->arena = b->arena;
        w->first = 1;
    }
    fprintf(w->f, "%s[%zu,%zu,%d,%d]", w->first ? "" : ",", (size_t)(uintptr_t)b->addr, b->size,
            b->is_free ? 1 : b->is_cached ? 2 : 0, b->is_rover);
    w->first = 0;
    if (b->addr == w->probe) w->main_arena = (int)b->arena;
    if (b->is_free && b->arena < 256) w->free_blocks[b->arena]++;
    return 0;
}

static int fail(const char *msg) {
    fprintf(stderr, "heapmap_gen: %s\n", msg);
    return 1;
}

static uint64_t frag_rng = 0x9e3779b97f4a7c15ULL;
static size_t frag_range(size_t lo, size_t hi) {
    frag_rng += 0x9e3779b97f4a7c15ULL;   /* splitmix64 */
    uint64_t z = frag_rng;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return lo + (size_t)(z % (hi - lo + 1));
}

static int frag_mode(size_t mib, const char *path) {
    size_t target = mib << 20, live = 0, n = 0, cap = target / 16 + 16;
    void **p = calloc(cap, sizeof *p);
    size_t *sz = calloc(cap, sizeof *sz);
    if (!p || !sz) return fail("out of memory");
    while (live < target && n < cap) { sz[n] = frag_range(16, 1024); p[n] = ta_malloc(sz[n]); live += sz[n++]; }
    size_t first = n;
    for (size_t i = 0; i < first; i += 2) { ta_free(p[i]); p[i] = NULL; live -= sz[i]; }
    while (live < target && n < cap) { sz[n] = frag_range(1024, 4096); p[n] = ta_malloc(sz[n]); live += sz[n++]; }
    FILE *map = fopen(path, "w");
    if (!map || ta_heap_map(map) != 0 || fclose(map) != 0) return fail("writing the map failed");
    for (size_t i = 0; i < n; i++) ta_free(p[i]);
    free(p);
    free(sz);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "--frag")) return frag_mode((size_t)atoi(argv[2]), argv[3]);
    if (argc != 3) return fail("usage: heapmap_gen MAP.json EXPECT.json | heapmap_gen --frag MIB MAP.json");
    for (int i = 0; i < N; i++) {
        blocks[i] = ta_malloc((size_t)(16 + (i * 37) % 500));
        if (!blocks[i]) return fail("ta_malloc failed");
    }
    for (int i = 1; i < N; i += 2) ta_free(blocks[i]);
    for (int i = 100; i <= 118; i += 2) ta_free(blocks[i]);
    pthread_t t;
    if (pthread_create(&t, NULL, remote_free, NULL) != 0 || pthread_join(t, NULL) != 0) return fail("thread");

    FILE *map = fopen(argv[1], "w");
    FILE *exp = fopen(argv[2], "w");
    if (!map || !exp) return fail("cannot open the output files");
    if (ta_heap_map(map) != 0) return fail("ta_heap_map failed");

    fputs("{\"walk\":[", exp);
    static walk_out w;
    w.f = exp;
    w.first = 1;
    w.arena = ~0u;
    w.probe = (const char *)blocks[0] - 16;
    w.main_arena = -1;
    if (ta_heap_walk(walk_block, &w) != 0) return fail("ta_heap_walk failed");
    fputs(w.arena == ~0u ? "]" : "]}]", exp);
    ta_stats s;
    ta_get_stats(&s);
    fprintf(exp, ",\"stats\":{\"allocated\":%zu,\"free\":%zu,\"free_blocks\":%zu,\"mapped\":%zu,"
                 "\"large_allocated\":%zu,\"arenas\":%zu},\"arena_stats\":[",
            s.allocated, s.free, s.free_blocks, s.mapped, s.large_allocated, s.arenas);
    ta_arena_stats a;
    int first = 1;
    for (unsigned i = 0; ta_get_arena_stats(i, &a); i++) {
        if (!a.in_use) continue;
        fprintf(exp, "%s{\"index\":%u,\"threads\":%zu,\"allocated\":%zu,\"free\":%zu,\"free_blocks\":%zu,\"pending\":%zu,"
                     "\"cached_blocks\":%zu}",
                first ? "" : ",", a.index, a.threads, a.allocated, a.free, a.free_blocks, a.remote_pending, a.cached_blocks);
        first = 0;
    }
    fprintf(exp, "],\"main_arena\":%d,\"expect_free_blocks\":%d,\"expect_pending\":%d}\n", w.main_arena,
            EXPECT_FREE_BLOCKS, REMOTE_COUNT);
    if (fclose(map) != 0 || fclose(exp) != 0) return fail("writing the outputs failed");

    if (w.main_arena < 0) return fail("the walk did not visit blocks[0]");
    ta_get_arena_stats((unsigned)w.main_arena, &a);
    if (w.free_blocks[w.main_arena] != EXPECT_FREE_BLOCKS) {
        fprintf(stderr, "heapmap_gen: arena %d has %zu free blocks, expected %d\n", w.main_arena,
                w.free_blocks[w.main_arena], EXPECT_FREE_BLOCKS);
        return 1;
    }
    if (a.remote_pending != REMOTE_COUNT) {
        fprintf(stderr, "heapmap_gen: arena %d has %zu pending remote frees, expected %d\n", w.main_arena,
                a.remote_pending, REMOTE_COUNT);
        return 1;
    }
    if (ta_check() != 0) return fail(ta_check_name(ta_check()));
    return 0;
}
