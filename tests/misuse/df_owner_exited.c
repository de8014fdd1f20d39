/* Cross-thread double free of a block whose owning thread has exited: thread A allocates p and
 * exits; main frees p (pushed to the orphaned arena, which the pusher drains); thread B frees p
 * again. */
#include <pthread.h>

#include "tests/misuse/misuse.h"

static void *p;

static void *owner(void *arg) {
    (void)arg;
    p = misuse_alloc(64);
    return NULL;
}

static void *second(void *arg) {
    (void)arg;
    misuse_expect(p);
    ta_free(p);
    return NULL;
}

int main(void) {
    pthread_t a, b;
    pthread_create(&a, NULL, owner, NULL);
    pthread_join(a, NULL);
    ta_free(p);
    pthread_create(&b, NULL, second, NULL);
    pthread_join(b, NULL);
    return misuse_missed();
}
