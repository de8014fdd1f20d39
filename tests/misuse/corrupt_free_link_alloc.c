/* A use-after-free write over a freed block's first 16 bytes (its safe-linked list links), then an
 * allocation whose next-fit search steps through that block: the link must fail verification
 * instead of being followed. */
#include <string.h>

#include "tests/misuse/misuse.h"

int main(void) {
    char *a = misuse_alloc(64), *g1 = misuse_alloc(64), *c = misuse_alloc(2000), *g2 = misuse_alloc(64);
    misuse_fill_arena();
    ta_free(a);   /* the list was empty: the rover is a */
    ta_free(c);   /* listed after a */
    memset(a, 0x41, 16);
    (void)g1; (void)g2;
    misuse_expect(a);
    void *x = misuse_alloc(1000);   /* a is too small: the search follows a's next link */
    (void)x;
    return misuse_missed();
}
