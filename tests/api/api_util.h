/* api_util.h - what the API tests share: cmocka's includes in the order it needs, an
 * address-independent byte pattern (for contents that move, as realloc's do) and errno checks.
 * API tests see only tamalloc.h and tests/testlib. */
#ifndef TA_TESTS_API_UTIL_H
#define TA_TESTS_API_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "tamalloc.h"

/* Byte i of a block tagged `tag`: the same wherever the block lives. */
static inline unsigned char seq_byte(size_t i, unsigned tag) {
    return (unsigned char)((i * 131u + (i >> 8) * 7u + tag * 29u + 1u) & 0xff);
}
static inline void seq_fill(void *p, size_t n, unsigned tag) {
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++) b[i] = seq_byte(i, tag);
}
/* Offset of the first byte that differs, or (size_t)-1. */
static inline size_t seq_find_bad(const void *p, size_t n, unsigned tag) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != seq_byte(i, tag)) return i;
    return (size_t)-1;
}
#define assert_seq_ok(p, n, tag) assert_int_equal(seq_find_bad((p), (n), (tag)), (size_t)-1)

/* 1 when all n bytes at p equal v. */
static inline int all_bytes(const void *p, size_t n, unsigned char v) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != v) return 0;
    return 1;
}
static inline int all_zero(const void *p, size_t n) { return all_bytes(p, n, 0); }

/* Asserts that expr yields NULL and sets errno to err (errno is cleared first). */
#define assert_null_errno(expr, err)                   \
    do {                                               \
        errno = 0;                                     \
        void *null_errno_p_ = (expr);                  \
        int null_errno_e_ = errno;                     \
        assert_null(null_errno_p_);                    \
        assert_int_equal(null_errno_e_, (err));        \
    } while (0)

#define assert_aligned(p, a) assert_int_equal((uintptr_t)(p) % (uintptr_t)(a), 0)
#define assert_heap_ok() assert_int_equal(ta_check(), 0)

#endif
