/* unit_support.h - fixtures shared by the unit tests of alloc/ internals.
 *  - fake segments: real 4 MiB-aligned mappings whose header is filled the way segment.c fills it,
 *    registered in the segment map, owned by no real arena (tcmalloc's fake-layer idea);
 *  - a fault trap: ta_fault() longjmps back into the test instead of aborting, recording which
 *    fault was raised, at which address, and the formatted message. */
#ifndef TA_TESTS_UNIT_SUPPORT_H
#define TA_TESTS_UNIT_SUPPORT_H

#include <setjmp.h>
#include <stddef.h>

#include "alloc/fault.h"
#include "alloc/segment.h"

struct ta_arena;

/* A fresh zero-filled segment owned by `owner` (any non-NULL tag), registered, not linked. */
ta_segment *fake_segment_new(struct ta_arena *owner);
void fake_segment_free(ta_segment *s);

/* A USED block of at least n bytes from arena a (ta_arena_alloc); aborts when none comes. */
ta_block *unit_arena_alloc(struct ta_arena *a, size_t n);
/* Claims USED block b and frees it into a, as a free by a's own thread does; aborts when b is not
 * USED. */
void unit_arena_free(struct ta_arena *a, ta_block *b);

typedef struct fault_trap {
    jmp_buf jb;
    enum ta_fault fault;   /* last fault raised, 0 if none */
    const void *addr;
    char msg[256];
    int hits;
} fault_trap;

extern fault_trap the_trap;

void fault_trap_arm(void);     /* installs the longjmp handler and clears the record */
void fault_trap_disarm(void);  /* restores plain abort() */

/* Runs stmt expecting it to raise a fault; afterwards the_trap holds what was raised. Fails the
 * test if stmt returns normally. Variables changed by stmt must be volatile to be read after. */
#define EXPECT_FAULT(stmt)                                                        \
    do {                                                                          \
        fault_trap_arm();                                                         \
        if (setjmp(the_trap.jb) == 0) {                                           \
            stmt;                                                                 \
            fault_trap_disarm();                                                  \
            fail_msg("expected a fault from: %s", #stmt);                         \
        }                                                                         \
        fault_trap_disarm();                                                      \
    } while (0)

#endif
