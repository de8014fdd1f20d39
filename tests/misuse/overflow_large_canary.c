/* One byte written past the usable end of a large block hits its canary; ta_free names it. */
#include "tests/misuse/misuse.h"

int main(void) {
    char *p = misuse_alloc(200000);
    size_t n = ta_usable_size(p);
    ((volatile char *)p)[n] ^= 0x5a;
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
