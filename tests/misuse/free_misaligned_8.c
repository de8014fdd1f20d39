/* ta_free(p + 8): not 16-aligned, so never a tamalloc pointer. */
#include "tests/misuse/misuse.h"

int main(void) {
    char *p = misuse_alloc(64);
    misuse_expect(p + 8);
    ta_free(p + 8);
    return misuse_missed();
}
