/* ta_realloc of a freed (and unmapped) large block. */
#include "tests/misuse/misuse.h"

int main(void) {
    void *p = misuse_alloc(1 << 20);
    ta_free(p);
    misuse_expect(p);
    void *q = ta_realloc(p, 2 << 20);
    (void)q;
    return misuse_missed();
}
