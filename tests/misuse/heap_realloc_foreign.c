/* ta_heap_realloc(h, p) of a block of another heap: p stays where it was, the call is reported. */
#include "tests/misuse/misuse.h"

int main(void) {
    ta_heap *h = ta_heap_new(), *other = ta_heap_new();
    if (h == NULL || other == NULL) return 4;
    void *p = ta_heap_malloc(other, 100);
    if (p == NULL || ta_heap_malloc(h, 100) == NULL) return 4;
    misuse_expect(p);
    void *q = ta_heap_realloc(h, p, 200);
    (void)q;
    return misuse_missed();
}
