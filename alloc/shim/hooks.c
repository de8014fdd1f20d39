/* shim/hooks.c - the hooked C library calls (see hooks.h), the TAMALLOC_HEAP_MAP file and its
 * SIGUSR2 request. Sequence numbers are taken before a free and after an allocating call. */
#include "alloc/shim/hooks.h"

#include <signal.h>
#include <stdint.h>

#include "tamalloc.h"
#include "alloc/api_internal.h"
#include "alloc/init.h"
#include "alloc/options.h"
#include "alloc/platform/os.h"
#include "alloc/prof.h"
#include "alloc/shim/trace.h"

ta_atomic_int ta_hooks = TA_HOOK_UNDECIDED;

static ta_atomic_int hooks_state;                 /* 0 undecided, 1 deciding, 2 decided */
static __thread int hooks_deciding TA_TLS_IE;     /* this thread is deciding (re-entry) */

/* ---------------------------------------------------------------------------------------------
 * The TAMALLOC_HEAP_MAP file.
 * ------------------------------------------------------------------------------------------- */

static int hooks_write_heap_map_file(void) {
    ta_init();
    if (!ta_opt.heap_map[0]) return -1;
    int fd = ta_os_open_write(ta_opt.heap_map);
    if (fd < 0) {
        static const char msg[] = "tamalloc: cannot open TAMALLOC_HEAP_MAP file for writing\n";
        ta_os_write_stderr(msg, sizeof msg - 1);
        return -1;
    }
    int rc = ta_heapmap_write_fd(fd);
    ta_os_close(fd);
    return rc;
}

/* Async-signal-safe: one atomic or; the next hooked call writes the file(s): the heap map when
 * TAMALLOC_HEAP_MAP is set, a heap profile when TAMALLOC_PROF_SIGNAL=1. */
static void hooks_on_sigusr2(int sig) {
    (void)sig;
    int bits = (ta_opt.heap_map[0] ? TA_HOOK_HEAP_MAP : 0) | (ta_opt.prof_signal ? TA_HOOK_PROF : 0);
    atomic_fetch_or_explicit(&ta_hooks, bits, memory_order_release);
}

__attribute__((constructor)) static void hooks_at_load(void) {
    ta_init();
    if (ta_opt.heap_map[0] || ta_opt.prof_signal) ta_os_on_signal(SIGUSR2, hooks_on_sigusr2);
}

__attribute__((destructor)) static void hooks_at_exit(void) {
    if (ta_opt.heap_map[0]) hooks_write_heap_map_file();
}

/* ---------------------------------------------------------------------------------------------
 * Dispatch.
 * ------------------------------------------------------------------------------------------- */

/* The first hooked call reads the options; racing first callers wait for it. Returns the hooks. */
static TA_NOINLINE int hooks_decide(void) {
    int expected = 0;
    if (ta_atomic_cas_strong_acquire(&hooks_state, &expected, 1)) {
        hooks_deciding = 1;
        ta_init();
        int tracing = ta_opt.trace[0] && ta_trace_start();
        if (tracing) atomic_fetch_or_explicit(&ta_hooks, TA_HOOK_TRACE, memory_order_release);
        atomic_fetch_and_explicit(&ta_hooks, ~TA_HOOK_UNDECIDED, memory_order_release);
        ta_atomic_store_release(&hooks_state, 2);
        hooks_deciding = 0;
        /* After publishing: pthread_atfork may allocate, and that call is then simply recorded. */
        if (tracing) ta_trace_register_fork();
    } else if (!hooks_deciding) {
        while (ta_atomic_load_acquire(&hooks_state) != 2) ta_os_yield();
    }
    return ta_atomic_load_acquire(&ta_hooks);
}

/* Takes a request the signal handler set (bit of h): 1 for the one call that clears it. */
static int hooks_take(int h, int bit) {
    return (h & bit) && (atomic_fetch_and_explicit(&ta_hooks, ~bit, memory_order_acq_rel) & bit);
}

/* Services a heap-map or heap-profile request; returns whether this call is to be recorded. */
static TA_NOINLINE int hooks_enter(void) {
    static ta_atomic_u32 prof_seq;    /* the profiles SIGUSR2 asked for: <TAMALLOC_PROF>.1, .2, ... */
    int h = ta_atomic_load_acquire(&ta_hooks);
    if (h & TA_HOOK_UNDECIDED) h = hooks_decide();
    if (hooks_take(h, TA_HOOK_HEAP_MAP)) hooks_write_heap_map_file();
    if (hooks_take(h, TA_HOOK_PROF)) ta_prof_write_numbered(ta_atomic_add_relaxed(&prof_seq, 1u) + 1u);
    return (h & TA_HOOK_TRACE) != 0 && !hooks_deciding;
}

void ta_hooks_service(void) { (void)hooks_enter(); }

/* ---------------------------------------------------------------------------------------------
 * The hooked C library calls.
 * ------------------------------------------------------------------------------------------- */

void *ta_hooked_malloc(size_t size) {
    int rec = hooks_enter();
    void *p = ta_malloc(size);
    if (rec) ta_trace_put(ta_trace_next_seq(), TA_TRACE_MALLOC, p, size, 0);
    return p;
}

void ta_hooked_free(void *p) {
    int rec = hooks_enter() && p;
    uint64_t seq = rec ? ta_trace_next_seq() : 0;
    ta_free(p);
    if (rec) ta_trace_put(seq, TA_TRACE_FREE, p, 0, 0);
}

void *ta_hooked_calloc(size_t n, size_t size) {
    int rec = hooks_enter();
    void *p = ta_calloc(n, size);
    if (rec) ta_trace_put(ta_trace_next_seq(), TA_TRACE_CALLOC, p, n * size, 0);
    return p;
}

void *ta_hooked_realloc(void *p, size_t size) {
    int rec = hooks_enter();
    void *q = ta_realloc(p, size);
    if (rec) {
        if (p && size == 0) ta_trace_put(ta_trace_next_seq(), TA_TRACE_FREE, p, 0, 0);   /* freed, NULL */
        else if (q || !p) ta_trace_put(ta_trace_next_seq(), TA_TRACE_REALLOC, q, size, (uintptr_t)p);
    }
    return q;
}

void *ta_hooked_reallocarray(void *p, size_t n, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) return ta_reallocarray(p, n, size);   /* ENOMEM */
    return ta_hooked_realloc(p, total);
}

int ta_hooked_posix_memalign(void **out, size_t alignment, size_t size) {
    int rec = hooks_enter();
    int rc = ta_posix_memalign(out, alignment, size);
    if (rec && rc == 0) ta_trace_put(ta_trace_next_seq(), TA_TRACE_ALIGNED, *out, size, alignment);
    return rc;
}

void *ta_hooked_aligned_alloc(size_t alignment, size_t size) {
    int rec = hooks_enter();
    void *p = ta_aligned_alloc(alignment, size);
    if (rec) ta_trace_put(ta_trace_next_seq(), TA_TRACE_ALIGNED, p, size, alignment);
    return p;
}

void *ta_hooked_memalign(size_t alignment, size_t size) {
    int rec = hooks_enter();
    void *p = ta_memalign(alignment, size);
    if (rec) ta_trace_put(ta_trace_next_seq(), TA_TRACE_ALIGNED, p, size, alignment);
    return p;
}
