/* boot_prog.c - the allocation paths around a program's start and end that a preloaded malloc must
 * survive, run by preload_boot_test.sh with and without LD_PRELOAD=libtamalloc.so:
 *   - threads started by a constructor, allocating while the rest of start-up runs;
 *   - the dynamic loader and libdl allocating: dlopen, dlsym, dlerror (its message is malloc'd),
 *     dlclose;
 *   - pthread internals: a thread-specific-data destructor that allocates and frees at thread exit
 *     (after tamalloc's own exit hook may have run), and pthread keys beyond glibc's first 32
 *     (their storage is calloc'd);
 *   - fork while other threads allocate: the child allocates and exits normally;
 *   - an atexit handler that allocates.
 * Prints a report that depends on nothing but the program, so the two runs must print the same. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CTOR_THREADS 4
#define CTOR_OPS 20000
static pthread_t ctor_threads[CTOR_THREADS];
static long ctor_sums[CTOR_THREADS];

static void *ctor_worker(void *arg) {
    long id = (long)arg, sum = 0;
    char *keep[16] = {0};
    for (int i = 0; i < CTOR_OPS; i++) {
        int k = (int)((i * 7 + id) % 16);
        if (keep[k]) { sum += keep[k][0]; free(keep[k]); }
        keep[k] = malloc((size_t)(16 + (i % 200) * 8));
        keep[k][0] = (char)(i % 100);
    }
    for (int k = 0; k < 16; k++) free(keep[k]);
    ctor_sums[id] = sum;
    return NULL;
}

__attribute__((constructor(101))) static void start_threads(void) {
    for (long i = 0; i < CTOR_THREADS; i++)
        if (pthread_create(&ctor_threads[i], NULL, ctor_worker, (void *)i) != 0) abort();
}

static pthread_key_t keys[40];
static int destructor_runs;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void key_destructor(void *v) {
    char *p = malloc(300);   /* allocating at thread exit */
    memcpy(p, v, 16);
    free(v);
    free(p);
    pthread_mutex_lock(&mu);
    destructor_runs++;
    pthread_mutex_unlock(&mu);
}

static void *key_worker(void *arg) {
    (void)arg;
    for (int k = 0; k < 40; k++) {
        char *v = malloc(64);
        strcpy(v, "thread value");
        pthread_setspecific(keys[k], v);
    }
    return NULL;
}

static volatile int churn_stop;
static void *churn(void *arg) {
    (void)arg;
    while (!churn_stop) free(malloc(128));
    return NULL;
}

static void at_exit_alloc(void) {
    char *p = strdup("atexit allocation");
    printf("%s ok\n", p);
    free(p);
}

int main(void) {
    long total = 0;
    for (int i = 0; i < CTOR_THREADS; i++) {
        pthread_join(ctor_threads[i], NULL);
        total += ctor_sums[i];
    }
    printf("constructor threads: %d x %d operations, checksum %ld\n", CTOR_THREADS, CTOR_OPS, total);

    void *h = dlopen("libm.so.6", RTLD_NOW);
    if (!h) { printf("dlopen failed: %s\n", dlerror()); return 1; }
    double (*cosp)(double) = (double (*)(double))dlsym(h, "cos");
    void *missing = dlsym(h, "no_such_symbol_here");
    const char *err = dlerror();
    printf("dlsym cos: %s, cos(0) = %.1f; missing symbol: %s, dlerror set: %s\n", cosp ? "found" : "missing",
           cosp ? cosp(0.0) : -1.0, missing ? "found" : "absent", err ? "yes" : "no");
    dlclose(h);

    for (int k = 0; k < 40; k++)
        if (pthread_key_create(&keys[k], key_destructor) != 0) return 1;
    pthread_t t[8];
    for (int i = 0; i < 8; i++) pthread_create(&t[i], NULL, key_worker, NULL);
    for (int i = 0; i < 8; i++) pthread_join(t[i], NULL);
    printf("thread-exit destructors that allocated: %d\n", destructor_runs);

    pthread_t c[2];
    for (int i = 0; i < 2; i++) pthread_create(&c[i], NULL, churn, NULL);
    int children_ok = 0;
    for (int i = 0; i < 20; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            char *p = malloc(1000);
            for (int k = 0; k < 1000; k++) free(malloc((size_t)(k + 1)));
            free(p);
            _exit(7);
        }
        int st;
        if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 7) children_ok++;
    }
    churn_stop = 1;
    for (int i = 0; i < 2; i++) pthread_join(c[i], NULL);
    printf("fork while allocating: %d of 20 children allocated and exited normally\n", children_ok);

    atexit(at_exit_alloc);
    return 0;
}
