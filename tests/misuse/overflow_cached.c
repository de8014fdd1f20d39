/* An overflow into the next block's header, freed into the thread cache: the cache does not look at
 * neighbours, so the overflow is reported when the block goes back to the arena, here at the flush
 * of ta_collect (with TAMALLOC_CACHE=0, overflow_one_byte shows the report at the free itself). */
#include "tests/misuse/misuse.h"

int main(void) {
    char *p = misuse_alloc(24), *next = misuse_alloc(24);
    size_t n = ta_usable_size(p);
    ((volatile char *)p)[n] = 0x41;   /* the low byte of next's size word */
    (void)next;
    ta_free(p);   /* cached: not checked yet */
    misuse_expect(p);
    ta_collect();
    return misuse_missed();
}
