/* cache.h - the per-thread cache in front of the arenas (as glibc's tcache sits in front of its
 * arenas): the common malloc pops a block from the thread's bin and the common free pushes it back,
 * with no lock and no atomic read-modify-write. The arena behind it stays next-fit and coalescing
 * and is reached in batches: a refill carves several adjacent blocks from one next-fit search, a
 * flush returns half a bin under one lock, and frees of other arenas' blocks are batched per owner
 * and pushed to its remote queue with one compare-and-swap.
 *
 *   ta_cache (initial-exec TLS, zero at thread start = every bin empty, every limit 0)
 *   +------------------------------+
 *   | bins[i]: head -> blk -> blk  |  blocks of exactly i * 16 bytes, state CACHED, newest first,
 *   |          count, limit        |  each link safe-linked in the block's first payload word
 *   | arena                        |  the thread's arena: only its blocks are cached
 *   | out[j]: owner, head..tail, n |  claimed (QUEUED) blocks of another arena, waiting for a push
 *   +------------------------------+
 *
 * Invariants: every block on bins[i] has size i * TA_ALIGN, state CACHED, and lies in a segment of
 *   c->arena; bins[i].count is the length of its list and <= lim[i], the bin's limit now (a_limit
 *   holds it; another thread's ta_collect may lower a_limit to 0, which sends the next free to the
 *   slow path, where the bin is flushed); the limits' bytes, sum of lim[i] * i * TA_ALIGN, plus
 *   room, are the thread's budget (TAMALLOC_CACHE_BYTES), so the blocks a thread caches never
 *   exceed it; out[j] holds a chain of count (< TA_OUTBOX_BATCH) QUEUED
 *   blocks of owner, or owner == NULL and nothing; an owner with no live thread is never batched
 *   for (its frees are pushed and drained at once, as without the cache). Only the owning thread touches heads, links and
 *   outboxes; counts and limits are relaxed atomics because stats and ta_collect read and write them
 *   from other threads.
 * A thread without a cache yet (or with the cache off: TAMALLOC_CACHE=0, TAMALLOC_CHECK=2, thread
 * exit) has empty bins and zero limits, so both fast paths fall into their _slow functions without
 * an extra branch. */
#ifndef TA_CACHE_H
#define TA_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "alloc/arena.h"
#include "alloc/block.h"
#include "alloc/config.h"
#include "alloc/platform/atomic.h"
#include "alloc/platform/compiler.h"
#include "alloc/platform/unwind.h"
#include "alloc/remote.h"

typedef struct ta_cache_bin {
    ta_block *head;          /* newest cached block, NULL when empty; owner thread only */
    ta_atomic_u32 a_count;   /* blocks on the list; written by the owner, read by stats */
    ta_atomic_u32 a_limit;   /* free pushes while count < limit; 0 before set-up and after a
                                ta_collect request (the owner restores it in its slow path) */
} ta_cache_bin;

typedef struct ta_outbox {
    _Atomic(ta_arena *) a_owner;   /* arena the chain goes to; NULL when empty (read by stats) */
    ta_block *head;                /* most recently added block; links lead to tail */
    ta_block *tail;                /* first added; its link is set when the chain is pushed */
    ta_atomic_u32 a_count;         /* blocks in the chain, < TA_OUTBOX_BATCH (read by stats) */
    ta_block *recent[TA_REMOTE_AHEAD];   /* block i of the chain at [i % TA_REMOTE_AHEAD]: the
                                            look-ahead hint of block i + TA_REMOTE_AHEAD */
} ta_outbox;

enum ta_cache_state {
    TA_CACHE_NEW = 0,        /* not set up yet (zero TLS) */
    TA_CACHE_ON = 1,         /* registered, bins in use */
    TA_CACHE_OFF = 2,        /* the cache is off, or the thread is exiting: everything goes to the arena */
};

typedef struct ta_cache {
    ta_cache_bin bins[TA_CACHE_BINS];
    ta_arena *arena;         /* the thread's arena (NULL until its first allocation) */
    int state;               /* enum ta_cache_state; owner only */
    ta_atomic_int a_flush;   /* set by another thread's ta_collect: flush at the next slow path */
    ta_outbox out[TA_OUTBOX_SLOTS];   /* remote frees batched per owning arena (index % slots) */
    uint16_t fill[TA_CACHE_BINS];     /* blocks the bin's next refill caches: starts small, doubles
                                         per refill up to half its limit (owner only) */
    uint16_t lim[TA_CACHE_BINS];      /* the bin's limit now (owner only; a_limit holds it, except
                                         while a collect request holds a_limit at 0): it starts at
                                         the bin's start share, doubles at an overflow that follows
                                         a refill (the bin's blocks are reused), and halves back at
                                         a scavenge that finds the bin untouched */
    uint8_t refills[TA_CACHE_BINS];   /* refills of the bin since its last overflow, at most 255
                                         (owner only) */
    uint16_t run_cls, run_len;        /* the bin of the last allocations an inactive larger bin
                                         served uncached, and how many in a row (owner only) */
    uint64_t touched[(TA_CACHE_BINS + 63) / 64];    /* bit per bin: refilled or overflowed since the
                                                       last scavenge */
    size_t room;                      /* budget bytes that no bin's limit holds yet (owner only) */
    size_t large_room;                /* of those, what the bins past TA_CACHE_SMALL_BLOCK may still
                                         take: their limits together stay within a
                                         TA_CACHE_LARGE_PART of the budget (owner only) */
    uint64_t scavenge_ms;             /* the next scavenge, by the monotonic clock (owner only) */
    int32_t tick_countdown;  /* cached frees until the next clock read (ta_cache_tick_slow): light
                                traffic served from the bins alone still ticks decay; owner only */
    uint64_t prof_left;      /* bytes malloc may still hand out before the next heap-profile
                                sample (prof.h): every malloc subtracts its size on the fast path;
                                below zero (read as int64_t: ta_prof_ran_out) it leaves through the
                                slow path, which samples (or, the first time, only sets the count).
                                Unsigned, so that subtracting any size wraps instead of overflowing
                                (a size past INT64_MAX reads as ran out, and fails as it would).
                                Owner only */
    uint64_t prof_rng;       /* the sampler's generator state (0 until seeded); owner only */
    int prof_busy;           /* 1 while this thread records a sample: an allocation made by the
                                unwinder is not sampled; owner only */
    ta_os_stack prof_stack;  /* the thread's stack, as the sampler's walk bounds its reads; owner only */
    struct ta_cache *next;   /* the registry of live caches; guarded by the registry lock */
    struct ta_cache *prev;
} ta_cache;

extern __thread ta_cache ta_cache_tls TA_TLS_IE TA_HIDDEN;

/* Subtracts n from the thread's heap-profile count; 1 when it ran out (prof_left below zero). */
static TA_ALWAYS_INLINE int ta_prof_count(ta_cache *c, size_t n) { return (int64_t)(c->prof_left -= n) < 0; }

static TA_ALWAYS_INLINE ta_cache *ta_cache_mine(void) { return &ta_cache_tls; }

/* The bin of a request of n bytes (n <= TA_CACHE_MAX_REQUEST): its block size / TA_ALIGN. n == 0
 * maps to bin 1, which stays empty (malloc(0) takes the slow path, which serves it from bin 2). */
static TA_ALWAYS_INLINE size_t ta_cache_class(size_t n) { return (n + TA_HDR + TA_ALIGN - 1) / TA_ALIGN; }

/* The bin of blocks of size bytes (a multiple of TA_ALIGN, <= TA_CACHE_MAX_BLOCK): bins are
 * TA_ALIGN bytes each, so the block size is the byte offset of its bin. */
_Static_assert(sizeof(ta_cache_bin) == TA_ALIGN, "a bin's offset in bins[] is its block size");
static TA_ALWAYS_INLINE ta_cache_bin *ta_cache_bin_of_size(ta_cache *c, size_t size) {
    return (ta_cache_bin *)((char *)c->bins + size);
}

/* A decoded link the fast path may follow without more checks: in the same segment as the block
 * that held it (so reading its link word and header at the next pop cannot fault; the header's
 * keyed tag is verified in full when the block is freed). NULL and links to other segments are
 * checked by ta_cache_pop_slow, which also verifies the header. */
static TA_ALWAYS_INLINE int ta_cache_link_near(const ta_block *b, const ta_block *next) {
    return (((uintptr_t)b ^ (uintptr_t)next) >> TA_SEGMENT_SHIFT) == 0;
}

/* Set-up and per-thread life. */
/* bytes_per_thread: TAMALLOC_CACHE_BYTES; scavenge_ms: the period of the bins' scavenge (the decay
 * time). */
TA_HIDDEN void ta_cache_init(int enabled, size_t bytes_per_thread, unsigned scavenge_ms);
/* Thread exit: flushes the bins and the outboxes, turns the cache off for the rest of the thread's
 * life (its destructors allocate straight from the arena) and leaves the registry. */
TA_HIDDEN void ta_cache_thread_exit(void);

/* The slow paths of ta_malloc and ta_free (api.c). */
/* malloc of n <= TA_CACHE_MAX_REQUEST from arena a when the bin was empty: refills the bin with one
 * batch and returns its first block; falls back to a plain arena allocation when the cache is off. */
TA_HIDDEN void *ta_cache_refill_slow(ta_cache *c, ta_arena *a, size_t n);
/* An allocation the bins do not serve (an aligned or larger size) from arena a; remote frees queued
 * for a go into the bins first, so the arena's drain does not coalesce what the bins can reuse. */
TA_HIDDEN void *ta_cache_alloc_uncached_slow(ta_cache *c, ta_arena *a, size_t bsize, size_t align);
/* The bin's head b failed the fast path's checks: verifies its header and link (faults when either
 * is corrupt) and pops it. */
TA_HIDDEN TA_NOINLINE void *ta_cache_pop_slow(ta_cache *c, ta_cache_bin *bin, ta_block *b);
/* free of USED block b of segment s, whose USED tag the caller verified (tag), when the fast push did
 * not apply: the bin is full or limited, the cache is off or not set up, the block is too big to
 * cache, or another arena owns it. */
TA_HIDDEN TA_NOINLINE void ta_cache_free_slow(ta_cache *c, ta_segment *s, ta_block *b, uint64_t tag);

/* Every TA_CACHE_TICK_FREES cached frees: reads the clock and runs the thread's arena's decay tick
 * when it is due (which also ticks idle arenas), so memory freed earlier goes back while the thread
 * is served from its bins alone. */
TA_HIDDEN TA_NOINLINE void ta_cache_tick_slow(void);   /* no argument: the fast path keeps no register for it */

/* ta_collect and malloc_trim: flushes the caller's cache and outboxes now, and asks every other
 * thread's cache to flush at its next free or slow path. */
TA_HIDDEN void ta_cache_collect(void);
/* What the live caches hold of arena a (a snapshot): blocks and usable bytes in the bins of its
 * threads, and frees of its blocks batched in any thread's outbox, not yet pushed. */
typedef struct ta_cache_totals { size_t blocks, bytes, batched; } ta_cache_totals;
TA_HIDDEN void ta_cache_arena_totals(const ta_arena *a, ta_cache_totals *out);

/* Fork: the registry lock, taken before the arena table's (rank 1). In the child only the forking
 * thread's cache remains registered; other threads' cached blocks stay out of their arenas. */
TA_HIDDEN void ta_cache_fork_prepare(void);
TA_HIDDEN void ta_cache_fork_parent(void);
TA_HIDDEN void ta_cache_fork_child(void);

#endif
