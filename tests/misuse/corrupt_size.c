/* A header whose size word was overwritten with another plausible block size. */
#include "tests/misuse/misuse.h"

int main(void) {
    char *p = misuse_alloc(64), *guard = misuse_alloc(64);
    ((volatile size_t *)p)[-2] = 96;   /* was 80 */
    (void)guard;
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
