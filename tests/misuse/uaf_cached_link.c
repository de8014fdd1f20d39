/* A use-after-free write over the safe-linked link word of a block in the thread cache: the next
 * allocation of that size pops the block, decodes its link, finds it pointing nowhere in this
 * thread's arena, and reports the block before handing anything out. */
#include <string.h>

#include "tests/misuse/misuse.h"

int main(void) {
    char *a = misuse_alloc(48), *b = misuse_alloc(48);
    ta_free(b);
    ta_free(a);   /* a is the bin's head; its link leads to b */
    memset(a, 0x41, 8);
    misuse_expect(a);
    void *x = misuse_alloc(48);
    (void)x;
    return misuse_missed();
}
