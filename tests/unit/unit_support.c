/* unit_support.c - see unit_support.h. */
#include "tests/unit/unit_support.h"

#include <stdlib.h>
#include <string.h>

#include "alloc/arena.h"
#include "alloc/platform/os.h"

fault_trap the_trap;

ta_segment *fake_segment_new(struct ta_arena *owner) {
    ta_segment *s = ta_os_map_aligned(TA_SEGMENT_SIZE, TA_SEGMENT_SIZE);
    if (!s) abort();
    s->span.kind = TA_SPAN_SEGMENT;
    s->arena = owner;
    s->next = s->prev = NULL;
    s->start = (char *)s + TA_SEGMENT_HEADER_SIZE;
    s->end = (char *)s + TA_SEGMENT_SIZE;
    /* registered, as segment.c registers a real one: the fit index follows a link between
     * segments only when the segment map says it leads to a segment header */
    static int segmap_ready;
    if (!segmap_ready) { ta_segmap_init(); segmap_ready = 1; }
    if (ta_segmap_register(s, TA_SEGMENT_SIZE, &s->span) != 0) abort();
    return s;
}

void fake_segment_free(ta_segment *s) {
    ta_segmap_unregister(s, TA_SEGMENT_SIZE);
    ta_os_unmap(s, TA_SEGMENT_SIZE);
}

static void trap_handler(enum ta_fault f, const void *addr, const char *msg) {
    the_trap.fault = f;
    the_trap.addr = addr;
    strncpy(the_trap.msg, msg, sizeof the_trap.msg - 1);
    the_trap.msg[sizeof the_trap.msg - 1] = 0;
    the_trap.hits++;
    longjmp(the_trap.jb, 1);
}

void fault_trap_arm(void) {
    the_trap.fault = 0;
    the_trap.addr = NULL;
    the_trap.msg[0] = 0;
    the_trap.hits = 0;
    ta_fault_set_handler(trap_handler);
}

void fault_trap_disarm(void) { ta_fault_set_handler(NULL); }

ta_block *unit_arena_alloc(struct ta_arena *a, size_t n) {
    void *u = ta_arena_alloc(a, ta_block_size_for(n), TA_ALIGN);
    if (!u) abort();
    return ta_block_of(u);
}

void unit_arena_free(struct ta_arena *a, ta_block *b) {
    if (!ta_block_claim_free(b, b->size)) abort();
    ta_arena_free_local(a, b);
}
