/* A write over the header of a block in the thread cache (an overflow from the block before it):
 * the pop does not recompute the keyed tag (it checks the link and flips the state bits), so the
 * block is handed out again; its header still does not verify, and its free reports it. */
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
    char *x = misuse_alloc(48);
    if (x != b) {   /* the bin's head: the block just freed */
        fprintf(stderr, "setup: the cached block was not handed out again\n");
        return 4;
    }
    misuse_expect(x);
    ta_free(x);
    return misuse_missed();
}
