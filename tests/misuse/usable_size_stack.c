/* ta_usable_size of a stack address. */
#include "tests/misuse/misuse.h"

int main(void) {
    _Alignas(16) char buf[64];
    void *volatile p = buf + 16;
    misuse_expect(p);
    printf("%zu\n", ta_usable_size(p));
    return misuse_missed();
}
