/* A large block whose header tag was overwritten. */
#include "tests/misuse/misuse.h"

int main(void) {
    char *p = misuse_alloc(1 << 20);
    ((volatile uint64_t *)p)[-1] ^= (uint64_t)1 << 40;
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
