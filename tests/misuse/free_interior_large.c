/* ta_free of an address inside a large (direct-mmap) block. */
#include "tests/misuse/misuse.h"

int main(void) {
    char *p = misuse_alloc(1 << 20);
    misuse_expect(p + 4096);
    ta_free(p + 4096);
    return misuse_missed();
}
