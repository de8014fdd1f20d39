/* decay.c - ticks that give free pages, empty segments and kept large mappings back to the OS (see
 * decay.h). Locking: one arena lock at a time; every system call (madvise, munmap) runs with no
 * lock held, on memory nobody else can reach meanwhile (runs taken off the free list, segments
 * unlinked, mappings removed from the cache). */
#include "alloc/decay.h"

#include "alloc/arena_table.h"
#include "alloc/config.h"
#include "alloc/options.h"
#include "alloc/platform/os.h"

/* ---------------------------------------------------------------------------------------------
 * Page bitmaps of a segment.
 * ------------------------------------------------------------------------------------------- */

static TA_ALWAYS_INLINE int page_bit(const uint64_t *map, uint32_t pg) { return (int)((map[pg >> 6] >> (pg & 63)) & 1); }
static TA_ALWAYS_INLINE void page_set(uint64_t *map, uint32_t pg) { map[pg >> 6] |= (uint64_t)1 << (pg & 63); }

/* The whole pages inside free block b, past its header and links: [*lo, *hi). 0 when none. */
static int decay_pages_of(ta_block *b, char **lo, char **hi) {
    uintptr_t from = ((uintptr_t)b + TA_POISON_SKIP + TA_PAGE - 1) & ~(uintptr_t)(TA_PAGE - 1);
    uintptr_t to = ((uintptr_t)b + b->size) & ~(uintptr_t)(TA_PAGE - 1);
    if (to <= from) return 0;
    *lo = (char *)from;
    *hi = (char *)to;
    return 1;
}

/* ---------------------------------------------------------------------------------------------
 * The tick.
 * ------------------------------------------------------------------------------------------- */

typedef struct decay_run { ta_block *b; char *lo, *hi; } decay_run;

/* Under the lock: chooses the free runs to give back and takes them off the free list. all (or a
 * decay time of 0, or an arena idle for a decay time): every run with a page not given back yet;
 * else runs of at least TA_PURGE_MIN_RUN whose resident free pages were candidates at the previous
 * tick (the rest become candidates). Returns the count. */
static size_t decay_pick_locked(ta_arena *a, int all, int idle, decay_run *runs) TA_REQUIRES(a->lock, a->fl) {
    size_t n = 0;
    int now_ok = ta_opt.decay_ms == 0 || idle;   /* free pages are old enough already */
    /* Only blocks that can hold a whole page (a run of TA_PURGE_MIN_RUN when pages must have aged),
     * in address order, through the fit index: a tick costs O(log n) per run it looks at, not a
     * walk over every free block. */
    size_t min_size = all || now_ok ? TA_PAGE + TA_ALIGN : TA_PURGE_MIN_RUN;
    ta_block *b = ta_fl_next_at_least_locked(&a->fl, NULL, min_size);
    while (b != NULL && n < TA_PURGE_MAX_BLOCKS) {
        ta_block *next = ta_fl_next_at_least_locked(&a->fl, b, min_size);   /* b may be taken below */
        char *lo, *hi;
        if (decay_pages_of(b, &lo, &hi)) {
            ta_segment *s = ta_segment_of(b);
            uint32_t p0 = ta_segment_page(lo), p1 = ta_segment_page(hi - 1) + 1;
            size_t ready = 0;
            for (uint32_t pg = p0; pg < p1; pg++) {
                if (page_bit(s->purged, pg)) continue;
                if (all || now_ok || page_bit(s->candidate, pg)) ready++;
                else page_set(s->candidate, pg);
            }
            if (ready && (all || now_ok || ready * TA_PAGE >= TA_PURGE_MIN_RUN)) {
                ta_arena_take_free_locked(a, b);
                runs[n].b = b;
                runs[n].lo = lo;
                runs[n].hi = hi;
                n++;
            }
        }
        b = next;
    }
    return n;
}

/* Under the lock: empty segments beyond the one kept, empty at the previous tick too (all: every
 * empty one; a decay time of 0: at the first tick), are unlinked for unmapping; the others age. */
static void decay_segments_locked(ta_arena *a, int all, int idle, ta_arena_unmap_list *out) TA_REQUIRES(a->lock, a->fl) {
    /* an arena no thread holds keeps none: its empty segments are nobody's reserve */
    size_t keep = all || ta_atomic_load_relaxed(&a->a_threads) == 0 ? 0 : TA_RETAIN_SEGMENTS;
    for (ta_segment *s = a->segments, *next; s; s = next) {
        next = s->next;
        ta_block *first = (ta_block *)s->start;
        if (!ta_segment_is_free_start(s, first) || !ta_segment_is_empty(first)) continue;
        if ((all || idle || ta_opt.decay_ms == 0 || s->empty_ticks >= 1) && a->empty_segments > keep)
            ta_arena_drop_empty_locked(a, s, out);
        else s->empty_ticks++;
    }
}

/* Under the lock: kept large mappings older than the decay time (all: every one) are removed;
 * returns how many were put in out[]. */
static unsigned decay_large_locked(ta_arena *a, int all, uint64_t now, ta_large **out) TA_REQUIRES(a->lock, a->fl) {
    unsigned n = 0;
    for (unsigned i = 0; i < a->lcache_n;) {
        if (all || now - a->lcache_ms[i] >= ta_opt.decay_ms) {
            out[n++] = a->lcache[i];
            a->lcache_bytes -= a->lcache[i]->map_size;
            a->lcache_n--;
            a->lcache[i] = a->lcache[a->lcache_n];
            a->lcache_ms[i] = a->lcache_ms[a->lcache_n];
        } else {
            i++;
        }
    }
    return n;
}

static size_t decay_pass(ta_arena *a, int all, int try_only);

/* The arena whose runs this thread has out of the list (PURGING) right now, else NULL: a fork from
 * a signal handler that interrupted the pass leaves them to the pass, which goes on in the child. */
static __thread const ta_arena *decay_busy TA_TLS_IE;

void ta_decay_fork_child(ta_arena *a) {
    if (a->purging_blocks && decay_busy != a) ta_arena_recover_purging(a);
}

/* A tick of arena a: passes until no due run is left (each takes at most TA_PURGE_MAX_BLOCKS), so
 * what is due goes back at once, not a slice per tick. try_only: only while its lock is free. */
static void decay_drain(ta_arena *a, int all, int try_only) {
    while (decay_pass(a, all, try_only) == TA_PURGE_MAX_BLOCKS) {}
}

/* Ticks, by trylock, every arena other than self whose tick is due. Unless busy_too, only those
 * with nobody to run their ticks: no live thread, or threads that have made no arena operation for
 * a decay time (idle, or served from their caches alone); a busy arena ticks itself. */
static void decay_others(const ta_arena *self, uint64_t now, int busy_too) {
    unsigned n = ta_arena_table_count();
    for (unsigned i = 0; i < n; i++) {
        ta_arena *o = ta_arena_table_get(i);
        if (!o || o == self || now < ta_atomic_load_relaxed(&o->a_next_tick_ms)) continue;
        if (!busy_too && ta_atomic_load_relaxed(&o->a_threads) != 0 &&
            now - ta_atomic_load_relaxed(&o->a_clock_ms) < ta_opt.decay_ms)
            continue;
        decay_drain(o, 0, 1);
    }
}

void ta_decay_tick(ta_arena *a, int all) {
    decay_drain(a, all, 0);
    if (!all) decay_others(a, ta_os_now_ms(), 0);
}

void ta_decay_background_round(void) { decay_others(NULL, ta_os_now_ms(), 1); }

void ta_decay_tick_idle_others(void) { decay_others(NULL, ta_os_now_ms(), 0); }

/* One pass (try_only: only if the lock is free at once); returns how many free runs it gave back. */
static size_t decay_pass(ta_arena *a, int all, int try_only) {
    decay_run runs[TA_PURGE_MAX_BLOCKS];
    ta_large *large[TA_LARGE_CACHE_SLOTS];
    ta_arena_unmap_list out = {NULL};
    int purge = ta_opt.check < 2;   /* level 2 keeps free bytes as poison: nothing is given back */
    uint64_t now = ta_os_now_ms();
    if (try_only) {
        if (!ta_arena_trylock(a)) return 0;
    } else {
        ta_arena_lock(a);
    }
    /* idle: flagged by the arena's own operations, or no operation for a decay time (an arena no
     * thread holds, ticked by another) */
    uint64_t clock = ta_atomic_load_relaxed(&a->a_clock_ms);
    int idle = ta_atomic_load_relaxed(&a->a_tick_due) == 2 || now - clock >= ta_opt.decay_ms;
    ta_atomic_store_relaxed(&a->a_tick_due, 0);
    /* The next tick a decay time from now, or sooner: when the arena will have been idle for a
     * decay time if no operation comes (its last clock read + the decay time), so memory freed just
     * before an arena goes quiet goes back a decay time after, not nearly two. */
    uint64_t next = now + ta_opt.decay_ms;
    if (!idle && clock + ta_opt.decay_ms < next) next = clock + ta_opt.decay_ms;
    ta_atomic_store_relaxed(&a->a_next_tick_ms, next);
    /* An idle arena's queued remote frees would wait for its owner's next call: they are free
     * memory, so the tick drains them first (a busy owner drains its own). */
    if (idle) ta_arena_drain_all_locked(a);
    unsigned nlarge = decay_large_locked(a, all, now, large);
    decay_segments_locked(a, all, idle, &out);
    size_t nruns = purge ? decay_pick_locked(a, all, idle, runs) : 0;
    if (nruns) decay_busy = a;
    ta_arena_unlock(a);

    ta_arena_unmap_all(&out);
    for (unsigned i = 0; i < nlarge; i++) ta_large_unmap(large[i]);
    if (nruns == 0) return 0;
    for (size_t i = 0; i < nruns; i++) ta_os_purge(runs[i].lo, (size_t)(runs[i].hi - runs[i].lo));

    ta_arena_lock(a);
    for (size_t i = 0; i < nruns; i++) {
        ta_segment *s = ta_segment_of(runs[i].b);
        uint32_t p0 = ta_segment_page(runs[i].lo), p1 = ta_segment_page(runs[i].hi - 1) + 1;
        for (uint32_t pg = p0; pg < p1; pg++) {
            if (!page_bit(s->purged, pg)) a->fl.purged += TA_PAGE;
            page_set(s->purged, pg);
            s->candidate[pg >> 6] &= ~((uint64_t)1 << (pg & 63));
        }
        ta_arena_put_back_locked(a, runs[i].b);
    }
    decay_busy = NULL;
    ta_arena_unlock(a);
    return nruns;
}

/* ---------------------------------------------------------------------------------------------
 * Kept large mappings.
 * ------------------------------------------------------------------------------------------- */

/* Counts n more events in w at now; 1 when a whole cache's worth (TA_LARGE_CACHE_SLOTS) came
 * within one decay period: mapped blocks of this size churn, and the mmap threshold follows. */
static int churn_count(ta_churn_window *w, uint64_t now, size_t n) {
    if (now - ta_atomic_load_relaxed(&w->a_start_ms) > ta_opt.decay_ms) {
        ta_atomic_store_relaxed(&w->a_start_ms, now);
        ta_atomic_store_relaxed(&w->a_n, 0);
    }
    return ta_atomic_add_relaxed(&w->a_n, n) + n >= TA_LARGE_CACHE_SLOTS;
}

int ta_decay_large_put(ta_arena *a, ta_large *l) {
    ta_large *evict[TA_LARGE_CACHE_SLOTS + 1];
    unsigned nevict = 0;
    int full = 0;
    uint64_t now = ta_os_now_ms();
    ta_arena_lock(a);
    if (ta_opt.decay_ms == 0 || l->map_size > TA_LARGE_CACHE_BYTES) {
        evict[nevict++] = l;   /* not kept at all */
    } else {
        /* Make room, oldest first: a slot, and the byte bound. */
        while (a->lcache_n > 0 && (a->lcache_n == TA_LARGE_CACHE_SLOTS || a->lcache_bytes + l->map_size > TA_LARGE_CACHE_BYTES)) {
            unsigned old = 0;
            for (unsigned i = 1; i < a->lcache_n; i++)
                if (a->lcache_ms[i] < a->lcache_ms[old]) old = i;
            evict[nevict++] = a->lcache[old];
            a->lcache_bytes -= a->lcache[old]->map_size;
            a->lcache_n--;
            a->lcache[old] = a->lcache[a->lcache_n];
            a->lcache_ms[old] = a->lcache_ms[a->lcache_n];
        }
        /* churn: a whole cache's worth pushed out within one decay period */
        if (nevict) full = churn_count(&a->lcache_churn, now, nevict);
        a->lcache[a->lcache_n] = l;
        a->lcache_ms[a->lcache_n] = now;
        a->lcache_n++;
        a->lcache_bytes += l->map_size;
    }
    ta_arena_unlock(a);
    for (unsigned i = 0; i < nevict; i++) ta_large_unmap(evict[i]);
    ta_decay_poll(a);   /* a slow path: tick when due */
    return full;
}

/* Mapped blocks freed by threads without an arena, unmapped at once: counted like the pushes out of
 * a full cache, process-wide. */
static ta_churn_window unkept_churn;

int ta_decay_large_unkept(void) { return churn_count(&unkept_churn, ta_os_now_ms(), 1); }

ta_large *ta_decay_large_take(ta_arena *a, size_t map_size, size_t align) {
    size_t most = map_size + ta_large_slack(map_size);
    ta_large *got = NULL;
    ta_arena_lock(a);
    /* the distance of a mapping from the need: 0 when it fits as it is, else the bytes to unmap or
     * to grow by (a resize is one system call; a fresh mapping is one, plus a fault per page) */
    unsigned best = a->lcache_n;
    size_t best_dist = SIZE_MAX;
    for (unsigned i = 0; i < a->lcache_n; i++) {
        ta_large *l = a->lcache[i];
        if (((uintptr_t)l & (align - 1)) || l->map_size < map_size / 2) continue;   /* grown at most twofold */
        size_t dist = l->map_size < map_size ? map_size - l->map_size
                    : l->map_size > most ? l->map_size - map_size : 0;
        if (dist < best_dist || (dist == 0 && l->map_size < a->lcache[best]->map_size)) {
            best = i;
            best_dist = dist;
        }
    }
    if (best < a->lcache_n) {
        got = a->lcache[best];
        a->lcache_bytes -= got->map_size;
        a->lcache_n--;
        a->lcache[best] = a->lcache[a->lcache_n];
        a->lcache_ms[best] = a->lcache_ms[a->lcache_n];
    }
    ta_arena_unlock(a);
    return got;
}
