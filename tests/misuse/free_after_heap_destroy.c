/* ta_free of a block of a heap destroyed since: its segment is unmapped, so the free finds no
 * tamalloc mapping and reports an invalid pointer naming the destroyed heap. */
#include "tests/misuse/misuse.h"

int main(void) {
    ta_heap *h = ta_heap_new();
    if (h == NULL) return 4;
    void *p = ta_heap_malloc(h, 64);
    void *keep = ta_heap_malloc(h, 64);
    if (p == NULL || keep == NULL) return 4;
    ta_heap_destroy(h);
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
