/* A use-after-free write over the link of a block waiting on a remote-free queue: thread A frees
 * main's block p (queued for main's arena) and then writes into it; main's next allocation drains
 * the queue and must reject the garbage link; the report names p, the block written after free. */
#include <pthread.h>
#include <string.h>

#include "tests/misuse/misuse.h"

static char *p;

static void *first(void *arg) {
    (void)arg;
    ta_free(p);
    memset(p, 0x41, 8);
    return NULL;
}

int main(void) {
    p = misuse_alloc(64);
    void *guard = misuse_alloc(64);
    pthread_t a;
    pthread_create(&a, NULL, first, NULL);
    pthread_join(a, NULL);
    (void)guard;
    misuse_expect(p);
    void *q = misuse_alloc(32);
    (void)q;
    return misuse_missed();
}
