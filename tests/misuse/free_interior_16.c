/* ta_free(p + 16) for a medium block p: the "header" read there is user data. */
#include <string.h>

#include "tests/misuse/misuse.h"

int main(void) {
    char *p = misuse_alloc(4096);
    memset(p, 0x5a, 4096);
    misuse_expect(p + 16);
    ta_free(p + 16);
    return misuse_missed();
}
