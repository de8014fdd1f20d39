/* TAMALLOC_CHECK=2 (the runner sets it): a write into the middle of a freed block is caught when
 * the block is handed out again, and the report names the exact byte written. */
#include "tests/misuse/misuse.h"

int main(void) {
    char *p = misuse_alloc(256), *guard = misuse_alloc(16);
    misuse_fill_arena();
    ta_free(p);   /* the only free block: the rover */
    ((volatile char *)p)[128] = 1;
    (void)guard;
    misuse_expect(p + 128);
    void *q = misuse_alloc(256);   /* reuses p's block */
    (void)q;
    return misuse_missed();
}
