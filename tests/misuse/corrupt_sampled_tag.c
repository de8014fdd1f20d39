/* A heap-profile sample's header (TAMALLOC_PROF_SAMPLE=1) with one key bit flipped: it verifies
 * neither as USED nor as SAMPLED. */
#include "tests/misuse/misuse.h"

int main(void) {
    void *first = misuse_alloc(32);
    char *p = misuse_alloc(64), *guard = misuse_alloc(64);
    (void)first;
    ((volatile uint64_t *)p)[-1] ^= (uint64_t)1 << 40;
    (void)guard;
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
