/* ta_free((void *)16): a wild, aligned address in the never-mapped first page. */
#include "tests/misuse/misuse.h"

int main(void) {
    void *volatile p = (void *)(uintptr_t)16;
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
