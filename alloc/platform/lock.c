/* lock.c - the contended path of ta_lock, its re-entry detection and the debug rank checker.
 * Owns: counting contention, reporting a thread that waits on a lock it already holds, and the
 * per-thread record of held ranks (TA_LOCK_RANKS builds call into it; see lock.h). */
#include "alloc/platform/lock.h"

#include <errno.h>
#include <stdlib.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

static void (*lock_fault_handler)(const ta_lock *l, int kind, const char *detail);
__thread char ta_lock_token TA_TLS_IE;
__thread ta_lock *ta_lock_busy TA_TLS_IE;

/* Held locks per rank: how many, and the highest address taken (equal ranks must ascend). */
static __thread unsigned lock_held[TA_RANK_COUNT_] TA_TLS_IE;
static __thread const ta_lock *lock_last[TA_RANK_COUNT_] TA_TLS_IE;

void ta_lock_init(ta_lock *l, int rank) {
    ta_atomic_store_relaxed(&l->a_state, 0);
    ta_atomic_store_relaxed(&l->a_holder, (uintptr_t)0);
    l->acquired = 0;
    l->contended = 0;
    l->rank = rank;
    l->fork_taken = 0;
}

void ta_lock_set_fault_handler(void (*fn)(const ta_lock *l, int kind, const char *detail)) { lock_fault_handler = fn; }

/* Appends s to buf at *at (bounded, NUL-terminated). */
static void lock_put(char *buf, unsigned cap, unsigned *at, const char *s) {
    while (*s && *at + 1 < cap) buf[(*at)++] = *s++;
    buf[*at] = 0;
}

static TA_NOINLINE TA_COLD void lock_fault(const ta_lock *l, int kind, const char *detail) {
    if (lock_fault_handler) lock_fault_handler(l, kind, detail);   /* does not return */
    char msg[200];
    unsigned at = 0;
    lock_put(msg, sizeof msg, &at, kind == TA_LOCK_FAULT_RANK ? "tamalloc: lock rank order violated: "
                                                               : "tamalloc: allocator re-entered while it held a lock: ");
    lock_put(msg, sizeof msg, &at, detail);
    lock_put(msg, sizeof msg, &at, "\n");
    ssize_t unused = write(2, msg, at);
    (void)unused;
    abort();
}

static const char *const lock_rank_names[TA_RANK_COUNT_] = {
    [TA_RANK_NONE] = "none", [TA_RANK_ARENA_TABLE] = "arena table", [TA_RANK_CACHE_REGISTRY] = "cache registry",
    [TA_RANK_ARENA] = "arena", [TA_RANK_SEGMAP] = "segmap",
};

static TA_NOINLINE TA_COLD void lock_rank_fault(const ta_lock *l, int held_rank) {
    char detail[160];
    unsigned at = 0;
    lock_put(detail, sizeof detail, &at, "taking a lock of rank \"");
    lock_put(detail, sizeof detail, &at, lock_rank_names[l->rank]);
    if (held_rank == l->rank) {
        lock_put(detail, sizeof detail, &at, "\" below the address of one already held (equal ranks ascend)");
    } else {
        lock_put(detail, sizeof detail, &at, "\" while holding one of rank \"");
        lock_put(detail, sizeof detail, &at, lock_rank_names[held_rank]);
        lock_put(detail, sizeof detail, &at, "\"");
    }
    lock_fault(l, TA_LOCK_FAULT_RANK, detail);
}

void ta_lock_rank_note(const ta_lock *l, int check) {
    int r = l->rank;
    if (r <= TA_RANK_NONE || r >= TA_RANK_COUNT_) return;
    if (check) {
        /* The thread already holds l: the re-entry check of the acquire reports it more precisely. */
        if (ta_atomic_load_relaxed(&l->a_holder) == ta_lock_self() || ta_lock_busy == l) return;
        for (int h = TA_RANK_COUNT_ - 1; h > r; h--)
            if (lock_held[h]) lock_rank_fault(l, h);
        if (lock_held[r] && l <= lock_last[r]) lock_rank_fault(l, r);
    }
    lock_held[r]++;
    lock_last[r] = l;
}

void ta_lock_rank_forget(const ta_lock *l) {
    int r = l->rank;
    if (r <= TA_RANK_NONE || r >= TA_RANK_COUNT_ || !lock_held[r]) return;
    if (--lock_held[r] == 0) lock_last[r] = NULL;
}

#if defined(__x86_64__) || defined(__i386__)
#define LOCK_CPU_RELAX() __builtin_ia32_pause()
#else
#define LOCK_CPU_RELAX() ((void)0)
#endif

static void lock_futex(ta_atomic_int *word, int op, int value) {
    int saved = errno;
    syscall(SYS_futex, (int *)word, op | FUTEX_PRIVATE_FLAG, value, NULL, NULL, 0);
    errno = saved;
}

void ta_lock_wake(ta_lock *l) { lock_futex(&l->a_state, FUTEX_WAKE, 1); }

TA_NOINLINE TA_COLD void ta_lock_acquire_slow(ta_lock *l, ta_lock *outer) {
    /* ours: marked as held by this thread, or in transition in the frame this handler interrupted */
    if (ta_atomic_load_relaxed(&l->a_holder) == ta_lock_self() || outer == l)
        lock_fault(l, TA_LOCK_FAULT_REENTRY, "a signal handler or heap-walk callback called the allocator");
    ta_lock_busy = outer;   /* waiting is not holding: a fork meanwhile must wait for the holder */
    atomic_signal_fence(memory_order_seq_cst);
    for (int spin = 0; spin < 100; spin++) {   /* critical sections are short: spin a little first */
        if (ta_atomic_load_relaxed(&l->a_state) == 0 && ta_lock_cas_free(l)) goto acquired;
        LOCK_CPU_RELAX();
    }
    /* Mark "waiters" and sleep until the holder's release sees 2 and wakes one of us. */
    while (atomic_exchange_explicit(&l->a_state, 2, memory_order_acquire) != 0) lock_futex(&l->a_state, FUTEX_WAIT, 2);
acquired:
    atomic_signal_fence(memory_order_seq_cst);
    ta_lock_busy = l;
    l->contended++;
}

/* Prepare takes every lock in rank order, but the forking thread may already hold one (fork from
 * a signal handler or a heap-walk callback): those are skipped, and the rest are recorded without
 * the rank check, which would otherwise name that legitimate case. */
void ta_lock_fork_prepare(ta_lock *l) TA_NO_TSA {
    if (ta_atomic_load_relaxed(&l->a_holder) == ta_lock_self() || ta_lock_busy == l) { l->fork_taken = 0; return; }
    ta_lock_take(l);
    if (TA_LOCK_RANKS) ta_lock_rank_note(l, 0);
    l->fork_taken = 1;
}

void ta_lock_fork_release(ta_lock *l) TA_NO_TSA {
    if (!l->fork_taken) return;
    l->fork_taken = 0;
    ta_lock_release(l);
}
