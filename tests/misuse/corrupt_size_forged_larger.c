/* A size forged larger, still inside the segment (an attacker trying to make free() hand back a
 * block that overlaps its neighbours): the keyed tag does not verify for the new size. */
#include "tests/misuse/misuse.h"

int main(void) {
    char *p = misuse_alloc(64), *guard = misuse_alloc(64);
    ((volatile size_t *)p)[-2] += 4096;
    (void)guard;
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
