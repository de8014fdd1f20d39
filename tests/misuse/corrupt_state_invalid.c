/* A header whose state bits were flipped to a value no block ever has (the key still verifies). */
#include "tests/misuse/misuse.h"

int main(void) {
    char *p = misuse_alloc(64), *guard = misuse_alloc(64);
    volatile uint64_t *tag = &((volatile uint64_t *)p)[-1];
    *tag = (*tag & ~(uint64_t)15) | 7;
    (void)guard;
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
