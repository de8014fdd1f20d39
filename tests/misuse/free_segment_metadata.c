/* ta_free of an address inside a segment's own header (tamalloc's metadata, never a block). */
#include "tests/misuse/misuse.h"

int main(void) {
    char *p = misuse_alloc(32);
    char *seg = (char *)((uintptr_t)p & ~(MISUSE_SEGMENT_SIZE - 1));
    misuse_expect(seg + 64);
    ta_free(seg + 64);
    return misuse_missed();
}
