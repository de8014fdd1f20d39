/* ta_free of a block from another allocator's heap (the C library's malloc, which this program
 * keeps: it links //alloc:system_malloc). */
#include <string.h>

#include "tests/misuse/misuse.h"

int main(void) {
    void *p = malloc(64);
    if (p == NULL || ((uintptr_t)p & 15)) return 4;
    memset(p, 0, 64);
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
