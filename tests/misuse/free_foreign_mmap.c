/* ta_free of an address in a mapping tamalloc did not make. */
#include <sys/mman.h>

#include "tests/misuse/misuse.h"

int main(void) {
    char *m = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return 4;
    misuse_expect(m + 4096);
    ta_free(m + 4096);
    return misuse_missed();
}
