/* ta_usable_size of a freed block. */
#include "tests/misuse/misuse.h"

int main(void) {
    void *p = misuse_alloc(100), *guard = misuse_alloc(16);
    ta_free(p);
    (void)guard;
    misuse_expect(p);
    printf("%zu\n", ta_usable_size(p));
    return misuse_missed();
}
