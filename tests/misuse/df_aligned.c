/* Double free of a block from ta_aligned_alloc (carved at an aligned offset of a free block). */
#include "tests/misuse/misuse.h"

int main(void) {
    void *p = ta_aligned_alloc(256, 100);
    if (p == NULL) return 4;
    ta_free(p);
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
