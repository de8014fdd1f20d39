/* harness.h - what every stress suite shares: run setup (seed, scale, TSan detection), threads
 * started together behind a barrier, blocks filled with a pattern on allocation and verified before
 * every free, a blocking channel for handing blocks between threads, operation counters, and the
 * closing invariant.
 *
 * A suite's main() is:   stress_begin("name", seed);  ... threads ...  return stress_end();
 * stress_end runs ta_collect(), then requires ta_check() == 0, remote_pushed == remote_drained and
 * ta_get_stats().allocated equal to its value at stress_begin, and prints the counters. Any failure
 * (a corrupted block, a failed allocation, a broken invariant) prints "STRESS FAILURE <suite>: ..."
 * with the seed and aborts. Timings are printed, never asserted. */
#ifndef STRESS_HARNESS_H
#define STRESS_HARNESS_H

#include <stdint.h>
#include <stddef.h>

#include "stress/alloc_api.h"
#include "tests/testlib/rng.h"

/* Requests at or above this get a direct mapping while the threshold is at its start (128 KiB). */
#define STRESS_LARGE_MIN ((size_t)128 * 1024)
/* Operation counts are divided by this under ThreadSanitizer (roughly ten times slower, but it finds races with fewer operations). */
#define STRESS_TSAN_DIVISOR 4
#define STRESS_TSAN_DIVISOR_STR "4"

#if defined(__SANITIZE_THREAD__)
#define STRESS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STRESS_TSAN 1
#endif
#endif
#ifndef STRESS_TSAN
#define STRESS_TSAN 0
#endif

/* ---------------------------------------------------------------------------------------------
 * Run setup, scale, failure, closing invariant.
 * ------------------------------------------------------------------------------------------- */

/* Reads TAMALLOC_TEST_SEED (else default_seed) and TAMALLOC_STRESS_SCALE, prints them, records the
 * starting statistics and the start time. Call first, from main, before any allocation. */
void stress_begin(const char *suite, uint64_t default_seed);
/* The closing invariant and the counter report; returns 0 (a failure aborts). Call after every
 * thread has been joined and every block freed. */
int stress_end(void);

uint64_t stress_seed(void);
unsigned stress_scale(void);
/* base * TAMALLOC_STRESS_SCALE, divided by STRESS_TSAN_DIVISOR under TSan; never below 1. */
size_t stress_ops(size_t base);
/* The RNG of stream `stream` (a thread index, or any other number a suite picks). */
rng stress_rng(unsigned stream);
/* Log-uniform size in [lo, hi]: as many small sizes as large ones per power of two. */
size_t stress_size(rng *r, size_t lo, size_t hi);
/* TAMALLOC_ARENAS as set in the environment, or 0 when unset. */
unsigned stress_env_arenas(void);
/* 1 when TAMALLOC_MMAP_THRESHOLD pins the allocator's threshold at STRESS_LARGE_MIN ("128K"), so
 * a block's size tells whether it got its own mapping. Unset, the threshold follows the mapped
 * blocks freed (glibc's dynamic threshold) and the size no longer tells. */
int stress_threshold_pinned(void);

__attribute__((noreturn, format(printf, 1, 2))) void stress_fail(const char *fmt, ...);
#define STRESS_REQUIRE(cond, ...) \
    do { if (!(cond)) stress_fail(__VA_ARGS__); } while (0)

/* Counters, summed over threads; add a thread's local totals once, when it finishes. */
void stress_count_ops(size_t n);     /* allocation-API calls made */
void stress_count_cross(size_t n);   /* frees of blocks another thread allocated */

/* ---------------------------------------------------------------------------------------------
 * Threads. Every thread of a group waits on the group's barrier, so they start together.
 * ------------------------------------------------------------------------------------------- */

typedef void (*stress_thread_fn)(unsigned index, void *arg);
typedef struct stress_group stress_group;

stress_group *stress_group_start(unsigned n, stress_thread_fn fn, void *arg);
void stress_group_join(stress_group *g);
/* start + join. */
void stress_run_threads(unsigned n, stress_thread_fn fn, void *arg);

/* ---------------------------------------------------------------------------------------------
 * Blocks: pattern-filled on allocation, verified before free.
 * ------------------------------------------------------------------------------------------- */

typedef struct stress_blk {
    void *p;
    size_t n;       /* bytes asked for (all of them carry the pattern) */
    uint64_t tag;   /* stress_tag(owner thread, sequence) */
} stress_blk;

static inline uint64_t stress_tag(unsigned thread, uint64_t seq) { return ((uint64_t)(thread + 1) << 40) ^ seq; }
static inline unsigned stress_tag_thread(uint64_t tag) { return (unsigned)(tag >> 40) - 1; }

/* Checks a fresh allocation (not NULL, 16-aligned or `align`-aligned, usable >= n) and fills it. */
void stress_accept(void *p, size_t n, size_t align, uint64_t tag, const char *what);
/* Fails, naming `when`, unless the n bytes at p carry tag's pattern. */
void stress_verify(const void *p, size_t n, uint64_t tag, const char *when);
/* STRESS_MALLOC(n) + stress_accept. */
void stress_blk_malloc(stress_blk *b, size_t n, uint64_t tag);
/* stress_verify + STRESS_FREE; clears *b. */
void stress_blk_free(stress_blk *b, const char *who);

/* Self-describing objects, for hand-offs through a single pointer (an atomic slot): the first 16
 * bytes hold the size and tag, the rest carries the pattern. n is at least 16. */
void *stress_obj_new(size_t n, uint64_t tag);
/* Verifies the header against STRESS_USABLE and the pattern, frees, returns the tag. */
uint64_t stress_obj_free(void *p, const char *who);

/* ---------------------------------------------------------------------------------------------
 * Channel: a bounded, mutex-protected queue of blocks (the allocator is under test, not this).
 * ------------------------------------------------------------------------------------------- */

typedef struct stress_chan stress_chan;
stress_chan *stress_chan_new(size_t capacity);
void stress_chan_destroy(stress_chan *c);   /* must be empty */
/* Blocks while full. */
void stress_chan_put(stress_chan *c, const stress_blk *b);
/* Returns 0 at once when full. */
int stress_chan_try_put(stress_chan *c, const stress_blk *b);
/* Blocks while empty and open; returns 0 once closed and empty. */
int stress_chan_get(stress_chan *c, stress_blk *out);
/* Returns 0 at once when empty. */
int stress_chan_try_get(stress_chan *c, stress_blk *out);
/* After close, gets drain what is left and then return 0; puts are an error. */
void stress_chan_close(stress_chan *c);

#endif /* STRESS_HARNESS_H */
