/* Double free, immediately: the second ta_free finds the block already free. */
#include "tests/misuse/misuse.h"

int main(void) {
    void *p = misuse_alloc(32);
    ta_free(p);
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
