/* fault.c - formats and reports a fault without allocating, then aborts.
 * Relies only on ta_os_write_stderr; never touches heap state. */
#include "alloc/fault.h"

#include <stdint.h>
#include <stdlib.h>

#include "alloc/platform/os.h"

static void (*fault_handler)(enum ta_fault f, const void *addr, const char *msg);

static const char *const fault_names[TA_FAULT_COUNT_] = {
    [TA_FAULT_DOUBLE_FREE] = "double free",
    [TA_FAULT_INVALID_POINTER] = "invalid pointer (not allocated by tamalloc)",
    [TA_FAULT_MISALIGNED_POINTER] = "misaligned pointer (not allocated by tamalloc)",
    [TA_FAULT_INTERIOR_POINTER] = "interior pointer (not the start of a block)",
    [TA_FAULT_CORRUPT_HEADER] = "corrupted block header",
    [TA_FAULT_USE_AFTER_FREE] = "use after free",
    [TA_FAULT_OVERFLOW] = "heap overflow into the next block",
    [TA_FAULT_CORRUPT_LINK] = "corrupted free-list link",
    [TA_FAULT_REENTRY] = "allocator re-entered while it held a lock",
    [TA_FAULT_HEAP_CHECK] = "heap check failed",
    [TA_FAULT_INTERNAL] = "internal assertion failed",
    [TA_FAULT_LOCK_RANK] = "lock rank order violated",
    [TA_FAULT_INVALID_HEAP] = "invalid heap (destroyed, or not a ta_heap)",
    [TA_FAULT_HEAP_MISMATCH] = "block of another heap",
};

const char *ta_fault_name(enum ta_fault f) {
    return (f > 0 && f < TA_FAULT_COUNT_) ? fault_names[f] : "unknown fault";
}

void ta_fault_set_handler(void (*fn)(enum ta_fault, const void *, const char *)) { fault_handler = fn; }

static unsigned fault_put(char *buf, unsigned cap, unsigned at, const char *s) {
    while (s && *s && at + 1 < cap) buf[at++] = *s++;
    buf[at] = 0;
    return at;
}

static unsigned fault_put_hex(char *buf, unsigned cap, unsigned at, uintptr_t v) {
    char tmp[2 + 2 * sizeof v + 1];
    int n = 0;
    do { tmp[n++] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v);
    char out[sizeof tmp];
    unsigned k = 0;
    out[k++] = '0'; out[k++] = 'x';
    while (n > 0) out[k++] = tmp[--n];
    out[k] = 0;
    return fault_put(buf, cap, at, out);
}

unsigned ta_fault_format(char *buf, unsigned cap, enum ta_fault f, const void *addr, const char *detail) {
    unsigned at = fault_put(buf, cap, 0, "tamalloc: ");
    at = fault_put(buf, cap, at, ta_fault_name(f));
    at = fault_put(buf, cap, at, " at ");
    at = fault_put_hex(buf, cap, at, (uintptr_t)addr);
    if (detail && *detail) { at = fault_put(buf, cap, at, ": "); at = fault_put(buf, cap, at, detail); }
    return fault_put(buf, cap, at, "\n");
}

void ta_fault(enum ta_fault f, const void *addr, const char *detail) {
    char msg[256];
    unsigned len = ta_fault_format(msg, sizeof msg, f, addr, detail);
    if (fault_handler) fault_handler(f, addr, msg);
    else ta_os_write_stderr(msg, len);
    abort();
}

void ta_fault_assert(const char *cond, const char *file, int line) {
    char detail[160];
    unsigned at = fault_put(detail, sizeof detail, 0, cond);
    at = fault_put(detail, sizeof detail, at, " (");
    at = fault_put(detail, sizeof detail, at, file);
    at = fault_put(detail, sizeof detail, at, ":");
    char num[12]; int n = 0; unsigned v = (unsigned)line;
    do { num[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n > 0) { char c[2] = {num[--n], 0}; at = fault_put(detail, sizeof detail, at, c); }
    fault_put(detail, sizeof detail, at, ")");
    ta_fault(TA_FAULT_INTERNAL, 0, detail);
}
