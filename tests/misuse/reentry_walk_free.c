/* ta_free of one of the thread's own blocks from a ta_heap_walk callback: re-entry. */
#include "tests/misuse/misuse.h"

static void *p;

static int visit(const ta_block_info *b, void *ctx) {
    (void)b; (void)ctx;
    ta_free(p);
    return 1;
}

int main(void) {
    p = misuse_alloc(32);
    ta_heap_walk(visit, NULL);
    return misuse_missed();
}
