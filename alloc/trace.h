/* trace.h - the drop-in's tooling hooks: TAMALLOC_TRACE (a binary record of every allocation call
 * made through the C library names) and the deferred TAMALLOC_HEAP_MAP request of SIGUSR2.
 *
 * The shim tests one word, ta_hooks, on every call: zero (the common case, after the first call)
 * costs one relaxed load and a not-taken branch; non-zero sends the call to a ta_hooked_* function
 * here, which services a pending heap-map request, calls the ta_* function and records it.
 * Relies on: tamalloc.h, options (the paths), platform os/tls/lock. Never allocates through malloc:
 * records go to per-thread buffers in mmap'd memory, written with write(2) when full, at thread exit
 * and at process exit. Layer 6 (beside the api*.c files; only the shim calls the hooked functions).
 *
 * File format (little-endian, host layout): a 16-byte header "TATRACE1" + u32 record size (40) +
 * u32 version (1), then ta_trace_rec records. Records of one thread are in order; across threads
 * the file is in chunks, so a reader sorts by seq. seq is taken before a free and after an
 * allocating call returns, so a free is ordered before any reuse of its address by another thread
 * (realloc, one record, is ordered by its return: see tools/replay.c for the rare overlap). */
#ifndef TA_TRACE_H
#define TA_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "alloc/platform/atomic.h"
#include "alloc/platform/compiler.h"

#define TA_TRACE_MAGIC "TATRACE1"
#define TA_TRACE_VERSION 1u

enum ta_trace_op {
    TA_TRACE_MALLOC = 1,    /* size */
    TA_TRACE_FREE = 2,      /* ptr (NULL frees are not recorded) */
    TA_TRACE_CALLOC = 3,    /* size = n * size */
    TA_TRACE_REALLOC = 4,   /* ptr = result, aux = old pointer, size */
    TA_TRACE_ALIGNED = 5,   /* size, aux = alignment (posix_memalign, aligned_alloc, memalign, valloc, pvalloc) */
};

typedef struct ta_trace_rec {
    uint64_t seq;       /* global order of the calls */
    uint64_t ptr;       /* the result of an allocating call (0: it failed), or the freed pointer */
    uint64_t size;      /* bytes asked for */
    uint64_t aux;       /* realloc: the old pointer; aligned: the alignment; else 0 */
    uint32_t thread;    /* kernel thread id of the caller */
    uint32_t op;        /* enum ta_trace_op */
} ta_trace_rec;
_Static_assert(sizeof(ta_trace_rec) == 40, "the trace record is 40 bytes");

enum {
    TA_HOOK_TRACE = 1,       /* TAMALLOC_TRACE is recording */
    TA_HOOK_HEAP_MAP = 2,    /* SIGUSR2 asked for a heap map */
    TA_HOOK_UNDECIDED = 4,   /* the first call has not read the options yet */
};
extern ta_atomic_int ta_hooks TA_HIDDEN;

static TA_ALWAYS_INLINE int ta_hooks_active(void) { return ta_atomic_load_relaxed(&ta_hooks) != 0; }

/* Async-signal-safe: asks the next hooked call to write the TAMALLOC_HEAP_MAP file. */
TA_HIDDEN void ta_hooks_request_heap_map(void);
/* Writes the TAMALLOC_HEAP_MAP file now (defined in api_heapmap.c). Returns 0 or -1. */
TA_HIDDEN int ta_heapmap_write_option_file(void);

/* The C library names' work when ta_hooks is non-zero. */
TA_HIDDEN void *ta_hooked_malloc(size_t size);
TA_HIDDEN void ta_hooked_free(void *p);
TA_HIDDEN void *ta_hooked_calloc(size_t n, size_t size);
TA_HIDDEN void *ta_hooked_realloc(void *p, size_t size);
TA_HIDDEN void *ta_hooked_reallocarray(void *p, size_t n, size_t size);
TA_HIDDEN int ta_hooked_posix_memalign(void **out, size_t alignment, size_t size);
TA_HIDDEN void *ta_hooked_aligned_alloc(size_t alignment, size_t size);
/* memalign, valloc and pvalloc (the shim computes the page alignment and size of the last two). */
TA_HIDDEN void *ta_hooked_memalign(size_t alignment, size_t size);

/* Writes every buffered record now (tests; also run at process exit). */
TA_HIDDEN void ta_trace_flush_all(void);

#endif
