/* A use-after-free write over the link of a block batched for a remote free: thread A frees two of
 * main's blocks (batched in A's cache, the newer one linked to the older), writes over the newer
 * one's link and exits (the batch is pushed with one CAS); main's next allocation drains the queue
 * and must reject the garbage link; the report names q, the block written after free. */
#include <pthread.h>
#include <string.h>

#include "tests/misuse/misuse.h"

static char *p, *q;

static void *first(void *arg) {
    (void)arg;
    ta_free(p);
    ta_free(q);
    memset(q, 0x41, 8);
    return NULL;
}

int main(void) {
    p = misuse_alloc(5000);   /* past the cache's sizes: main's next allocation drains its queue */
    q = misuse_alloc(5000);
    void *guard = misuse_alloc(5000);
    pthread_t a;
    pthread_create(&a, NULL, first, NULL);
    pthread_join(a, NULL);
    (void)guard;
    misuse_expect(q);
    void *x = misuse_alloc(6000);
    (void)x;
    return misuse_missed();
}
