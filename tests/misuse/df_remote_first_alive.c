/* Cross-thread double free, first freeing thread still alive: main allocates p, thread A frees it
 * (a remote free: p is queued for main's arena) and stays alive, then thread B frees p again. The
 * claim (USED -> QUEUED) happened before the push, so B's free is caught at once. */
#include <pthread.h>
#include <semaphore.h>

#include "tests/misuse/misuse.h"

static void *p;
static sem_t freed, never;

static void *first(void *arg) {
    (void)arg;
    ta_free(p);
    sem_post(&freed);
    sem_wait(&never);   /* alive until the process aborts */
    return NULL;
}

static void *second(void *arg) {
    (void)arg;
    misuse_expect(p);
    ta_free(p);
    return NULL;
}

int main(void) {
    sem_init(&freed, 0, 0);
    sem_init(&never, 0, 0);
    p = misuse_alloc(64);
    pthread_t a, b;
    pthread_create(&a, NULL, first, NULL);
    sem_wait(&freed);
    pthread_create(&b, NULL, second, NULL);
    pthread_join(b, NULL);
    return misuse_missed();
}
