/* misuse.h - shared by the misuse cases. Each case is a tiny program that commits one misuse of the
 * ta_* API and must be killed by tamalloc's report (a "tamalloc: <fault> at <addr>" line on stderr,
 * then SIGABRT). Before the faulting call a case prints the address the report must name
 * ("expect 0x...") on stdout; returning from main means the misuse went unreported, which the
 * runner (misuse_test.c) sees as a normal exit instead of SIGABRT. */
#ifndef TA_TESTS_MISUSE_H
#define TA_TESTS_MISUSE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tamalloc.h"

#define MISUSE_SEGMENT_SIZE ((uintptr_t)4 << 20)   /* tamalloc's segment size and alignment */

/* Announces the address the report must name. */
static inline void misuse_expect(const void *addr) {
    printf("expect %p\n", addr);
    fflush(stdout);
}

/* Reached only when the misuse was not reported. */
static inline int misuse_missed(void) {
    fprintf(stderr, "misuse not caught\n");
    return 3;
}

/* An allocation that must succeed for the case to mean anything. */
static inline void *misuse_alloc(size_t n) {
    void *p = ta_malloc(n);
    if (p == NULL) {
        fprintf(stderr, "setup: ta_malloc(%zu) failed\n", n);
        exit(4);
    }
    return p;
}

static int misuse_rover_visit(const ta_block_info *b, void *ctx) {
    if (b->is_rover) *(size_t *)ctx = b->size;
    return 0;
}

/* Allocates until the calling thread's (only) arena has no free block left, so the next free sets
 * the next-fit rover on the freed block. Requires that the arena's only free block is the tail of
 * its one segment, where the rover sits after a split (a single-threaded case that has allocated
 * only a few small blocks). */
static inline void misuse_fill_arena(void) {
    for (;;) {
        size_t rover = 0;
        ta_heap_walk(misuse_rover_visit, &rover);
        if (rover == 0) return;                                  /* free list empty */
        misuse_alloc(rover > 120000 ? 100000 : rover - 16);      /* the last one fits exactly */
    }
}

#endif
