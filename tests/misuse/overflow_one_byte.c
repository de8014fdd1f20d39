/* One byte written past ta_usable_size(p) lands in the next block's header; ta_free(p) checks
 * that header and names the overflow. */
#include "tests/misuse/misuse.h"

int main(void) {
    char *p = misuse_alloc(24), *next = misuse_alloc(24);
    size_t n = ta_usable_size(p);
    ((volatile char *)p)[n] = 0x41;   /* the low byte of next's size word (32) */
    (void)next;
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
