/* A write over the header of a block in the thread cache (an overflow from the block before it):
 * the allocation that would pop it verifies the keyed tag first and reports the block. */
#include <string.h>

#include "tests/misuse/misuse.h"

int main(void) {
    char *a = misuse_alloc(48), *b = misuse_alloc(48);
    if (b != a + ta_usable_size(a) + 16) {   /* a refill carves its blocks side by side */
        fprintf(stderr, "setup: blocks not adjacent\n");
        return 4;
    }
    ta_free(b);   /* cached */
    memset(a + ta_usable_size(a), 0x41, 16);   /* over b's header */
    misuse_expect(b);
    void *x = misuse_alloc(48);
    (void)x;
    return misuse_missed();
}
