/* Double free of a large (direct-mmap) block: the first free unmapped it, so the second finds no
 * mapping at all and must still be named a double free (tamalloc keeps a history of unmapped
 * large blocks). */
#include "tests/misuse/misuse.h"

int main(void) {
    void *p = misuse_alloc(1 << 20);
    ta_free(p);
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
