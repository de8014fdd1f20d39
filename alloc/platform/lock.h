/* lock.h - the mutex every arena and registry uses: a three-state futex lock (0 free, 1 held,
 * 2 held with waiters). Uncontended, acquire is one compare-and-swap and release one exchange; a
 * waiter spins briefly, then sleeps in the kernel. Acquire/release orderings on the state word are
 * the only synchronisation, so ThreadSanitizer sees every hand-off.
 * Contract: ta_lock_acquire tries the lock first and only counts a contention when it had to wait,
 * so contention is visible in stats. A thread that re-enters a lock it holds (a signal handler that
 * interrupted an allocation, or a ta_heap_walk callback that allocates) is reported through the
 * re-entry handler instead of deadlocking. Counters are written only by the holder.
 * Lock ranks: cache_registry < arena_table < arena < segmap (init is a state machine, no lock). In a
 * TA_DEBUG >= 1 build every acquire checks them (ta_lock_rank_note): a thread may take a lock only
 * when it holds none of a higher rank, and locks of equal rank only in ascending address order
 * (arenas: ascending index, as fork takes them). A violation is reported through the fault handler
 * ("lock rank order violated") before the acquire can deadlock. */
#ifndef TA_PLATFORM_LOCK_H
#define TA_PLATFORM_LOCK_H

#include <stdint.h>
#include <stddef.h>
#include "alloc/platform/atomic.h"
#include "alloc/platform/compiler.h"

enum ta_lock_rank {
    TA_RANK_NONE = 0,           /* not checked (tests' own locks) */
    TA_RANK_CACHE_REGISTRY = 1, /* the list of thread caches: join, leave, stats, collect; fork */
    TA_RANK_ARENA_TABLE = 2,    /* arena initialisation, fork */
    TA_RANK_ARENA = 3,          /* one arena's heap */
    TA_RANK_SEGMAP = 4,         /* segment map registration; may be taken under an arena lock */
    TA_RANK_PROF = 5,           /* the heap profiler's new stacks (prof.c); taken with no other lock */
    TA_RANK_COUNT_
};

#if defined(TA_DEBUG) && TA_DEBUG >= 1
#define TA_LOCK_RANKS 1
#else
#define TA_LOCK_RANKS 0
#endif

typedef struct TA_CAPABILITY("mutex") ta_lock {
    ta_atomic_int a_state;     /* 0 free, 1 held, 2 held and a waiter may sleep */
    ta_atomic_uptr a_holder;   /* ta_lock_self() of the holder, 0 when free (read racily by waiters) */
    size_t acquired;           /* acquisitions; guarded by the lock itself */
    size_t contended;          /* acquisitions that found the lock held; guarded by the lock itself */
    int rank;                  /* enum ta_lock_rank */
    int fork_taken;            /* fork prepare acquired it (it was not already ours); holder-only */
} ta_lock;

TA_HIDDEN void ta_lock_init(ta_lock *l, int rank);

/* What the fault handler is told: re-entry (the thread already holds the lock it waits for) or a
 * rank-order violation (detail names the ranks). The handler must not return; without one, the
 * report goes to fd 2 and the process aborts. */
enum ta_lock_fault { TA_LOCK_FAULT_REENTRY = 1, TA_LOCK_FAULT_RANK = 2 };
TA_HIDDEN void ta_lock_set_fault_handler(void (*fn)(const ta_lock *l, int kind, const char *detail));

/* Rank bookkeeping (TA_LOCK_RANKS builds): records an acquire (checking its order first when
 * check is set: a try-lock cannot deadlock, so it is recorded unchecked), forgets a release. */
TA_HIDDEN void ta_lock_rank_note(const ta_lock *l, int check);
TA_HIDDEN void ta_lock_rank_forget(const ta_lock *l);
/* outer: the lock that was in transition on this thread before this acquire (see ta_lock_busy). */
TA_HIDDEN void ta_lock_acquire_slow(ta_lock *l, ta_lock *outer) TA_NO_TSA;
TA_HIDDEN void ta_lock_wake(ta_lock *l);
/* A per-thread token: the address of a thread-local byte (initial-exec TLS: no call, no allocation). */
extern __thread char ta_lock_token TA_TLS_IE TA_HIDDEN;
static TA_ALWAYS_INLINE uintptr_t ta_lock_self(void) { return (uintptr_t)&ta_lock_token; }
/* The lock this thread is taking or giving back right now: set before the lock word changes and
 * restored after a_holder agrees with it. A signal handler that interrupted that window finds the
 * lock held but a_holder not (yet, or no longer) its own; this tells fork prepare and the re-entry
 * check that the interrupted frame holds it. Saved and restored, so a handler's own lock
 * operations leave the interrupted frame's value in place. */
extern __thread ta_lock *ta_lock_busy TA_TLS_IE TA_HIDDEN;

static TA_ALWAYS_INLINE int ta_lock_cas_free(ta_lock *l) {
    int expected = 0;
    return ta_atomic_cas_strong_acquire(&l->a_state, &expected, 1);
}

/* Takes l (waiting if needed) with no rank check: ta_lock_acquire's body, and fork prepare's. */
static TA_ALWAYS_INLINE void ta_lock_take(ta_lock *l) TA_ACQUIRE(l) TA_NO_TSA {
    ta_lock *outer = ta_lock_busy;
    ta_lock_busy = l;
    atomic_signal_fence(memory_order_seq_cst);
    if (TA_UNLIKELY(!ta_lock_cas_free(l))) ta_lock_acquire_slow(l, outer);
    ta_atomic_store_relaxed(&l->a_holder, ta_lock_self());
    atomic_signal_fence(memory_order_seq_cst);
    ta_lock_busy = outer;
    l->acquired++;
}
static TA_ALWAYS_INLINE void ta_lock_acquire(ta_lock *l) TA_ACQUIRE(l) TA_NO_TSA {
    if (TA_LOCK_RANKS) ta_lock_rank_note(l, 1);
    ta_lock_take(l);
}
/* Try once, without counting contention. Returns 1 when acquired. */
static inline int ta_lock_try(ta_lock *l) TA_TRY_ACQUIRE(1, l) TA_NO_TSA {
    ta_lock *outer = ta_lock_busy;
    ta_lock_busy = l;
    atomic_signal_fence(memory_order_seq_cst);
    int got = ta_lock_cas_free(l);
    if (got) ta_atomic_store_relaxed(&l->a_holder, ta_lock_self());
    atomic_signal_fence(memory_order_seq_cst);
    ta_lock_busy = outer;
    if (!got) return 0;
    if (TA_LOCK_RANKS) ta_lock_rank_note(l, 0);   /* a try cannot deadlock, but what it holds counts */
    l->acquired++;
    return 1;
}
static TA_ALWAYS_INLINE void ta_lock_release(ta_lock *l) TA_RELEASE(l) TA_NO_TSA {
    if (TA_LOCK_RANKS) ta_lock_rank_forget(l);
    ta_lock *outer = ta_lock_busy;
    ta_lock_busy = l;
    atomic_signal_fence(memory_order_seq_cst);
    ta_atomic_store_relaxed(&l->a_holder, (uintptr_t)0);
    int waiters = atomic_exchange_explicit(&l->a_state, 0, memory_order_release) == 2;
    atomic_signal_fence(memory_order_seq_cst);
    ta_lock_busy = outer;
    if (TA_UNLIKELY(waiters)) ta_lock_wake(l);
}
/* Fork handlers. Prepare acquires the lock unless the calling thread already holds it (fork()
 * from a signal handler that interrupted an allocation must not deadlock); parent and child then
 * release only what prepare took. */
TA_HIDDEN void ta_lock_fork_prepare(ta_lock *l);
TA_HIDDEN void ta_lock_fork_release(ta_lock *l);

#endif
