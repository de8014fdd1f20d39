/* lock.c - the contended path of ta_lock and its re-entry detection.
 * Owns: counting contention, reporting a thread that waits on a lock it already holds. */
#include "alloc/platform/lock.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

static void (*lock_reentry_handler)(const ta_lock *l);
__thread char ta_lock_token TA_TLS_IE;
__thread ta_lock *ta_lock_busy TA_TLS_IE;

void ta_lock_init(ta_lock *l, int rank) {
    ta_atomic_store_relaxed(&l->a_state, 0);
    ta_atomic_store_relaxed(&l->a_holder, (uintptr_t)0);
    l->acquired = 0;
    l->contended = 0;
    l->rank = rank;
    l->fork_taken = 0;
}

void ta_lock_set_reentry_handler(void (*fn)(const ta_lock *l)) { lock_reentry_handler = fn; }

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
    if ((ta_atomic_load_relaxed(&l->a_holder) == ta_lock_self() || outer == l) && lock_reentry_handler)
        lock_reentry_handler(l);   /* does not return */
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

void ta_lock_fork_prepare(ta_lock *l) TA_NO_TSA {
    if (ta_atomic_load_relaxed(&l->a_holder) == ta_lock_self() || ta_lock_busy == l) { l->fork_taken = 0; return; }
    ta_lock_acquire(l);
    l->fork_taken = 1;
}

void ta_lock_fork_release(ta_lock *l) TA_NO_TSA {
    if (!l->fork_taken) return;
    l->fork_taken = 0;
    ta_lock_release(l);
}
