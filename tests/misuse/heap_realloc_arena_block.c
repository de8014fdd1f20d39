/* ta_heap_realloc(h, p) of a block of the thread's own arena (ta_malloc), not the heap's. */
#include "tests/misuse/misuse.h"

int main(void) {
    ta_heap *h = ta_heap_new();
    if (h == NULL) return 4;
    void *p = misuse_alloc(100);
    misuse_expect(p);
    void *q = ta_heap_realloc(h, p, 200);
    (void)q;
    return misuse_missed();
}
