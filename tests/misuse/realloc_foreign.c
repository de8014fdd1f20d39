/* ta_realloc of another allocator's block. */
#include <string.h>

#include "tests/misuse/misuse.h"

int main(void) {
    void *p = malloc(64);
    if (p == NULL || ((uintptr_t)p & 15)) return 4;
    memset(p, 0, 64);
    misuse_expect(p);
    void *q = ta_realloc(p, 200);
    (void)q;
    return misuse_missed();
}
