/* demo.c - the README's first look: exercises tamalloc and prints its heap.
 * Single thread: allocate, free every other block (coalescing shows as merged free runs), then
 * allocate again (next-fit: the rover moves). Then four threads free each other's blocks through
 * the remote queues, and the stats table shows pushes, drains and lock contention per arena. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "tamalloc.h"

typedef struct shape { unsigned arena; int printed; } shape;

static int print_block(const ta_block_info *b, void *ctx) {
    shape *s = ctx;
    if (b->arena != s->arena) return 0;
    if (s->printed++ >= 24) return 0;
    printf(" %s%zu%s", b->is_free ? "F" : "A", b->size, b->is_rover ? "*" : "");
    return 0;
}

static void show(const char *title, unsigned arena) {
    shape s = {arena, 0};
    printf("%-34s", title);
    ta_heap_walk(print_block, &s);
    printf("%s   (A=allocated F=free, size in bytes with header, *=rover)\n", s.printed > 24 ? " ..." : "");
}

typedef struct finder { const void *block; unsigned arena; } finder;

static int find_block(const ta_block_info *b, void *ctx) {
    finder *f = ctx;
    if (b->addr != f->block) return 0;
    f->arena = b->arena;
    return 1;
}

/* The arena that holds user pointer p: found by walking the heap for its header (16 bytes before). */
static unsigned arena_of(void *p) {
    finder f = {(char *)p - 16, 0};
    ta_heap_walk(find_block, &f);
    return f.arena;
}

#define NT 4
#define PER 20000
static void *handoff[NT][PER];

static void *worker(void *arg) {
    long id = (long)arg;
    for (int i = 0; i < PER; i++) {
        handoff[id][i] = ta_malloc(16 + (size_t)(i * 37 % 900));
        memset(handoff[id][i], (int)id, 16);
    }
    return NULL;
}

static void *freer(void *arg) {
    long id = (long)arg;
    for (int i = 0; i < PER; i++) ta_free(handoff[(id + 1) % NT][i]);   /* every free is remote */
    return NULL;
}

int main(void) {
    void *p[12];
    for (int i = 0; i < 12; i++) p[i] = ta_malloc(32 + 16 * (size_t)i);
    unsigned arena = arena_of(p[0]);
    show("after 12 allocations:", arena);
    for (int i = 0; i < 12; i += 2) ta_free(p[i]);
    show("after freeing every other one:", arena);
    ta_free(p[3]);
    show("after freeing p[3] (coalesces):", arena);
    void *q = ta_malloc(40);
    show("after malloc(40) (next-fit):", arena);
    void *r = ta_malloc(40);
    show("after another malloc(40):", arena);
    printf("ta_check() = %d\n\n", ta_check());

    pthread_t t[NT];
    for (long i = 0; i < NT; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
    for (long i = 0; i < NT; i++) pthread_create(&t[i], NULL, freer, (void *)i);
    for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
    ta_collect();
    printf("%d threads allocated %d blocks each; each block was freed by another thread:\n", NT, PER);
    ta_stats_print(stdout);
    for (int i = 1; i < 12; i += 2) if (i != 3) ta_free(p[i]);
    ta_free(q);
    ta_free(r);
    printf("ta_check() = %d\n", ta_check());
    return 0;
}
