/* background.h - the opt-in background purge (TAMALLOC_BACKGROUND=1, ta_background()): one thread
 * that runs decay's round (ta_decay_background_round) every TAMALLOC_DECAY_MS / 4 (10 ms to 1 s),
 * so memory a program freed goes back to the OS while it is idle or served only from its thread
 * caches, when nothing else would tick. It owns the thread's life: start, stop, fork (the child has
 * none until asked again) and exit (stopped and joined before the statistics are written). It
 * never holds an arena lock across a system call (decay's passes do not). Off by default: then no
 * thread exists. */
#ifndef TA_BACKGROUND_H
#define TA_BACKGROUND_H

#include "alloc/platform/compiler.h"

/* on 1: start (0 when it runs, or an errno value: EAGAIN when no thread can be created);
 * on 0: stop and join (0). Other values: EINVAL. Call only once init is done. */
TA_HIDDEN int ta_background_set(int on);
TA_HIDDEN int ta_background_running(void);
TA_HIDDEN void ta_background_fork_child(void);
TA_HIDDEN void ta_background_at_exit(void);
/* The period of its rounds for a decay time, in ms (pure: unit-tested). */
TA_HIDDEN unsigned ta_background_period_ms(unsigned decay_ms);

#endif
