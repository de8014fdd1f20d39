/* ta_free(p + 16) for a heap-profile sample p (TAMALLOC_PROF_SAMPLE=1): the "header" read there is
 * user data, neither USED nor SAMPLED. */
#include <string.h>

#include "tests/misuse/misuse.h"

int main(void) {
    void *first = misuse_alloc(32);
    char *p = misuse_alloc(4096);
    (void)first;
    memset(p, 0x5a, 4096);
    misuse_expect(p + 16);
    ta_free(p + 16);
    return misuse_missed();
}
