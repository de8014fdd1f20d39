/* TAMALLOC_CHECK=2 (the runner sets it): a write into the middle of a freed block is caught by the
 * full arena check that follows the next operation (the report names the arena checked). */
#include "tests/misuse/misuse.h"

int main(void) {
    char *p = misuse_alloc(256), *guard = misuse_alloc(16);
    ta_free(p);
    ((volatile char *)p)[128] = 1;
    (void)guard;
    void *q = misuse_alloc(32);
    (void)q;
    return misuse_missed();
}
