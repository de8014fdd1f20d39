/* ta_free of an aligned address beyond the user address space (a kernel-half pointer). */
#include "tests/misuse/misuse.h"

int main(void) {
    void *volatile p = (void *)(uintptr_t)0xffff888012345670ULL;
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
