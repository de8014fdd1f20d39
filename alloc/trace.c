/* trace.c - TAMALLOC_TRACE recording and the shim's hook dispatch (see trace.h for the format).
 *
 * Buffers: TRACE_SLOTS slots of TRACE_SLOT_RECS records in one anonymous mapping (its pages are
 * touched only as threads use them). A thread claims a free slot at its first recorded call and
 * gives it back, flushed, at thread exit (the TLS exit hook); slot 0 is shared by threads that found
 * none free or that already exited. Each slot has a spin lock, taken by its owner per record (never
 * contended but by a flusher) and by flushers; the file itself is written under trace_write_lock,
 * one whole buffer per write(2). Nothing here calls malloc, so recording cannot recurse.
 * Lock order: slot lock, then trace_write_lock; neither is held while calling the allocator. */
#include "alloc/trace.h"

#include <stdint.h>

#include "tamalloc.h"
#include "alloc/init.h"
#include "alloc/options.h"
#include "alloc/platform/os.h"
#include "alloc/platform/tls.h"

#define TRACE_SLOTS 128
#define TRACE_SLOT_RECS 1636     /* 64 KiB a slot */

typedef struct trace_slot {
    ta_atomic_int a_lock;        /* 0 free, 1 held */
    ta_atomic_int a_owned;       /* a live thread appends here (slot 0: never owned, shared) */
    uint32_t n;                  /* records buffered; guarded by a_lock */
    uint32_t pad;
    ta_trace_rec rec[TRACE_SLOT_RECS];   /* guarded by a_lock */
} trace_slot;

ta_atomic_int ta_hooks = TA_HOOK_UNDECIDED;

static ta_atomic_int trace_state;        /* 0 undecided, 1 deciding, 2 decided */
static ta_atomic_size trace_seq;         /* next sequence number */
static ta_atomic_int trace_write_lock;
static int trace_fd = -1;                /* set before TA_HOOK_TRACE is published */
static trace_slot *trace_slots;          /* likewise */
static __thread trace_slot *trace_mine TA_TLS_IE;   /* this thread's slot, NULL before its first record */
static __thread int trace_thread_gone TA_TLS_IE;    /* its exit hook ran: use the shared slot */
static __thread int trace_deciding TA_TLS_IE;       /* this thread is deciding (re-entry) */

/* ---------------------------------------------------------------------------------------------
 * Locks and writing.
 * ------------------------------------------------------------------------------------------- */

static void spin_acquire(ta_atomic_int *l) {
    while (ta_atomic_exchange_acquire(l, 1)) {
        while (ta_atomic_load_relaxed(l)) ta_os_yield();
    }
}
static void spin_release(ta_atomic_int *l) { ta_atomic_store_release(l, 0); }

static void trace_write(const void *buf, size_t len) {
    spin_acquire(&trace_write_lock);
    if (trace_fd >= 0 && ta_os_write_fd(trace_fd, buf, len) != 0) {
        static const char msg[] = "tamalloc: writing the TAMALLOC_TRACE file failed; tracing stops\n";
        ta_os_write_stderr(msg, sizeof msg - 1);
        atomic_fetch_and_explicit(&ta_hooks, ~TA_HOOK_TRACE, memory_order_relaxed);
        trace_fd = -1;
    }
    spin_release(&trace_write_lock);
}

static void slot_flush_locked(trace_slot *s) {
    if (s->n) trace_write(s->rec, (size_t)s->n * sizeof(ta_trace_rec));
    s->n = 0;
}

static trace_slot *trace_claim(void) {
    if (!trace_thread_gone) {
        for (unsigned i = 1; i < TRACE_SLOTS; i++) {
            int expected = 0;
            if (ta_atomic_load_relaxed(&trace_slots[i].a_owned) == 0 &&
                ta_atomic_cas_strong_acquire(&trace_slots[i].a_owned, &expected, 1)) {
                trace_mine = &trace_slots[i];
                return trace_mine;
            }
        }
    }
    return &trace_slots[0];
}

static void trace_put(uint64_t seq, unsigned op, const void *ptr, size_t size, uintptr_t aux) {
    trace_slot *s = trace_mine ? trace_mine : trace_claim();
    ta_trace_rec r = {seq, (uint64_t)(uintptr_t)ptr, size, aux, (uint32_t)ta_thread_id(), op};
    spin_acquire(&s->a_lock);
    if (s->n == TRACE_SLOT_RECS) slot_flush_locked(s);
    s->rec[s->n++] = r;
    spin_release(&s->a_lock);
}

static uint64_t trace_next_seq(void) { return ta_atomic_add_relaxed(&trace_seq, (size_t)1); }

/* ---------------------------------------------------------------------------------------------
 * Start, thread exit, process exit, fork.
 * ------------------------------------------------------------------------------------------- */

void ta_trace_flush_all(void) {
    if (!trace_slots) return;
    for (unsigned i = 0; i < TRACE_SLOTS; i++) {
        trace_slot *s = &trace_slots[i];
        spin_acquire(&s->a_lock);
        slot_flush_locked(s);
        spin_release(&s->a_lock);
    }
}

static void trace_thread_exit(void) {
    trace_slot *s = trace_mine;
    trace_thread_gone = 1;
    if (!s) return;
    trace_mine = NULL;
    spin_acquire(&s->a_lock);
    slot_flush_locked(s);
    spin_release(&s->a_lock);
    ta_atomic_store_release(&s->a_owned, 0);
}

/* A forked child must not write the parent's buffered records again, nor interleave its own with
 * the parent's in the same file: tracing stops in the child. */
static void trace_fork_child(void) {
    atomic_fetch_and_explicit(&ta_hooks, ~TA_HOOK_TRACE, memory_order_relaxed);
    trace_fd = -1;
    for (unsigned i = 0; i < TRACE_SLOTS; i++) trace_slots[i].n = 0;
}

/* The path with "%p" replaced by the process id (so programs that start others can be traced). */
static void trace_path(char *out, size_t cap) {
    const char *in = ta_opt.trace;
    size_t n = 0;
    for (; *in && n + 24 < cap; in++) {
        if (in[0] == '%' && in[1] == 'p') {
            char tmp[24];
            int k = 0;
            long pid = ta_os_pid();
            do { tmp[k++] = (char)('0' + pid % 10); pid /= 10; } while (pid);
            while (k) out[n++] = tmp[--k];
            in++;
        } else {
            out[n++] = *in;
        }
    }
    out[n] = 0;
}

static void trace_start(void) {
    char path[TA_OPT_PATH_MAX + 24];
    trace_path(path, sizeof path);
    int fd = ta_os_open_write(path);
    size_t bytes = ((sizeof(trace_slot) * TRACE_SLOTS) + 4095) & ~(size_t)4095;
    trace_slot *slots = fd >= 0 ? ta_os_map_aligned(bytes, ta_os_page_size()) : NULL;
    if (!slots) {
        static const char msg[] = "tamalloc: cannot start TAMALLOC_TRACE (open or map failed)\n";
        ta_os_write_stderr(msg, sizeof msg - 1);
        if (fd >= 0) ta_os_close(fd);
        return;
    }
    struct { char magic[8]; uint32_t rec_size, version; } header = {TA_TRACE_MAGIC, sizeof(ta_trace_rec), TA_TRACE_VERSION};
    if (ta_os_write_fd(fd, &header, sizeof header) != 0) { ta_os_close(fd); ta_os_unmap(slots, bytes); return; }
    trace_fd = fd;
    trace_slots = slots;
    ta_tls_set_exit_hook(trace_thread_exit);
    atomic_fetch_or_explicit(&ta_hooks, TA_HOOK_TRACE, memory_order_release);
}

/* The first hooked call reads the options; racing first callers wait for it. Returns the hooks. */
static TA_NOINLINE int hooks_decide(void) {
    int expected = 0;
    if (ta_atomic_cas_strong_acquire(&trace_state, &expected, 1)) {
        trace_deciding = 1;
        ta_init();
        if (ta_opt.trace[0]) trace_start();
        atomic_fetch_and_explicit(&ta_hooks, ~TA_HOOK_UNDECIDED, memory_order_release);
        ta_atomic_store_release(&trace_state, 2);
        trace_deciding = 0;
        /* After publishing: pthread_atfork may allocate, and that call is then simply recorded. */
        if (trace_slots) ta_os_atfork(NULL, NULL, trace_fork_child);
    } else if (!trace_deciding) {
        while (ta_atomic_load_acquire(&trace_state) != 2) ta_os_yield();
    }
    return ta_atomic_load_acquire(&ta_hooks);
}

/* Services a heap-map request; returns whether this call is to be recorded. */
static TA_NOINLINE int hooks_enter(void) {
    int h = ta_atomic_load_acquire(&ta_hooks);
    if (h & TA_HOOK_UNDECIDED) h = hooks_decide();
    if (h & TA_HOOK_HEAP_MAP) {
        int was = atomic_fetch_and_explicit(&ta_hooks, ~TA_HOOK_HEAP_MAP, memory_order_acq_rel);
        if (was & TA_HOOK_HEAP_MAP) ta_heapmap_write_option_file();
    }
    return (h & TA_HOOK_TRACE) != 0 && !trace_deciding;
}

void ta_hooks_request_heap_map(void) {
    atomic_fetch_or_explicit(&ta_hooks, TA_HOOK_HEAP_MAP, memory_order_release);
}

__attribute__((destructor)) static void trace_at_exit(void) { ta_trace_flush_all(); }

/* ---------------------------------------------------------------------------------------------
 * The hooked C library calls: sequence numbers before a free, after an allocating call.
 * ------------------------------------------------------------------------------------------- */

void *ta_hooked_malloc(size_t size) {
    int rec = hooks_enter();
    void *p = ta_malloc(size);
    if (rec) trace_put(trace_next_seq(), TA_TRACE_MALLOC, p, size, 0);
    return p;
}

void ta_hooked_free(void *p) {
    int rec = hooks_enter() && p;
    uint64_t seq = rec ? trace_next_seq() : 0;
    ta_free(p);
    if (rec) trace_put(seq, TA_TRACE_FREE, p, 0, 0);
}

void *ta_hooked_calloc(size_t n, size_t size) {
    int rec = hooks_enter();
    void *p = ta_calloc(n, size);
    if (rec) trace_put(trace_next_seq(), TA_TRACE_CALLOC, p, n * size, 0);
    return p;
}

void *ta_hooked_realloc(void *p, size_t size) {
    int rec = hooks_enter();
    void *q = ta_realloc(p, size);
    if (rec) {
        if (p && size == 0) trace_put(trace_next_seq(), TA_TRACE_FREE, p, 0, 0);   /* freed, NULL */
        else if (q || !p) trace_put(trace_next_seq(), TA_TRACE_REALLOC, q, size, (uintptr_t)p);
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
    if (rec && rc == 0) trace_put(trace_next_seq(), TA_TRACE_ALIGNED, *out, size, alignment);
    return rc;
}

void *ta_hooked_aligned_alloc(size_t alignment, size_t size) {
    int rec = hooks_enter();
    void *p = ta_aligned_alloc(alignment, size);
    if (rec) trace_put(trace_next_seq(), TA_TRACE_ALIGNED, p, size, alignment);
    return p;
}

void *ta_hooked_memalign(size_t alignment, size_t size) {
    int rec = hooks_enter();
    void *p = ta_memalign(alignment, size);
    if (rec) trace_put(trace_next_seq(), TA_TRACE_ALIGNED, p, size, alignment);
    return p;
}
