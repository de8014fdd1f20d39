/* fault.h - the single reporting path for misuse and heap corruption.
 * Contract: ta_fault() formats "tamalloc: <fault name> at <address>: <detail>" into a stack
 * buffer (it never allocates and takes no lock, so it works on a corrupted heap), writes it to the
 * allocator's stderr and aborts. Tests may install a handler that runs instead of abort(). */
#ifndef TA_FAULT_H
#define TA_FAULT_H

#include "alloc/platform/compiler.h"

enum ta_fault {
    TA_FAULT_DOUBLE_FREE = 1,    /* the block is already free (or queued to be freed) */
    TA_FAULT_INVALID_POINTER,    /* not a pointer tamalloc handed out */
    TA_FAULT_MISALIGNED_POINTER, /* not 16-byte aligned, so never a tamalloc pointer */
    TA_FAULT_INTERIOR_POINTER,   /* inside a tamalloc mapping but not at a block's start */
    TA_FAULT_CORRUPT_HEADER,     /* a header whose magic, size or state does not verify */
    TA_FAULT_USE_AFTER_FREE,     /* realloc or usable-size of a freed block */
    TA_FAULT_OVERFLOW,           /* the next block's header was overwritten */
    TA_FAULT_CORRUPT_LINK,       /* a free-list or remote-queue link that does not verify */
    TA_FAULT_REENTRY,            /* the allocator was re-entered while this thread held a lock */
    TA_FAULT_HEAP_CHECK,         /* TAMALLOC_CHECK=2: the arena failed its full check */
    TA_FAULT_INTERNAL,           /* a failed internal assertion */
    TA_FAULT_LOCK_RANK,          /* TA_DEBUG builds: locks taken against their rank order */
    TA_FAULT_INVALID_HEAP,       /* a ta_heap handle that is not a live heap (destroyed, or never one) */
    TA_FAULT_HEAP_MISMATCH,      /* ta_heap_realloc of a block that is not the heap's */
    TA_FAULT_COUNT_
};

/* Never returns: a test handler may leave by longjmp; if it returns, abort() follows. */
TA_HIDDEN TA_COLD TA_NOINLINE TA_NORETURN void ta_fault(enum ta_fault f, const void *addr, const char *detail);
TA_HIDDEN TA_COLD TA_NOINLINE TA_NORETURN void ta_fault_assert(const char *cond, const char *file, int line);
TA_HIDDEN const char *ta_fault_name(enum ta_fault f);
/* Test hook: handler runs before abort() (it may longjmp out); NULL restores plain abort(). */
TA_HIDDEN void ta_fault_set_handler(void (*fn)(enum ta_fault f, const void *addr, const char *msg));
/* Formats the report into buf (always NUL-terminated); returns its length. Pure: used by tests. */
TA_HIDDEN unsigned ta_fault_format(char *buf, unsigned cap, enum ta_fault f, const void *addr, const char *detail);

#endif
