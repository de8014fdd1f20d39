/* A signal handler that calls ta_malloc while the interrupted code holds the arena lock (the
 * signal is raised from a heap-walk callback, so the lock is certainly held): reported as
 * re-entry instead of deadlocking (the runner's watchdog would catch a hang). */
#include <signal.h>
#include <string.h>

#include "tests/misuse/misuse.h"

static void on_usr1(int sig) {
    (void)sig;
    void *q = ta_malloc(16);
    (void)q;
}

static int visit(const ta_block_info *b, void *ctx) {
    (void)b; (void)ctx;
    raise(SIGUSR1);
    return 1;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    void *p = misuse_alloc(32);
    (void)p;
    ta_heap_walk(visit, NULL);
    return misuse_missed();
}
