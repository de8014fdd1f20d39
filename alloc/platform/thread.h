/* thread.h - the one service thread tamalloc may run (the opt-in background purge).
 * Contract:
 *  - ta_service_start(round, period_ms): starts a thread that calls round() every period_ms
 *    milliseconds until ta_service_stop; every signal is blocked in it, so it never runs a handler
 *    of the program's. Returns 0 (also when it already runs), or an errno value (EAGAIN when the
 *    thread cannot be created). May allocate (pthread_create); call it only once init is done.
 *  - ta_service_stop(): wakes the thread at once, waits for its current round to end and joins
 *    it. No-op when none runs. Must not be called from round().
 *  - ta_service_running(), ta_service_rounds(), ta_service_cpu_ns(): whether it runs, the rounds
 *    it has run and the CPU time it has used (its own thread clock, summed over every thread
 *    started), for the statistics.
 *  - ta_service_fork_child(): in a fork child, where the thread does not exist: forgets it (the
 *    child runs none until started again) and makes the primitives usable again.
 * Knows nothing of arenas or decay: round() is the caller's. */
#ifndef TA_PLATFORM_THREAD_H
#define TA_PLATFORM_THREAD_H

#include <stdint.h>

#include "alloc/platform/compiler.h"

TA_HIDDEN int      ta_service_start(void (*round)(void), unsigned period_ms);
TA_HIDDEN void     ta_service_stop(void);
TA_HIDDEN int      ta_service_running(void);
TA_HIDDEN uint64_t ta_service_rounds(void);
TA_HIDDEN uint64_t ta_service_cpu_ns(void);
TA_HIDDEN void     ta_service_fork_child(void);

#endif
