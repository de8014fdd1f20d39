/* TAMALLOC_CHECK=2 (the runner sets it): two 128-byte blocks side by side are freed and coalesce;
 * a write into the start of the second (bytes the merge absorbed into the free block) is caught
 * when the free block is carved again, before the remainder's header and links overwrite them. */
#include "tests/misuse/misuse.h"

int main(void) {
    char *a = misuse_alloc(128), *b = misuse_alloc(128), *guard = misuse_alloc(16);
    if (b != a + ta_usable_size(a) + 16) {
        fprintf(stderr, "setup: blocks not adjacent\n");
        return 4;
    }
    misuse_fill_arena();   /* the merged block below becomes the only free block */
    ta_free(a);
    ta_free(b);   /* merges into a */
    ((volatile char *)b)[0] = 1;   /* 16 bytes past the merged block's own header and links */
    (void)guard;
    misuse_expect(b);
    void *q = misuse_alloc(128);   /* reuses a; the remainder would start at b's old header */
    (void)q;
    return misuse_missed();
}
