/* tls.c - the TLS slot and the pthread key whose destructor reports thread exit. */
#include "alloc/platform/tls.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

__thread ta_tls_slot ta_tls TA_TLS_IE = {0, 0, 0};

static pthread_key_t tls_key;
static void (*tls_on_exit)(void *arena);
static void (*_Atomic tls_exit_hook)(void);

static void tls_destructor(void *value) {
    (void)value;
    void *arena = ta_tls.arena;
    ta_tls.exited = 1;
    ta_tls.registered = 0;
    ta_tls.arena = NULL;
    void (*hook)(void) = tls_exit_hook;
    if (hook) hook();
    if (tls_on_exit) tls_on_exit(arena);
}

int ta_tls_init(void (*on_thread_exit)(void *arena)) {
    tls_on_exit = on_thread_exit;
    return pthread_key_create(&tls_key, tls_destructor);
}

void ta_tls_set_exit_hook(void (*fn)(void)) { tls_exit_hook = fn; }

int ta_tls_register_exit(void) {
    if (ta_tls.registered) return 0;
    /* glibc keeps the first 32 keys' values inside the thread descriptor: no allocation here. */
    if (pthread_setspecific(tls_key, (void *)1) != 0) return -1;
    ta_tls.registered = 1;
    return 0;
}

uint64_t ta_thread_id(void) { return (uint64_t)syscall(SYS_gettid); }
