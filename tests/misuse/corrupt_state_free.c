/* A live block whose state bits were flipped from "used" to "free" (the key still verifies). The
 * block is not on the free list, so this is a corrupted header, not a double free. */
#include "tests/misuse/misuse.h"

int main(void) {
    char *p = misuse_alloc(64), *guard = misuse_alloc(64);
    volatile uint64_t *tag = &((volatile uint64_t *)p)[-1];
    *tag = (*tag & ~(uint64_t)15) | 2;
    (void)guard;
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
