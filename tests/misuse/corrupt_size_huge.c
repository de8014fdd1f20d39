/* A size word overwritten with a value larger than the segment. */
#include "tests/misuse/misuse.h"

int main(void) {
    char *p = misuse_alloc(64), *guard = misuse_alloc(64);
    ((volatile size_t *)p)[-2] = (size_t)1 << 40;
    (void)guard;
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
