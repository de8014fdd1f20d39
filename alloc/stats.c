/* stats.c - reads each arena's counters under its lock (one arena at a time) plus the large-block
 * atomics. The counters live on each arena's own cache lines, so the fast path writes no shared
 * line for statistics. */
#include "alloc/stats.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc/arena_table.h"
#include "alloc/cache.h"
#include "alloc/large.h"
#include "alloc/platform/thread.h"

/* Adds every block of a's free list to its size class (whole blocks, headers included). */
static void stats_sizes_locked(ta_arena *a, ta_stats_sizes *sizes) TA_REQUIRES(a->lock, a->fl) {
    for (ta_block *b = a->fl.head; b != NULL; b = ta_fl_next(b)) {
        size_t size = b->size;
        unsigned c = (unsigned)(63 - __builtin_clzll((unsigned long long)size)) - 5u;   /* size >= 32 */
        if (c >= TA_STATS_SIZE_CLASSES) c = TA_STATS_SIZE_CLASSES - 1;
        sizes->count[c]++;
        sizes->bytes[c] += size;
    }
}

static size_t stats_arena(unsigned index, ta_arena_stats *out, ta_stats_sizes *sizes) {
    unsigned n = ta_arena_table_count_all();   /* user heaps included, marked user */
    if (index >= n) return 0;
    memset(out, 0, sizeof *out);
    if (sizes) memset(sizes, 0, sizeof *sizes);
    out->index = index;
    ta_arena *a = ta_arena_table_get(index);
    if (!a) return n;
    out->in_use = 1;
    out->user = a->user != 0;
    out->threads = ta_atomic_load_relaxed(&a->a_threads);
    ta_arena_lock(a);
    /* runs decay has out of the list for a moment (a background round, another thread's tick) are
     * free memory, not the program's */
    out->allocated = a->allocated - (a->purging_size - a->purging_blocks * TA_HDR);
    out->free = a->fl.bytes + a->purging_size;
    out->free_blocks = a->fl.count + a->purging_blocks;
    out->segments = a->nsegments;
    out->mapped = a->nsegments * TA_SEGMENT_SIZE;
    out->remote_drained = ta_atomic_load_relaxed(&a->a_drained);
    out->lock_contended = a->lock.contended;
    out->lock_acquired = a->lock.acquired;
    out->purged = a->fl.purged;
    out->searches = a->fl.searches;
    out->search_steps = a->fl.steps;
    out->search_max_steps = a->fl.max_steps;
    out->dirty = a->fl.bytes >= a->fl.purged ? a->fl.bytes - a->fl.purged : 0;
    out->large_cached = a->lcache_bytes;
    out->remote_pushed = ta_atomic_load_relaxed(&a->remote.a_pushed);
    if (sizes) stats_sizes_locked(a, sizes);
    ta_arena_unlock(a);
    out->remote_pending = out->remote_pushed >= out->remote_drained ? out->remote_pushed - out->remote_drained : 0;
    /* The arena counts every block out of it; the caches' bins are not the user's. Frees batched in
     * an outbox, like those pushed to the queue, count until the owner drains them. Read after the
     * arena, a cache may have changed meanwhile: the figures are a snapshot of each. */
    ta_cache_totals ct;
    ta_cache_arena_totals(a, &ct);
    out->cached_blocks = ct.blocks;
    out->cached = ct.bytes;
    out->remote_batched = ct.batched;
    out->allocated = out->allocated >= out->cached ? out->allocated - out->cached : 0;
    return n;
}

size_t ta_stats_gather_arena(unsigned index, ta_arena_stats *out) { return stats_arena(index, out, NULL); }

size_t ta_stats_gather_arena_sizes(unsigned index, ta_arena_stats *out, ta_stats_sizes *sizes) {
    return stats_arena(index, out, sizes);
}

void ta_stats_gather(ta_stats *out) {
    ta_large_totals lt;
    ta_stats_gather_large(out, &lt);
}

void ta_stats_gather_large(ta_stats *out, ta_large_totals *lt) {
    memset(out, 0, sizeof *out);
    ta_arena_stats as;
    for (unsigned i = 0; ta_stats_gather_arena(i, &as); i++) {
        if (!as.in_use) continue;
        out->arenas++;
        out->allocated += as.allocated;
        out->free += as.free;
        out->free_blocks += as.free_blocks;
        out->mapped += as.mapped;
        out->remote_pushed += as.remote_pushed;
        out->remote_drained += as.remote_drained;
        out->cached += as.cached;
        out->remote_batched += as.remote_batched;
        out->purged += as.purged;
        out->dirty += as.dirty;
        out->cached_blocks += as.cached_blocks;
        out->searches += as.searches;
        out->search_steps += as.search_steps;
        if (as.search_max_steps > out->search_max_steps) out->search_max_steps = as.search_max_steps;
    }
    ta_large_get_totals(lt);
    out->allocated += lt->usable;
    out->large_allocated = lt->usable;
    out->mapped += lt->mapped;
    out->large_cached = lt->cached;
    out->background_rounds = (size_t)ta_service_rounds();
    out->background_cpu_ns = (size_t)ta_service_cpu_ns();
}

typedef struct stats_buf { char *buf; size_t cap, len; } stats_buf;

static void stats_put(stats_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void stats_put(stats_buf *b, const char *fmt, ...) {
    if (b->len + 1 >= b->cap) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n > 0) b->len = b->len + (size_t)n < b->cap ? b->len + (size_t)n : b->cap - 1;
}

size_t ta_stats_format(char *buf, size_t cap, int json) {
    stats_buf b = {buf, cap, 0};
    if (cap) buf[0] = 0;
    ta_stats t;
    ta_stats_gather(&t);
    if (json) {
        stats_put(&b, "{\"tamalloc\":{\"allocated\":%zu,\"free\":%zu,\"free_blocks\":%zu,\"mapped\":%zu,"
                      "\"large_allocated\":%zu,\"arenas\":%zu,\"remote_pushed\":%zu,\"remote_drained\":%zu,"
                      "\"remote_batched\":%zu,\"cached\":%zu,\"cached_blocks\":%zu,\"purged\":%zu,\"dirty\":%zu,"
                      "\"large_cached\":%zu,\"searches\":%zu,\"search_steps\":%zu,\"search_max_steps\":%zu,"
                      "\"background_rounds\":%zu,\"background_cpu_ns\":%zu,\"arena\":[",
                  t.allocated, t.free, t.free_blocks, t.mapped, t.large_allocated, t.arenas, t.remote_pushed, t.remote_drained,
                  t.remote_batched, t.cached, t.cached_blocks, t.purged, t.dirty, t.large_cached, t.searches, t.search_steps,
                  t.search_max_steps, t.background_rounds, t.background_cpu_ns);
    } else {
        stats_put(&b, "tamalloc stats: allocated %zu, free %zu in %zu blocks, mapped %zu, large %zu, arenas %zu, "
                      "remote pushed %zu drained %zu batched %zu, cached %zu in %zu blocks, purged %zu, dirty %zu, "
                      "kept for reuse %zu, searches %zu reading %zu steps (at most %zu), background purge %zu rounds "
                      "using %zu ns of CPU\n",
                  t.allocated, t.free, t.free_blocks, t.mapped, t.large_allocated, t.arenas, t.remote_pushed, t.remote_drained,
                  t.remote_batched, t.cached, t.cached_blocks, t.purged, t.dirty, t.large_cached, t.searches, t.search_steps,
                  t.search_max_steps, t.background_rounds, t.background_cpu_ns);
        stats_put(&b, "%5s %7s %12s %12s %9s %5s %10s %10s %8s %10s %10s %10s %9s\n", "arena", "threads", "allocated", "free",
                  "freeblk", "segs", "pushed", "drained", "pending", "contended", "acquired", "cached", "cachedblk");
    }
    ta_arena_stats as;
    int first = 1;
    for (unsigned i = 0; ta_stats_gather_arena(i, &as); i++) {
        if (!as.in_use) continue;
        if (json)
            stats_put(&b, "%s{\"index\":%u,\"threads\":%zu,\"allocated\":%zu,\"free\":%zu,\"free_blocks\":%zu,\"segments\":%zu,"
                          "\"remote_pushed\":%zu,\"remote_drained\":%zu,\"remote_pending\":%zu,\"lock_contended\":%zu,\"lock_acquired\":%zu,"
                          "\"remote_batched\":%zu,\"cached\":%zu,\"cached_blocks\":%zu,\"purged\":%zu,\"dirty\":%zu,"
                          "\"large_cached\":%zu,\"searches\":%zu,\"search_steps\":%zu,\"search_max_steps\":%zu}",
                      first ? "" : ",", as.index, as.threads, as.allocated, as.free, as.free_blocks, as.segments,
                      as.remote_pushed, as.remote_drained, as.remote_pending, as.lock_contended, as.lock_acquired,
                      as.remote_batched, as.cached, as.cached_blocks, as.purged, as.dirty, as.large_cached, as.searches,
                      as.search_steps, as.search_max_steps);
        else
            stats_put(&b, "%5u %7zu %12zu %12zu %9zu %5zu %10zu %10zu %8zu %10zu %10zu %10zu %9zu\n", as.index, as.threads,
                      as.allocated, as.free, as.free_blocks, as.segments, as.remote_pushed, as.remote_drained, as.remote_pending,
                      as.lock_contended, as.lock_acquired, as.cached, as.cached_blocks);
        first = 0;
    }
    if (json) stats_put(&b, "]}}\n");
    return b.len;
}
