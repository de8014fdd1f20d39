/* A header whose tag (the keyed magic) was overwritten: one key bit flipped, state bits intact. */
#include "tests/misuse/misuse.h"

int main(void) {
    char *p = misuse_alloc(64), *guard = misuse_alloc(64);
    ((volatile uint64_t *)p)[-1] ^= (uint64_t)1 << 40;
    (void)guard;
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
