/* arena_table.h - the fixed array of arenas and the thread -> arena assignment.
 * A thread gets an arena on its first allocation: the lowest-numbered one no live thread holds, else
 * one chosen from its thread id; the choice is cached in TLS and released by the thread-exit hook. The
 * arena count is fixed at init (TAMALLOC_ARENAS, default TA_ARENAS_PER_CPU x usable CPUs); mallopt's
 * M_ARENA_MAX narrows the choice of threads assigned later to the first arenas. */
#ifndef TA_ARENA_TABLE_H
#define TA_ARENA_TABLE_H

#include "alloc/arena.h"
#include "alloc/platform/compiler.h"
#include "alloc/platform/tls.h"

/* The calling thread's arena, or NULL before its first allocation (one TLS load). */
static TA_ALWAYS_INLINE ta_arena *ta_arena_mine(void) { return (ta_arena *)ta_tls_arena(); }

/* Called once by init: fixes the arena count. */
TA_HIDDEN void ta_arena_table_init(unsigned count);
/* Thread exit (init's TLS exit callback): gives back the thread's hold on arena (NULL: none); the
 * last thread out drains its remote queue. */
TA_HIDDEN void ta_arena_table_thread_exit(void *arena);
TA_HIDDEN unsigned ta_arena_table_count(void);
/* mallopt(M_ARENA_MAX): threads that get their arena after the call choose among the first limit
 * arenas only (limit >= 1; a limit at or above the count means all of them). Threads keep the arena
 * they have; stats, collect and fork still visit every arena. */
TA_HIDDEN void ta_arena_table_set_limit(unsigned limit);
/* Arena i if initialised, else NULL. Indices [0, count) are the threads' arenas; [count, count_all)
 * the user heaps' (api_heaps.c): NULL for a slot whose heap is not alive. */
TA_HIDDEN ta_arena *ta_arena_table_get(unsigned i);
/* Threads' arenas plus every user-heap slot ever claimed: what stats, walk, check and the heap map
 * visit. Equals ta_arena_table_count() until the first ta_heap_new. */
TA_HIDDEN unsigned ta_arena_table_count_all(void);

/* ---- user heaps: the second range, TA_MAX_HEAPS arenas after the threads' (same array, so fork
 * takes every arena lock in ascending address order) ---- */
/* Claims a free slot: its arena initialised (index count + slot, user = 1 + slot), its generation
 * made odd (alive). NULL when TA_MAX_HEAPS are alive. *gen gets the generation. */
TA_HIDDEN ta_arena *ta_arena_table_user_claim(uint32_t *gen);
/* The arena of user slot `slot` (alive or not), or NULL when slot is out of range. */
TA_HIDDEN ta_arena *ta_arena_table_user_at(unsigned slot);
/* Gives a's slot back (its generation already made even by the destroy). */
TA_HIDDEN void ta_arena_table_user_release(ta_arena *a);
/* The calling thread's arena, assigning one on first use (stored in TLS). Never NULL after init. */
TA_HIDDEN ta_arena *ta_arena_table_assign(void);

TA_HIDDEN void ta_arena_table_fork_prepare(void);
TA_HIDDEN void ta_arena_table_fork_parent(void);
TA_HIDDEN void ta_arena_table_fork_child(void);

#endif
