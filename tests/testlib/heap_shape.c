/* heap_shape.c - see heap_shape.h. Every walk callback only reads the block info and writes into
 * the caller's buffers: it never calls the allocator (the arena lock is held during the walk). */
#include "tests/testlib/heap_shape.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tamalloc.h"

/* ---------------------------------------------------------------------------------------------
 * Locating a block.
 * ------------------------------------------------------------------------------------------- */

static int find_visit(const ta_block_info *b, void *ctx) {
    return b->addr == ctx ? (int)b->arena + 1 : 0;
}

int heap_shape_arena_of(const void *p) {
    if (p == NULL) return -1;
    int rc = ta_heap_walk(find_visit, (void *)((const char *)p - HEAP_SHAPE_HDR));
    return rc > 0 ? rc - 1 : -1;
}

static int state_visit(const ta_block_info *b, void *ctx) {
    return b->addr == ctx ? (b->is_free ? 'F' : b->is_cached ? 'C' : 'A') : 0;
}

int heap_shape_state_of(const void *p) {
    if (p == NULL) return 0;
    return ta_heap_walk(state_visit, (void *)((const char *)p - HEAP_SHAPE_HDR));
}

int heap_shape_my_arena(void) {
    static _Thread_local int mine = -1;
    if (mine < 0) {
        void *probe = ta_malloc(1);
        if (probe == NULL) return -1;
        mine = heap_shape_arena_of(probe);
        ta_free(probe);
    }
    return mine;
}

typedef struct segment_ctx {
    const char *target;
    unsigned arena;
    const char *run_end;   /* where the previous block ended */
    size_t run_bytes;
    int found;
    size_t result;
} segment_ctx;

static int segment_visit(const ta_block_info *b, void *ctx) {
    segment_ctx *c = ctx;
    if (b->arena != c->arena) return b->arena > c->arena;
    const char *at = b->addr;
    if (at != c->run_end) {   /* a new segment starts */
        if (c->found) return 1;
        c->run_bytes = 0;
    }
    c->run_bytes += b->size;
    c->run_end = at + b->size;
    if (at == c->target) c->found = 1;
    if (c->found) c->result = c->run_bytes;
    return 0;
}

size_t heap_shape_segment_bytes(const void *p) {
    int arena = heap_shape_arena_of(p);
    if (arena < 0) return 0;
    segment_ctx c = {(const char *)p - HEAP_SHAPE_HDR, (unsigned)arena, NULL, 0, 0, 0};
    ta_heap_walk(segment_visit, &c);
    return c.result;
}

/* ---------------------------------------------------------------------------------------------
 * Rendering.
 * ------------------------------------------------------------------------------------------- */

typedef struct shape_ctx {
    unsigned arena;
    char *buf;
    size_t cap, len;
    int truncated;
    const char *run_end;   /* where the previous block ended */
    char token[32];        /* the pending token and how many identical ones in a row */
    size_t repeat;
} shape_ctx;

static void shape_put(shape_ctx *c, const char *s) {
    size_t n = strlen(s);
    if (c->truncated) return;
    if (c->len + n + 4 > c->cap) {   /* keep room for "..." and the NUL */
        c->truncated = 1;
        return;
    }
    memcpy(c->buf + c->len, s, n + 1);
    c->len += n;
}

static void shape_flush(shape_ctx *c) {
    if (c->repeat == 0) return;
    char tok[64];
    if (c->repeat == 1) snprintf(tok, sizeof tok, "%s", c->token);
    else snprintf(tok, sizeof tok, "%sx%zu", c->token, c->repeat);
    if (c->len > 0) shape_put(c, " ");
    shape_put(c, tok);
    c->repeat = 0;
}

static int shape_visit(const ta_block_info *b, void *ctx) {
    shape_ctx *c = ctx;
    if (b->arena != c->arena) return b->arena > c->arena;   /* arenas come in index order */
    char tok[32];
    snprintf(tok, sizeof tok, "%c%zu%s", b->is_free ? 'F' : b->is_cached ? 'C' : 'A', b->size, b->is_rover ? "*" : "");
    int new_segment = c->run_end != NULL && (const char *)b->addr != c->run_end;
    if (new_segment || c->repeat == 0 || strcmp(tok, c->token) != 0) {
        shape_flush(c);
        if (new_segment) shape_put(c, " |");
        memcpy(c->token, tok, sizeof tok);
    }
    c->repeat++;
    c->run_end = (const char *)b->addr + b->size;
    return 0;
}

const char *heap_shape(unsigned arena, char *buf, size_t cap) {
    if (cap == 0) return buf;
    buf[0] = 0;
    shape_ctx c = {.arena = arena, .buf = buf, .cap = cap};
    ta_heap_walk(shape_visit, &c);
    shape_flush(&c);
    if (c.truncated && cap >= 4) memcpy(buf + (c.len + 4 <= cap ? c.len : cap - 4), "...", 4);
    return buf;
}
