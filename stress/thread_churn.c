/* thread_churn.c - thousands of short-lived threads (2000 at scale 1, in waves of 8) each allocate a
 * few dozen blocks, free some themselves, and hand the rest to two long-lived survivor threads that
 * never allocate (so their frees are always remote pushes):
 *   - "early" blocks: the thread waits until the survivors have freed them, then exits without
 *     touching the allocator again, so it exits with those frees still queued on its arena;
 *   - "late" blocks: handed over just before exit, freed while or after the thread dies, so they
 *     are pushed to an arena that may have no live thread left (the pusher must drain it).
 * After each wave the main thread (which never allocates) requires ta_get_stats().arenas to be at
 * most the configured count. At the end every arena must report no live thread and, after
 * ta_collect, nothing pending; then the closing invariant. */
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "stress/harness.h"

enum { SURVIVORS = 2, WAVE = 8, THREADS_TOTAL = 2000, BLOCKS = 24, OWN_FREES = 8, EARLY = 8, CHANNEL_CAPACITY = 1024 };

static stress_chan *survivor_in[SURVIVORS];
static atomic_uint *acked;   /* per churn thread: its blocks the survivors have freed */
static unsigned wave_base;   /* index of the current wave's first thread (written between waves) */
static atomic_uint exited_with_pending;   /* informational: threads that saw remote frees pending as they left */

static void survivor(unsigned index, void *arg) {
    (void)arg;
    size_t n = 0;
    stress_blk b;
    while (stress_chan_get(survivor_in[index], &b)) {
        unsigned owner = stress_tag_thread(b.tag);
        STRESS_REQUIRE(owner >= SURVIVORS, "survivor %u got a block tagged 0x%llx", index, (unsigned long long)b.tag);
        stress_blk_free(&b, "before a survivor's free");
        atomic_fetch_add_explicit(&acked[owner - SURVIVORS], 1, memory_order_release);
        n++;
    }
    stress_count_ops(n);
    stress_count_cross(n);
}

static void churn(unsigned index, void *arg) {
    (void)arg;
    unsigned id = wave_base + index, me = SURVIVORS + id;
    rng r = stress_rng(me);
    stress_blk b[BLOCKS];
    for (unsigned i = 0; i < BLOCKS; i++) {
        size_t n = rng_below(&r, 50) == 0 ? stress_size(&r, STRESS_LARGE_MIN, 200 * 1024) : stress_size(&r, 1, 8192);
        stress_blk_malloc(&b[i], n, stress_tag(me, i));
    }
    for (unsigned i = 0; i < OWN_FREES; i++) stress_blk_free(&b[i], "before the owner's free");
    for (unsigned i = OWN_FREES; i < OWN_FREES + EARLY; i++) stress_chan_put(survivor_in[i % SURVIVORS], &b[i]);
    while (atomic_load_explicit(&acked[id], memory_order_acquire) < EARLY) sched_yield();
    /* The early frees are queued on this thread's arena (unless a thread sharing it drained them):
     * look (stats do not drain), hand over the rest and exit at once. */
    ta_arena_stats as;
    size_t pending = 0;
    for (unsigned i = 0; ta_get_arena_stats(i, &as); i++) pending += as.remote_pending;
    if (pending) atomic_fetch_add(&exited_with_pending, 1);
    for (unsigned i = OWN_FREES + EARLY; i < BLOCKS; i++) stress_chan_put(survivor_in[i % SURVIVORS], &b[i]);
    stress_count_ops(BLOCKS + OWN_FREES);
}

int main(void) {
    stress_begin("thread_churn", 0xc4c4c4ULL);
    unsigned total = (unsigned)stress_ops(THREADS_TOTAL);
    if (STRESS_TSAN && total < 600) total = 600;   /* threads are cheap enough under TSan too */
    total = (total + WAVE - 1) / WAVE * WAVE;
    acked = calloc(total, sizeof *acked);
    STRESS_REQUIRE(acked != NULL, "out of memory");
    ta_arena_stats as;
    size_t configured = ta_get_arena_stats(0, &as);
    unsigned env_arenas = stress_env_arenas();
    if (env_arenas) STRESS_REQUIRE(configured == env_arenas, "TAMALLOC_ARENAS=%u but %zu arenas configured", env_arenas, configured);

    for (unsigned i = 0; i < SURVIVORS; i++) survivor_in[i] = stress_chan_new(CHANNEL_CAPACITY);
    stress_group *survivors = stress_group_start(SURVIVORS, survivor, NULL);
    size_t max_arenas = 0;
    for (wave_base = 0; wave_base < total; wave_base += WAVE) {
        stress_run_threads(WAVE, churn, NULL);
        ta_stats s;
        ta_get_stats(&s);
        STRESS_REQUIRE(s.arenas <= configured, "after %u threads: %zu arenas in use, %zu configured",
                       wave_base + WAVE, s.arenas, configured);
        if (s.arenas > max_arenas) max_arenas = s.arenas;
    }
    for (unsigned i = 0; i < SURVIVORS; i++) stress_chan_close(survivor_in[i]);
    stress_group_join(survivors);
    for (unsigned i = 0; i < SURVIVORS; i++) stress_chan_destroy(survivor_in[i]);
    for (unsigned t = 0; t < total; t++)
        STRESS_REQUIRE(acked[t] == BLOCKS - OWN_FREES, "thread %u: survivors freed %u of its %d handed-off blocks", t,
                       acked[t], BLOCKS - OWN_FREES);
    free(acked);

    ta_collect();
    for (unsigned i = 0; ta_get_arena_stats(i, &as); i++) {
        STRESS_REQUIRE(as.threads == 0, "arena %u still counts %zu live threads after every thread exited", i, as.threads);
        STRESS_REQUIRE(as.remote_pending == 0, "arena %u: %zu remote frees pending after ta_collect()", i,
                       as.remote_pending);
    }
    printf("thread_churn: %u short-lived threads (%u saw remote frees pending as they exited), at most %zu of %zu "
           "arenas in use\n", total, atomic_load(&exited_with_pending), max_arenas, configured);
    return stress_end();
}
