/* Double free of a medium (64 KiB, arena) block. */
#include "tests/misuse/misuse.h"

int main(void) {
    void *p = misuse_alloc(64 << 10);
    void *guard = misuse_alloc(16);
    ta_free(p);
    (void)guard;
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
