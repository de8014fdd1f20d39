/* ta_free of an address deep inside an arena's never-allocated free space: a wild pointer into
 * tamalloc's mapping, not a double free. */
#include "tests/misuse/misuse.h"

int main(void) {
    char *p = misuse_alloc(32);
    misuse_expect(p + (1 << 20));
    ta_free(p + (1 << 20));
    return misuse_missed();
}
