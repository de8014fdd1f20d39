/* ta_free((void *)1): a wild, misaligned address. */
#include "tests/misuse/misuse.h"

int main(void) {
    void *volatile p = (void *)(uintptr_t)1;
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
