/* Double free after other frees and an allocation: the block's header still says free. */
#include "tests/misuse/misuse.h"

int main(void) {
    void *p = misuse_alloc(48), *g1 = misuse_alloc(48), *q = misuse_alloc(48), *g2 = misuse_alloc(48);
    void *r = misuse_alloc(200);
    ta_free(p);
    ta_free(q);
    ta_free(r);
    void *s = misuse_alloc(1000);   /* larger than p's block: cannot reuse it */
    ta_free(s);
    (void)g1; (void)g2;
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
