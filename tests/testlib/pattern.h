/* pattern.h - fill a block with bytes derived from its address, size and a tag, and verify them,
 * so a test or stress suite detects any corruption of a live block before it frees it. */
#ifndef TA_TESTLIB_PATTERN_H
#define TA_TESTLIB_PATTERN_H

#include <stddef.h>
#include <stdint.h>

/* Writes n bytes at p; tag distinguishes owners (thread id, slot). */
void pattern_fill(void *p, size_t n, uint64_t tag);
/* Returns the offset of the first wrong byte, or (size_t)-1 when all n bytes are intact. */
size_t pattern_find_bad(const void *p, size_t n, uint64_t tag);
/* 1 when intact. */
static inline int pattern_ok(const void *p, size_t n, uint64_t tag) { return pattern_find_bad(p, n, tag) == (size_t)-1; }

#endif
