/* Double free of a block that was coalesced into its free predecessor: its header no longer
 * starts a block, yet the second free must be named a double free. */
#include "tests/misuse/misuse.h"

int main(void) {
    void *p = misuse_alloc(48), *q = misuse_alloc(48), *guard = misuse_alloc(48);
    ta_free(p);
    ta_free(q);   /* q merges into p */
    (void)guard;
    misuse_expect(q);
    ta_free(q);
    return misuse_missed();
}
