/* ta_realloc of a freed block. */
#include "tests/misuse/misuse.h"

int main(void) {
    void *p = misuse_alloc(100), *guard = misuse_alloc(16);
    ta_free(p);
    (void)guard;
    misuse_expect(p);
    void *q = ta_realloc(p, 200);
    (void)q;
    return misuse_missed();
}
