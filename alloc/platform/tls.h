/* tls.h - the thread's allocator slot and thread-exit notification.
 * Contract: ta_tls_arena() is one initial-exec TLS load (never allocates, safe in an LD_PRELOADed
 * library). ta_tls_register_exit() arranges for the registered callback to run once when the
 * thread exits (a pthread key destructor); after it ran, ta_tls_exited() is true for the thread.
 * Knows nothing about which arena a thread gets. */
#ifndef TA_PLATFORM_TLS_H
#define TA_PLATFORM_TLS_H

#include <stdint.h>
#include "alloc/platform/compiler.h"

typedef struct ta_tls_slot {
    void *arena;        /* the thread's arena, NULL until its first allocation */
    int registered;     /* the exit callback is armed for this thread */
    int exited;         /* the exit callback ran; later allocations must not re-register */
} ta_tls_slot;

extern __thread ta_tls_slot ta_tls TA_TLS_IE TA_HIDDEN;

static TA_ALWAYS_INLINE void *ta_tls_arena(void) { return ta_tls.arena; }
static inline void ta_tls_set_arena(void *a) { ta_tls.arena = a; }
static inline int ta_tls_exited(void) { return ta_tls.exited; }

/* Once per process, before any ta_tls_register_exit: the callback receives the thread's arena
 * (NULL when the thread registered without taking one, e.g. it only freed). */
TA_HIDDEN int ta_tls_init(void (*on_thread_exit)(void *arena));
/* A second callback run at thread exit before the arena's (TAMALLOC_TRACE flushes the thread's
 * buffer); set once, before threads that should be seen exit. */
TA_HIDDEN void ta_tls_set_exit_hook(void (*fn)(void));
/* Arms the exit callback for the calling thread. Returns 0 on success. */
TA_HIDDEN int ta_tls_register_exit(void);
/* The kernel thread id of the caller (stable for the thread's life; may be reused afterwards). */
TA_HIDDEN uint64_t ta_thread_id(void);

#endif
