/* thread.c - the service thread: a pthread sleeping on a condition variable (monotonic clock)
 * between rounds, so that stopping it is immediate. See thread.h. */
#include "alloc/platform/thread.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "alloc/platform/atomic.h"

static pthread_mutex_t svc_ctl = PTHREAD_MUTEX_INITIALIZER;   /* serialises start and stop */
static pthread_mutex_t svc_mu = PTHREAD_MUTEX_INITIALIZER;    /* the thread's state below */
static pthread_cond_t svc_cv;
static int svc_cv_ready;            /* svc_cv initialised with the monotonic clock (under svc_mu) */
static pthread_t svc_tid;
static int svc_running;             /* a thread was started and not yet joined (under svc_mu) */
static int svc_stop;                /* the thread is asked to end (under svc_mu) */
static void (*svc_round)(void);
static unsigned svc_period_ms;
static ta_atomic_int a_svc_live;    /* ta_service_running() without the mutex */
static ta_atomic_u64 a_svc_rounds;
static ta_atomic_u64 a_svc_cpu_ns;  /* CPU time of threads that ended, plus the live one's so far */

static uint64_t svc_thread_cpu_ns(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void svc_deadline(struct timespec *ts, unsigned ms) {
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *svc_main(void *arg) {
    (void)arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    uint64_t cpu_before = svc_thread_cpu_ns();
    pthread_mutex_lock(&svc_mu);
    while (!svc_stop) {
        struct timespec until;
        svc_deadline(&until, svc_period_ms);
        while (!svc_stop && pthread_cond_timedwait(&svc_cv, &svc_mu, &until) != ETIMEDOUT) {}
        if (svc_stop) break;
        pthread_mutex_unlock(&svc_mu);
        svc_round();
        uint64_t cpu = svc_thread_cpu_ns();
        ta_atomic_add_relaxed(&a_svc_cpu_ns, cpu - cpu_before);
        cpu_before = cpu;
        ta_atomic_add_relaxed(&a_svc_rounds, (uint64_t)1);
        pthread_mutex_lock(&svc_mu);
    }
    pthread_mutex_unlock(&svc_mu);
    return NULL;
}

static void svc_init_cv_locked(void) {
    if (svc_cv_ready) return;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&svc_cv, &attr);
    pthread_condattr_destroy(&attr);
    svc_cv_ready = 1;
}

int ta_service_start(void (*round)(void), unsigned period_ms) {
    int saved = errno, rc = 0;
    pthread_mutex_lock(&svc_ctl);
    pthread_mutex_lock(&svc_mu);
    if (!svc_running) {
        svc_init_cv_locked();
        svc_round = round;
        svc_period_ms = period_ms ? period_ms : 1;
        svc_stop = 0;
        rc = pthread_create(&svc_tid, NULL, svc_main, NULL);
        if (rc == 0) {
            svc_running = 1;
            ta_atomic_store_relaxed(&a_svc_live, 1);
        }
    }
    pthread_mutex_unlock(&svc_mu);
    pthread_mutex_unlock(&svc_ctl);
    errno = saved;
    return rc;
}

void ta_service_stop(void) {
    int saved = errno;
    pthread_mutex_lock(&svc_ctl);   /* held across the join: no start can reset svc_stop meanwhile */
    pthread_mutex_lock(&svc_mu);
    if (!svc_running) {
        pthread_mutex_unlock(&svc_mu);
        pthread_mutex_unlock(&svc_ctl);
        return;
    }
    svc_stop = 1;
    pthread_cond_signal(&svc_cv);
    pthread_mutex_unlock(&svc_mu);
    pthread_join(svc_tid, NULL);
    pthread_mutex_lock(&svc_mu);
    svc_running = 0;
    pthread_mutex_unlock(&svc_mu);
    ta_atomic_store_relaxed(&a_svc_live, 0);
    pthread_mutex_unlock(&svc_ctl);
    errno = saved;
}

int ta_service_running(void) { return ta_atomic_load_relaxed(&a_svc_live); }
uint64_t ta_service_rounds(void) { return ta_atomic_load_relaxed(&a_svc_rounds); }
uint64_t ta_service_cpu_ns(void) { return ta_atomic_load_relaxed(&a_svc_cpu_ns); }

void ta_service_fork_child(void) {
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    svc_mu = fresh;   /* the parent's threads may have held them: the child starts over */
    svc_ctl = fresh;
    svc_cv_ready = 0;
    svc_running = 0;
    svc_stop = 0;
    ta_atomic_store_relaxed(&a_svc_live, 0);
}
