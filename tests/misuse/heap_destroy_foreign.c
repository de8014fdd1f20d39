/* ta_heap_destroy of something that never was a heap: a pointer to the program's own memory. */
#include "tests/misuse/misuse.h"

static long not_a_heap[4];

int main(void) {
    misuse_expect(not_a_heap);
    ta_heap_destroy((ta_heap *)not_a_heap);
    return misuse_missed();
}
