/* ta_free of a large block of a heap destroyed since (its own mapping, unmapped by the destroy). */
#include "tests/misuse/misuse.h"

int main(void) {
    ta_heap *h = ta_heap_new();
    if (h == NULL) return 4;
    void *p = ta_heap_malloc(h, (size_t)2 << 20);
    if (p == NULL) return 4;
    ta_heap_destroy(h);
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
