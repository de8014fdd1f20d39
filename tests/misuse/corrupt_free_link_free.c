/* A use-after-free write over a freed block's links, then a free that inserts after it in the list
 * (reading its next link). */
#include <string.h>

#include "tests/misuse/misuse.h"

int main(void) {
    char *a = misuse_alloc(64), *g1 = misuse_alloc(64), *c = misuse_alloc(2000), *g2 = misuse_alloc(64);
    ta_free(a);
    memset(a, 0x41, 16);
    (void)g1; (void)g2;
    misuse_expect(a);
    ta_free(c);
    return misuse_missed();
}
