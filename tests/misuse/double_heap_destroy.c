/* ta_heap_destroy of a heap destroyed already (its slot serving a new heap meanwhile): the handle's
 * generation no longer matches; the report names the handle. */
#include "tests/misuse/misuse.h"

int main(void) {
    ta_heap *h = ta_heap_new();
    if (h == NULL || ta_heap_malloc(h, 100) == NULL) return 4;
    ta_heap_destroy(h);
    ta_heap *again = ta_heap_new();   /* most likely the same slot */
    if (again == NULL) return 4;
    misuse_expect(h);
    ta_heap_destroy(h);
    return misuse_missed();
}
