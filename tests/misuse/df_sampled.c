/* Double free of a heap-profile sample (run with TAMALLOC_PROF_SAMPLE=1: every allocation after the
 * thread's first is sampled, state SAMPLED): the first free accounts it and frees it, the second
 * finds it freed. */
#include "tests/misuse/misuse.h"

int main(void) {
    void *first = misuse_alloc(32);   /* the thread's first allocation only sets the count */
    void *p = misuse_alloc(32);
    (void)first;
    ta_free(p);
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
