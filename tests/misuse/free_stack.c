/* ta_free of a (16-aligned) stack address. */
#include "tests/misuse/misuse.h"

int main(void) {
    _Alignas(16) char buf[64];
    void *volatile p = buf + 16;
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
