/* shim/trace.c - TAMALLOC_TRACE recording (see trace.h for the format; hooks.c calls it).
 *
 * Buffers: TRACE_SLOTS slots of TRACE_SLOT_RECS records in one anonymous mapping (its pages are
 * touched only as threads use them). A thread claims a free slot at its first recorded call and
 * gives it back, flushed, at thread exit (the TLS exit hook); slot 0 is shared by threads that found
 * none free or that already exited. Each slot has a spin lock, taken by its owner per record (never
 * contended but by a flusher) and by flushers; the file itself is written under trace_write_lock,
 * one whole buffer per write(2). Nothing here calls malloc, so recording cannot recurse.
 * Lock order: slot lock, then trace_write_lock; neither is held while calling the allocator. */
#include "alloc/shim/trace.h"

#include <stdint.h>

#include "alloc/options.h"
#include "alloc/platform/atomic.h"
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

static ta_atomic_int trace_on;           /* 1 while records are kept (set by start, cleared by a
                                            write failure or in a forked child) */
static ta_atomic_size trace_seq;         /* next sequence number */
static ta_atomic_int trace_write_lock;
static int trace_fd = -1;                /* set before TA_HOOK_TRACE is published */
static trace_slot *trace_slots;          /* likewise */
static __thread trace_slot *trace_mine TA_TLS_IE;   /* this thread's slot, NULL before its first record */
static __thread int trace_thread_gone TA_TLS_IE;    /* its exit hook ran: use the shared slot */

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
        ta_atomic_store_relaxed(&trace_on, 0);
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

void ta_trace_put(uint64_t seq, enum ta_trace_op op, const void *ptr, size_t size, uintptr_t aux) {
    if (!ta_atomic_load_acquire(&trace_on)) return;
    trace_slot *s = trace_mine ? trace_mine : trace_claim();
    ta_trace_rec r = {seq, (uint64_t)(uintptr_t)ptr, size, aux, (uint32_t)ta_thread_id(), (uint32_t)op};
    spin_acquire(&s->a_lock);
    if (s->n == TRACE_SLOT_RECS) slot_flush_locked(s);
    s->rec[s->n++] = r;
    spin_release(&s->a_lock);
}

uint64_t ta_trace_next_seq(void) { return ta_atomic_add_relaxed(&trace_seq, (size_t)1); }

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
    ta_atomic_store_relaxed(&trace_on, 0);
    trace_fd = -1;
    for (unsigned i = 0; i < TRACE_SLOTS; i++) trace_slots[i].n = 0;
}

int ta_trace_start(void) {
    /* "%p" = the process id, so that programs that start others can be traced. */
    char path[TA_OPT_PATH_MAX + 64];
    int fd = ta_options_expand_path(ta_opt.trace, ta_os_pid(), path, sizeof path) == 0 ? ta_os_open_write(path) : -1;
    size_t bytes = ((sizeof(trace_slot) * TRACE_SLOTS) + 4095) & ~(size_t)4095;
    trace_slot *slots = fd >= 0 ? ta_os_map_aligned(bytes, ta_os_page_size()) : NULL;
    if (!slots) {
        static const char msg[] = "tamalloc: cannot start TAMALLOC_TRACE (open or map failed)\n";
        ta_os_write_stderr(msg, sizeof msg - 1);
        if (fd >= 0) ta_os_close(fd);
        return 0;
    }
    struct { char magic[8]; uint32_t rec_size, version; } header = {TA_TRACE_MAGIC, sizeof(ta_trace_rec), TA_TRACE_VERSION};
    if (ta_os_write_fd(fd, &header, sizeof header) != 0) { ta_os_close(fd); ta_os_unmap(slots, bytes); return 0; }
    trace_fd = fd;
    trace_slots = slots;
    ta_tls_set_exit_hook(trace_thread_exit);
    ta_atomic_store_release(&trace_on, 1);
    return 1;
}

void ta_trace_register_fork(void) {
    if (trace_slots) ta_os_atfork(NULL, NULL, trace_fork_child);
}

__attribute__((destructor)) static void trace_at_exit(void) { ta_trace_flush_all(); }
