/* pattern.c - see pattern.h. Words are written where aligned, bytes at the ends. */
#include "tests/testlib/pattern.h"

static uint64_t pattern_word(uintptr_t addr, size_t n, uint64_t tag) {
    uint64_t x = (uint64_t)addr ^ ((uint64_t)n << 20) ^ (tag * 0x9e3779b97f4a7c15ULL);
    x ^= x >> 31; x *= 0xbf58476d1ce4e5b9ULL; x ^= x >> 29;
    return x;
}

static unsigned char pattern_byte(const unsigned char *p, size_t i, size_t n, uint64_t tag) {
    uintptr_t at = (uintptr_t)(p + i);
    return (unsigned char)(pattern_word(at & ~(uintptr_t)7, n, tag) >> ((at & 7) * 8));
}

void pattern_fill(void *p, size_t n, uint64_t tag) {
    unsigned char *b = p;
    size_t i = 0;
    for (; i < n && ((uintptr_t)(b + i) & 7); i++) b[i] = pattern_byte(b, i, n, tag);
    for (; i + 8 <= n; i += 8) *(uint64_t *)(b + i) = pattern_word((uintptr_t)(b + i), n, tag);
    for (; i < n; i++) b[i] = pattern_byte(b, i, n, tag);
}

size_t pattern_find_bad(const void *p, size_t n, uint64_t tag) {
    const unsigned char *b = p;
    size_t i = 0;
    for (; i < n && ((uintptr_t)(b + i) & 7); i++) if (b[i] != pattern_byte(b, i, n, tag)) return i;
    for (; i + 8 <= n; i += 8)
        if (*(const uint64_t *)(b + i) != pattern_word((uintptr_t)(b + i), n, tag)) {
            for (size_t k = i; k < i + 8; k++) if (b[k] != pattern_byte(b, k, n, tag)) return k;
        }
    for (; i < n; i++) if (b[i] != pattern_byte(b, i, n, tag)) return i;
    return (size_t)-1;
}
