/* heapmap_api_test.c - ta_heap_map's contract as the ta_* API sees it:
 *   - it writes one JSON object (starting {"tamalloc_heap_map":1, ending ]}\n, braces and
 *     brackets balanced) after whatever the caller had already buffered in the stream;
 *   - a heap with only the tail free block reports external fragmentation 0.000000, and a heap
 *     with holes beside it a value strictly between 0 and 1;
 *   - a stream without a file descriptor (fmemopen), NULL, or a descriptor that cannot be written
 *     gives -1;
 *   - large (direct-mmap) blocks are not listed as arena blocks but counted in "stats";
 *   - blocks in a thread cache are listed with state 2 and counted in the arena's cached_blocks.
 * Built twice (tools/BUILD): with the C library's malloc, and with the tamalloc drop-in as the
 * program's malloc, where any allocation ta_heap_map made while it holds an arena lock would be
 * reported as a re-entry fault and abort the test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tamalloc.h"

/* Reads the whole stream back (it was opened w+). Returns a static buffer. */
static const char *read_back(FILE *f) {
    static char buf[1 << 20];
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    return buf;
}

static void assert_balanced(const char *s) {
    long depth = 0;
    for (; *s; s++) {
        if (*s == '{' || *s == '[') depth++;
        if (*s == '}' || *s == ']') depth--;
        assert_true(depth >= 0);
    }
    assert_int_equal(depth, 0);
}

/* The value after "key": in the arena object with index `arena` of s, as a string (static). */
static const char *field(const char *s, unsigned arena, const char *key) {
    static char out[64];
    char pat[64];
    snprintf(pat, sizeof pat, "{\"index\":%u,", arena);
    const char *at = strstr(s, pat);
    assert_non_null(at);
    snprintf(pat, sizeof pat, "\"%s\":", key);
    at = strstr(at, pat);
    assert_non_null(at);
    at += strlen(pat);
    size_t n = strcspn(at, ",}");
    assert_true(n < sizeof out);
    memcpy(out, at, n);
    out[n] = 0;
    return out;
}

typedef struct find_ctx { const void *hdr; int arena; } find_ctx;
static int find_arena(const ta_block_info *b, void *ctx) {
    find_ctx *c = ctx;
    if (b->addr == c->hdr) c->arena = (int)b->arena;
    return 0;
}

static void test_writes_one_object_after_buffered_output(void **state) {
    void *p = ta_malloc(100);
    FILE *f = tmpfile();
    assert_non_null(f);
    fputs("prefix:", f);   /* still in the stream's buffer: ta_heap_map must flush it first */
    assert_int_equal(ta_heap_map(f), 0);
    const char *s = read_back(f);
    const char *head = "prefix:{\"tamalloc_heap_map\":1,";
    assert_true(strncmp(s, head, strlen(head)) == 0);
    size_t len = strlen(s);
    assert_true(len > 4 && strcmp(s + len - 3, "]}\n") == 0);
    assert_balanced(s + 7);
    assert_non_null(strstr(s, "\"pending\":"));
    assert_non_null(strstr(s, "\"rover\":{\"segment\":0,\"offset\":"));
    fclose(f);
    ta_free(p);
}

/* Runs in a new thread, which gets an arena no other thread uses: its heap is exactly what this
 * function builds. The blocks are past the thread cache's sizes (4 KiB), so each free goes to the
 * arena's free list at once. */
static void *fragment_fresh_arena(void *arg) {
    FILE **files = arg;
    void *a[64];
    for (int i = 0; i < 64; i++) a[i] = ta_malloc(5000);
    assert_int_equal(ta_heap_map(files[0]), 0);   /* live blocks and the tail: one free block */
    for (int i = 0; i < 64; i += 2) ta_free(a[i]);   /* 32 holes between live blocks */
    assert_int_equal(ta_heap_map(files[1]), 0);
    find_ctx c = {(const char *)a[1] - 16, -1};
    ta_heap_walk(find_arena, &c);
    for (int i = 1; i < 64; i += 2) ta_free(a[i]);
    return (void *)(intptr_t)c.arena;
}

static void test_fragmentation_figures(void **state) {
    FILE *files[2] = {tmpfile(), tmpfile()};
    assert_true(files[0] && files[1]);
    pthread_t t;
    void *ret;
    assert_int_equal(pthread_create(&t, NULL, fragment_fresh_arena, files), 0);
    assert_int_equal(pthread_join(t, &ret), 0);
    int arena = (int)(intptr_t)ret;
    void *mine = ta_malloc(16);
    find_ctx c = {(const char *)mine - 16, -1};
    ta_heap_walk(find_arena, &c);
    ta_free(mine);
    assert_true(arena >= 0 && arena != c.arena);   /* not the main thread's arena */
    const char *s = read_back(files[0]);
    assert_string_equal(field(s, (unsigned)arena, "free_blocks"), "1");
    assert_string_equal(field(s, (unsigned)arena, "used_blocks"), "64");
    assert_string_equal(field(s, (unsigned)arena, "external_fragmentation"), "0.000000");
    s = read_back(files[1]);
    assert_string_equal(field(s, (unsigned)arena, "free_blocks"), "33");
    assert_string_equal(field(s, (unsigned)arena, "used_blocks"), "32");
    double frag = atof(field(s, (unsigned)arena, "external_fragmentation"));
    assert_true(frag > 0.0 && frag < 1.0);
    fclose(files[0]);
    fclose(files[1]);
}

/* Blocks freed into the thread cache are their own category in the map: state 2 in the block
 * triples, and the arena's cached_blocks equals both their count and ta_get_arena_stats'. */
static void *cache_some(void *arg) {
    FILE *f = arg;
    void *a[12];
    for (int i = 0; i < 12; i++) a[i] = ta_malloc(48);
    for (int i = 0; i < 12; i++) ta_free(a[i]);
    find_ctx c = {(const char *)a[0] - 16, -1};
    ta_heap_walk(find_arena, &c);
    ta_arena_stats as;
    ta_get_arena_stats((unsigned)c.arena, &as);
    assert_int_equal(ta_heap_map(f), 0);
    return (void *)(intptr_t)(c.arena * 1000 + (int)as.cached_blocks);
}

static void test_cached_blocks_shown(void **state) {
    ta_stats st;
    ta_get_stats(&st);
    FILE *f = tmpfile();
    assert_non_null(f);
    pthread_t t;
    void *ret;
    assert_int_equal(pthread_create(&t, NULL, cache_some, f), 0);
    assert_int_equal(pthread_join(t, &ret), 0);
    int arena = (int)(intptr_t)ret / 1000, cached = (int)(intptr_t)ret % 1000;
    const char *s = read_back(f);
    char want[16];
    snprintf(want, sizeof want, "%d", cached);
    assert_string_equal(field(s, (unsigned)arena, "cached_blocks"), want);
    if (getenv("TAMALLOC_CACHE") && strcmp(getenv("TAMALLOC_CACHE"), "0") == 0) {
        assert_int_equal(cached, 0);
    } else {
        assert_true(cached >= 12);   /* the twelve freed ones, and the rest of their refill batch */
        assert_non_null(strstr(s, ",2]"));   /* a block triple with state 2 */
    }
    fclose(f);
}

static void test_streams_it_cannot_write(void **state) {
    char mem[256];
    FILE *m = fmemopen(mem, sizeof mem, "w");
    assert_non_null(m);
    assert_int_equal(ta_heap_map(m), -1);   /* no file descriptor */
    fclose(m);
    assert_int_equal(ta_heap_map(NULL), -1);
    FILE *r = fopen("/dev/null", "r");   /* a read-only descriptor: write(2) fails */
    assert_non_null(r);
    assert_int_equal(ta_heap_map(r), -1);
    fclose(r);
}

static void test_large_blocks_only_in_stats(void **state) {
    void *big = ta_malloc(4u << 20);
    assert_non_null(big);
    FILE *f = tmpfile();
    assert_int_equal(ta_heap_map(f), 0);
    const char *s = read_back(f);
    const char *la = strstr(s, "\"large_allocated\":");
    assert_non_null(la);
    assert_true(strtoull(la + 18, NULL, 10) >= (4u << 20));
    /* No block of the map is 4 MiB or more: segments hold less than that. */
    char pat[32];
    snprintf(pat, sizeof pat, ",%u,0]", (unsigned)ta_usable_size(big) + 16);
    assert_null(strstr(s, pat));
    fclose(f);
    ta_free(big);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writes_one_object_after_buffered_output),
        cmocka_unit_test(test_fragmentation_figures),
        cmocka_unit_test(test_cached_blocks_shown),
        cmocka_unit_test(test_streams_it_cannot_write),
        cmocka_unit_test(test_large_blocks_only_in_stats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
