/* remote.h - the lock-free multi-producer, single-consumer queue of blocks freed by threads that do
 * not own the block's arena.
 * Producers: any thread, no lock; one release compare-and-swap per push (of one block, or of a
 *   chain a thread cache batched for this arena); they write only the
 *   block's first payload word (a safe-linked pointer to the previous head) and the pushed count,
 *   which shares the head's cache line so a push dirties no extra line.
 * Consumer: the owning arena, under its lock, takes the whole chain with one acquire exchange
 *   (no ABA: nothing is ever popped singly) and walks it in bounded batches.
 * Look-ahead: a block's second payload word holds, safe-linked too, a hint: the block TA_REMOTE_AHEAD
 *   places further down its chain (a thread cache's outbox writes it; a single push writes NULL).
 *   The consumer only prefetches it, never reads through it, so a hint that is wrong (overwritten
 *   after free) costs a wasted prefetch and nothing else; walking the chain is a dependent load per
 *   block, and the hint lets the lines of the next blocks come over from the freeing core meanwhile.
 * Invariant: every block on the chain has state QUEUED (set by the producer's claim before push). */
#ifndef TA_REMOTE_H
#define TA_REMOTE_H

#include <stddef.h>

#include "alloc/block.h"
#include "alloc/platform/atomic.h"
#include "alloc/platform/compiler.h"

typedef struct ta_remote {
    _Atomic(ta_block *) a_head;  /* most recently pushed block, NULL when empty */
    ta_atomic_size a_pushed;     /* pushes ever made */
} ta_remote;

static inline void ta_remote_init(ta_remote *q) {
    ta_atomic_store_relaxed(&q->a_head, (ta_block *)NULL);
    ta_atomic_store_relaxed(&q->a_pushed, (size_t)0);
}

static TA_ALWAYS_INLINE uintptr_t *ta_remote_slot(ta_block *b) { return (uintptr_t *)ta_block_user(b); }

#define TA_REMOTE_AHEAD 8u   /* blocks between a block and its look-ahead hint */

static TA_ALWAYS_INLINE void ta_remote_set_ahead(ta_block *b, const ta_block *ahead) {
    uintptr_t *slot = ta_remote_slot(b) + 1;
    *slot = ta_link_encode(slot, ahead);
}

/* Prefetches b's look-ahead hint (never dereferenced: a prefetch does not fault). */
static TA_ALWAYS_INLINE void ta_remote_prefetch_ahead(ta_block *b) {
    uintptr_t *slot = ta_remote_slot(b) + 1;
    TA_PREFETCH(ta_link_decode(slot, *slot));
}

static inline void ta_remote_push(ta_remote *q, ta_block *b) {
    uintptr_t *slot = ta_remote_slot(b);
    ta_block *head = ta_atomic_load_relaxed(&q->a_head);
    ta_remote_set_ahead(b, NULL);
    do {
        *slot = ta_link_encode(slot, head);
    } while (!ta_atomic_cas_weak_release(&q->a_head, &head, b));
    ta_atomic_add_relaxed(&q->a_pushed, (size_t)1);
}

/* Pushes a chain of n blocks already linked head -> ... -> tail through their link words (encoded
 * with ta_link_encode, as ta_remote_next decodes them): one compare-and-swap for the whole chain. */
static inline void ta_remote_push_chain(ta_remote *q, ta_block *head, ta_block *tail, size_t n) {
    uintptr_t *slot = ta_remote_slot(tail);
    ta_block *old = ta_atomic_load_relaxed(&q->a_head);
    do {
        *slot = ta_link_encode(slot, old);
    } while (!ta_atomic_cas_weak_release(&q->a_head, &old, head));
    ta_atomic_add_relaxed(&q->a_pushed, n);
}

/* One relaxed load: is anything queued? (A hint; the exchange decides.) */
static TA_ALWAYS_INLINE int ta_remote_nonempty(ta_remote *q) {
    return ta_atomic_load_relaxed(&q->a_head) != NULL;
}

static inline ta_block *ta_remote_take_all(ta_remote *q) {
    return ta_atomic_exchange_acquire(&q->a_head, (ta_block *)NULL);
}

/* The block pushed before b (undecoded garbage if b's link was overwritten: the caller verifies). */
static inline ta_block *ta_remote_next(ta_block *b) {
    uintptr_t *slot = ta_remote_slot(b);
    return (ta_block *)ta_link_decode(slot, *slot);
}

#endif
