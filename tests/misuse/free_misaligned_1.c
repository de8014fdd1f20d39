/* ta_free(p + 1): not 16-aligned, so never a tamalloc pointer. */
#include "tests/misuse/misuse.h"

int main(void) {
    char *p = misuse_alloc(64);
    misuse_expect(p + 1);
    ta_free(p + 1);
    return misuse_missed();
}
