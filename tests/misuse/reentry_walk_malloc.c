/* ta_malloc from a ta_heap_walk callback (which runs with the arena's lock held): reported as
 * re-entry, not a deadlock. The report names the lock, whose address the case cannot know. */
#include "tests/misuse/misuse.h"

static int visit(const ta_block_info *b, void *ctx) {
    (void)b; (void)ctx;
    void *q = ta_malloc(16);
    (void)q;
    return 1;
}

int main(void) {
    void *p = misuse_alloc(32);
    (void)p;
    ta_heap_walk(visit, NULL);
    return misuse_missed();
}
