/* Cross-thread double free, first freeing thread exited: main allocates p, thread A frees it and
 * exits; main allocates (which drains its remote queue, so p is really free now) and frees p
 * again. */
#include <pthread.h>

#include "tests/misuse/misuse.h"

static void *p;

static void *first(void *arg) {
    (void)arg;
    ta_free(p);
    return NULL;
}

int main(void) {
    p = misuse_alloc(64);
    void *guard = misuse_alloc(64);
    pthread_t a;
    pthread_create(&a, NULL, first, NULL);
    pthread_join(a, NULL);
    void *q = misuse_alloc(1000);   /* drains p from the queue */
    (void)guard; (void)q;
    misuse_expect(p);
    ta_free(p);
    return misuse_missed();
}
