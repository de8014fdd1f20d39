/* ta_free of a (16-aligned) address in static data. */
#include "tests/misuse/misuse.h"

static _Alignas(16) char data[64];

int main(void) {
    void *volatile p = data + 16;
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
