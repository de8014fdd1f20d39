/* ta_free of the old pointer after ta_realloc moved the block (the realloc already freed it). */
#include "tests/misuse/misuse.h"

int main(void) {
    char *p = misuse_alloc(32), *guard = misuse_alloc(32);   /* guard: p cannot grow in place */
    char *q = ta_realloc(p, 4000);
    if (q == NULL || q == p) return 4;
    (void)guard;
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
