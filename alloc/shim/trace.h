/* shim/trace.h - TAMALLOC_TRACE: a binary record of every allocation call made through the C
 * library names (drop-in only: linked into tamalloc_override and libtamalloc.so, never :tamalloc).
 *
 * Never allocates through malloc: records go to per-thread buffers in mmap'd memory, written with
 * write(2) when full, at thread exit and at process exit, so recording cannot recurse.
 *
 * File format (little-endian, host layout): a 16-byte header "TATRACE1" + u32 record size (40) +
 * u32 version (1), then ta_trace_rec records. Records of one thread are in order; across threads
 * the file is in chunks, so a reader sorts by seq. seq is taken before a free and after an
 * allocating call returns, so a free is ordered before any reuse of its address by another thread
 * (realloc, one record, is ordered by its return: see tools/replay.c for the rare overlap). */
#ifndef TA_SHIM_TRACE_H
#define TA_SHIM_TRACE_H

#include <stddef.h>
#include <stdint.h>

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

/* Opens the TAMALLOC_TRACE file (ta_opt.trace, "%p" = pid) and the buffers; reports a failure on
 * stderr. Returns 1 when recording started. Called once, by the hooks' first call. */
TA_HIDDEN int ta_trace_start(void);
/* Registers the fork handler that stops recording in a child (pthread_atfork may allocate: call it
 * once the hooks are decided, so that allocation is served and recorded normally). */
TA_HIDDEN void ta_trace_register_fork(void);
/* The next sequence number (one relaxed fetch-add). */
TA_HIDDEN uint64_t ta_trace_next_seq(void);
/* Buffers one record; dropped once recording stopped (a write failed, or a forked child). */
TA_HIDDEN void ta_trace_put(uint64_t seq, enum ta_trace_op op, const void *ptr, size_t size, uintptr_t aux);
/* Writes every buffered record now (tests; also run at process exit). */
TA_HIDDEN void ta_trace_flush_all(void);

#endif
