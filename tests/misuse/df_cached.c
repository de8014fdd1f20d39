/* Double free of a block in the thread cache: the first ta_free puts it in the caller's cache
 * (state CACHED, checked through the stats), the second finds that state and names the double free. */
#include "tests/misuse/misuse.h"

int main(void) {
    void *p = misuse_alloc(48);
    ta_stats before, after;
    ta_get_stats(&before);
    ta_free(p);
    ta_get_stats(&after);
    if (after.cached_blocks != before.cached_blocks + 1) {
        fprintf(stderr, "setup: the freed block did not go to the thread cache\n");
        return 4;
    }
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
