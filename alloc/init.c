/* init.c - one-time initialisation, fork handlers, the TAMALLOC_STATS report and the TAMALLOC_PROF
 * heap profile at exit. */
#include "alloc/init.h"

#include "alloc/arena_table.h"
#include "alloc/background.h"
#include "alloc/cache.h"
#include "alloc/block.h"
#include "alloc/check.h"
#include "alloc/config.h"
#include "alloc/decay.h"
#include "alloc/fault.h"
#include "alloc/options.h"
#include "alloc/platform/atomic.h"
#include "alloc/platform/lock.h"
#include "alloc/platform/os.h"
#include "alloc/platform/tls.h"
#include "alloc/prof.h"
#include "alloc/segmap.h"
#include "alloc/stats.h"

ta_atomic_size ta_small_limit_a;
/* 1 once the threshold no longer follows the program: TAMALLOC_MMAP_THRESHOLD given (set at init),
 * or mallopt(M_MMAP_THRESHOLD) (ta_small_limit_fix). Never cleared. */
static ta_atomic_int small_limit_fixed;

enum { INIT_NONE = 0, INIT_RUNNING = 1, INIT_READY = 2 };
static ta_atomic_int init_state;
static ta_atomic_uptr init_owner;   /* ta_lock_self() of the initialising thread */

static void init_lock_fault(const ta_lock *l, int kind, const char *detail) {
    ta_fault(kind == TA_LOCK_FAULT_RANK ? TA_FAULT_LOCK_RANK : TA_FAULT_REENTRY, l, detail);
}

/* Fork takes every lock in rank order (cache registry, arena table, arenas, segmap, profiler) and gives them
 * back in reverse. */
static void init_fork_prepare(void) {
    ta_cache_fork_prepare();
    ta_arena_table_fork_prepare();
    ta_segmap_fork_prepare();
    ta_prof_fork_prepare();
}
static void init_fork_parent(void) {
    ta_prof_fork_parent();
    ta_segmap_fork_parent();
    ta_arena_table_fork_parent();
    ta_cache_fork_parent();
}
static void init_fork_child(void) {
    ta_prof_fork_child();
    ta_segmap_fork_child();
    ta_arena_table_fork_child();
    for (unsigned i = 0, n = ta_arena_table_count(); i < n; i++) {
        ta_arena *a = ta_arena_table_get(i);
        if (a) ta_decay_fork_child(a);   /* runs a vanished purging thread had out of the list */
    }
    ta_cache_fork_child();
    ta_background_fork_child();   /* the child has no purge thread until asked again */
}

/* Thread exit: the cache goes back first (it may free into the arena the thread still holds). */
static void init_thread_exit(void *arena) {
    ta_cache_thread_exit();
    if (arena) ta_decay_poll(arena);   /* give back what the arena no longer needs, once due */
    ta_arena_table_thread_exit(arena);
}

static void init_phase1(void) {
    ta_options_load();
    /* A descriptor only when a report to stderr was asked for (see ta_os_keep_stderr). */
    if (ta_opt.stats != TA_STATS_OFF && !ta_opt.stats_file[0]) ta_os_keep_stderr();
    ta_block_init_secrets(ta_os_random_secret());
    ta_lock_set_fault_handler(init_lock_fault);
    ta_segmap_init();
    ta_prof_init();
    unsigned arenas = ta_opt.arenas ? ta_opt.arenas : TA_ARENAS_PER_CPU * ta_os_cpu_count();
    ta_arena_table_init(arenas);
    /* TAMALLOC_TRACE: no cache, so that every call of the drop-in's malloc and free reaches the exit
     * that records it (api_fast.h). */
    ta_cache_init(ta_opt.cache && !ta_opt.trace[0], ta_opt.cache_bytes, ta_opt.decay_ms);
    ta_tls_init(init_thread_exit);
    if (ta_opt.check >= 2) ta_arena_full_check = ta_arena_check_or_fault_locked;
}

/* Raising and fixing race without a lock. A fix stores the flag, then its limit (release); a raise
 * reads the limit (acquire) before it reads the flag, so a raise that sees the fixed limit sees the
 * flag and stops. The one raise that can still land on a fixed limit is a compare-and-swap that
 * expected the very value the fix stored (the limit already had it): its success reads the fix's
 * store, so the flag is visible afterwards and the raise puts back the value it replaced. */
void ta_small_limit_follow(size_t usable) {
    if (usable >= TA_MMAP_THRESHOLD_MAX) return;
    size_t want = usable + 1, cur = ta_atomic_load_acquire(&ta_small_limit_a);
    for (;;) {
        if (cur == 0 || want <= cur || ta_atomic_load_relaxed(&small_limit_fixed)) return;
        if (ta_atomic_cas_strong_acq_rel(&ta_small_limit_a, &cur, want)) break;
    }
    if (ta_atomic_load_relaxed(&small_limit_fixed)) {
        size_t mine = want;
        ta_atomic_cas_strong_acq_rel(&ta_small_limit_a, &mine, cur);   /* fails only after a later fix */
    }
}

void ta_small_limit_fix(size_t limit) {
    ta_init();
    ta_atomic_store_relaxed(&small_limit_fixed, 1);
    ta_atomic_store_release(&ta_small_limit_a, limit);
}

void ta_init(void) {
    if (TA_LIKELY(ta_atomic_load_acquire(&init_state) == INIT_READY)) return;
    int expected = INIT_NONE;
    if (ta_atomic_cas_strong_acquire(&init_state, &expected, INIT_RUNNING)) {
        ta_atomic_store_relaxed(&init_owner, ta_lock_self());
        init_phase1();
        ta_atomic_store_relaxed(&small_limit_fixed, ta_opt.mmap_threshold_fixed);
        ta_atomic_store_release(&ta_small_limit_a, ta_opt.mmap_threshold);
        ta_atomic_store_release(&init_state, INIT_READY);
        ta_os_atfork(init_fork_prepare, init_fork_parent, init_fork_child);
        if (ta_opt.background && ta_background_set(1) != 0) {
            static const char msg[] = "tamalloc: TAMALLOC_BACKGROUND=1: the background purge thread could not be started\n";
            ta_os_write_stderr(msg, sizeof msg - 1);
        }
        return;
    }
    if (ta_atomic_load_relaxed(&init_owner) == ta_lock_self())
        ta_fault(TA_FAULT_REENTRY, 0, "allocation during tamalloc's own initialisation");
    while (ta_atomic_load_acquire(&init_state) != INIT_READY) ta_os_yield();
}

/* Initialise before main so that the duplicate of fd 2 (when the report goes to stderr) exists
 * even if the program closes fd 2 early. */
__attribute__((constructor)) static void init_at_load(void) {
    ta_init();
}

/* TAMALLOC_STATS_FILE: opened only now, so no descriptor is held while the program runs. Returns 0
 * when the whole report was written; otherwise says so on stderr, where the report then goes. */
static int init_write_stats_file(const char *buf, size_t len) {
    char path[TA_OPT_PATH_MAX + 64];
    int fd = -1;
    if (ta_options_expand_path(ta_opt.stats_file, ta_os_pid(), path, sizeof path) == 0) fd = ta_os_open_write(path);
    int rc = fd >= 0 ? ta_os_write_fd(fd, buf, len) : -1;
    if (fd >= 0) ta_os_close(fd);
    if (rc != 0) {
        static const char msg[] = "tamalloc: cannot write the TAMALLOC_STATS_FILE file; the report follows here\n";
        ta_os_write_stderr(msg, sizeof msg - 1);
    }
    return rc;
}

__attribute__((destructor)) static void init_at_exit(void) {
    if (ta_atomic_load_acquire(&init_state) != INIT_READY) return;
    ta_background_at_exit();   /* stopped and joined: its last round is in the report */
    ta_prof_at_exit();         /* TAMALLOC_PROF */
    if (ta_opt.stats == TA_STATS_OFF) return;
    char buf[16384];
    size_t len = ta_stats_format(buf, sizeof buf, ta_opt.stats == TA_STATS_JSON);
    if (ta_opt.stats_file[0] && init_write_stats_file(buf, len) == 0) return;
    ta_os_write_stderr(buf, len);
}
