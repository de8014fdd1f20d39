/* lock.c - the contended path of ta_lock and its re-entry detection.
 * Owns: counting contention, reporting a thread that waits on a lock it already holds. */
#include "alloc/platform/lock.h"

static void (*lock_reentry_handler)(const ta_lock *l);
__thread char ta_lock_token TA_TLS_IE;

void ta_lock_init(ta_lock *l, int rank) {
    pthread_mutex_init(&l->m, NULL);
    ta_atomic_store_relaxed(&l->a_holder, (uintptr_t)0);
    l->acquired = 0;
    l->contended = 0;
    l->rank = rank;
    l->fork_taken = 0;
}

void ta_lock_set_reentry_handler(void (*fn)(const ta_lock *l)) { lock_reentry_handler = fn; }

TA_NOINLINE TA_COLD void ta_lock_acquire_slow(ta_lock *l) {
    if (ta_atomic_load_relaxed(&l->a_holder) == ta_lock_self() && lock_reentry_handler)
        lock_reentry_handler(l);   /* does not return */
    pthread_mutex_lock(&l->m);
    l->contended++;
}

void ta_lock_fork_prepare(ta_lock *l) TA_NO_TSA {
    if (ta_atomic_load_relaxed(&l->a_holder) == ta_lock_self()) { l->fork_taken = 0; return; }
    ta_lock_acquire(l);
    l->fork_taken = 1;
}

void ta_lock_fork_release(ta_lock *l) TA_NO_TSA {
    if (!l->fork_taken) return;
    l->fork_taken = 0;
    ta_lock_release(l);
}
