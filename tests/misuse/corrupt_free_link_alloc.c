/* A use-after-free write over a freed block's first 16 bytes (its safe-linked list links), then an
 * allocation that takes that block: carving it unlinks it, and the link must fail verification
 * instead of being followed. (The next-fit search itself reads no links since the fit index: it
 * passes over blocks too small without touching them, so a corrupted link is caught when the list
 * next reads it: here the carve, in corrupt_free_link_free the coalescing free.) */
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
    void *x = misuse_alloc(64);   /* a fits exactly: the search takes it, the carve unlinks it */
    (void)x;
    return misuse_missed();
}
