/* prof.h - the sampling heap profiler: which call stacks hold the heap, written in the gperftools
 * heap-profile format that google-pprof reads (TAMALLOC_PROF, ta_prof_dump).
 *
 * Sampling is by bytes: each thread counts down the bytes it asks for (ta_cache.prof_left, one
 * subtraction and one branch on the malloc fast path), and the allocation that takes the count
 * below zero is sampled; the next count is drawn from an exponential distribution of mean
 * TAMALLOC_PROF_SAMPLE bytes (ta_prof_next). So an allocation of s bytes is sampled with
 * probability 1 - exp(-s / rate), whatever its size, which is the law pprof's heap_v2/<rate>
 * scaling undoes. With the profiler off the count is set so far ahead that it never runs out.
 *
 * A sampled arena block is allocated as any other and then given the state SAMPLED (block.h): its
 * free fails the fast path's USED check, which is there anyway, and the exit (ta_free_odd) looks it
 * up in a table of live samples by address, accounts it and frees it. So the free fast path has no
 * instruction for the profiler. A sampled large block records its stack in its ta_large, where the
 * large free's one predictable branch finds it.
 *
 * Stacks live in a table of buckets (one per distinct stack): a lookup walks a hash chain without
 * a lock; a new stack is added under the profiler's lock. Buckets are never freed (counts only
 * grow), so a block's bucket pointer stays valid for the process's life, and in a forked child.
 * Memory for buckets is mapped in chunks (never through malloc).
 *
 * Layer L4 (rank 44): platform, options. */
#ifndef TA_PROF_H
#define TA_PROF_H

#include <stddef.h>
#include <stdint.h>

#include "alloc/platform/compiler.h"

#define TA_PROF_MAX_FRAMES 64

typedef struct ta_prof_stack ta_prof_stack;

/* The sampling rate in bytes (mean interval); 0 when the profiler is off. Set by ta_prof_init. */
extern size_t ta_prof_rate TA_HIDDEN;

/* Called once by init, after the options: arms the profiler when TAMALLOC_PROF or
 * TAMALLOC_PROF_SAMPLE asks for it. */
TA_HIDDEN void ta_prof_init(void);
/* The next sampling interval in bytes (>= 1), drawn with the thread's generator *rng (seeded here
 * when 0). Off: a count that never runs out. */
TA_HIDDEN int64_t ta_prof_next(uint64_t *rng);
/* Records a sampled allocation of n bytes whose stack is frames[0..k) (innermost first, as
 * ta_os_backtrace gives them) and whose caller returns to ra: the stack kept starts at ra when it
 * is found among the frames (NULL: all of them). Returns the stack's bucket, or NULL when no memory
 * was left for a new bucket (the allocation then goes unsampled). */
TA_HIDDEN ta_prof_stack *ta_prof_record(size_t n, void *const *frames, int k, void *ra);
/* Frames ta_prof_record looks at: the caller's own frames before ra, then TA_PROF_MAX_FRAMES. */
#define TA_PROF_UNWIND_FRAMES (TA_PROF_MAX_FRAMES + 8)
/* Takes back a ta_prof_record whose block could not be allocated. */
TA_HIDDEN void ta_prof_unrecord(ta_prof_stack *st, size_t n);
/* A sampled block of n bytes of bucket st was freed. */
TA_HIDDEN void ta_prof_release(ta_prof_stack *st, size_t n);
/* The live sampled arena blocks (state SAMPLED), by address: ta_prof_track enters p (sampled from
 * bucket st, n bytes asked for); 0, or -1 when no memory is left for the entry. ta_prof_untrack
 * takes p out and releases its sample; 0, or -1 when p is not there. */
TA_HIDDEN int ta_prof_track(void *p, ta_prof_stack *st, size_t n);
TA_HIDDEN int ta_prof_untrack(void *p);
/* Writes the profile to path ("%p" is the pid). 0, or -1 with errno set (EINVAL: the profiler is
 * off or path is NULL or too long; or open's and write's errno). */
TA_HIDDEN int ta_prof_write(const char *path);
/* SIGUSR2 under TAMALLOC_PROF_SIGNAL=1: writes the profile to the TAMALLOC_PROF path with ".<seq>"
 * added; says so on stderr when it cannot. */
TA_HIDDEN int ta_prof_write_numbered(unsigned seq);
/* At exit: writes the TAMALLOC_PROF file, if one was asked for; under TAMALLOC_PROF_LEAKS=1 writes
 * the leak report to stderr and, when any sampled block is still live, ends the process with status
 * TA_PROF_LEAK_STATUS (stdio flushed first). */
#define TA_PROF_LEAK_STATUS 23
TA_HIDDEN void ta_prof_at_exit(void);

/* Fork: the lock that adds buckets (taken last in prepare). */
TA_HIDDEN void ta_prof_fork_prepare(void);
TA_HIDDEN void ta_prof_fork_parent(void);
TA_HIDDEN void ta_prof_fork_child(void);

#endif
