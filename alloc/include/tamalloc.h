/* tamalloc.h - the public contract of tamalloc, a thread-safe multi-arena allocator.
 *
 * Every function here is safe to call from any thread. Pointers returned are 16-byte aligned
 * (or aligned as requested). Errors follow the C/POSIX malloc contract: allocation failure returns
 * NULL with errno = ENOMEM; invalid alignment gives EINVAL. Misuse (double free, a pointer tamalloc
 * did not hand out, a corrupted header) is reported on stderr with a message starting "tamalloc:"
 * and the process aborts: it is never silently ignored.
 */
#ifndef TAMALLOC_H
#define TAMALLOC_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Allocation. ta_malloc(0) returns a unique pointer (ta_free it like any other). */
void  *ta_malloc(size_t size);
/* Frees p; ta_free(NULL) does nothing. errno is left unchanged. */
void   ta_free(void *p);
/* Zeroed n*size bytes; n*size overflow -> NULL, ENOMEM. */
void  *ta_calloc(size_t n, size_t size);
/* Resizes p, growing in place into a free next neighbour when it can. ta_realloc(NULL, n) is
 * ta_malloc(n); ta_realloc(p, 0) frees p and returns NULL (glibc's behaviour). On failure returns
 * NULL with ENOMEM and leaves p untouched. */
void  *ta_realloc(void *p, size_t size);
/* ta_realloc(p, n*size) with overflow checking (NULL, ENOMEM; p untouched). */
void  *ta_reallocarray(void *p, size_t n, size_t size);
/* alignment must be a power of two and a multiple of sizeof(void *): else EINVAL is returned
 * (errno is not set, as POSIX specifies). ENOMEM on failure; *out is untouched on error. */
int    ta_posix_memalign(void **out, size_t alignment, size_t size);
/* alignment must be a power of two, else NULL with errno = EINVAL. */
void  *ta_aligned_alloc(size_t alignment, size_t size);
/* glibc semantics: an alignment that is not a power of two is rounded up to one. */
void  *ta_memalign(size_t alignment, size_t size);
/* Usable bytes at p (>= the size asked for); 0 for NULL. */
size_t ta_usable_size(const void *p);

typedef struct ta_block_info {
    const void *addr;   /* start of the block (its header) */
    size_t size;        /* whole block, header included */
    int is_free;        /* on the arena's free list */
    int is_rover;       /* the next-fit search starts at this block */
    unsigned arena;
    int is_cached;      /* freed into a thread's cache: not the user's, not on the free list */
} ta_block_info;

/* Visits every block of every arena (not the direct-mmap large blocks, which stats count), each
 * arena in address order; stops early if fn returns non-zero. Returns 0, or the non-zero value fn
 * returned. fn runs with the arena's lock held: it must not call the allocator (doing so is
 * reported as a fault). Neither this nor ta_check allocates. */
int ta_heap_walk(int (*fn)(const ta_block_info *b, void *ctx), void *ctx);

/* Verifies every invariant of every arena (address order, no adjacent free blocks, sizes tile
 * each segment, magic numbers, the rover on a free block or at a list end, counters). Returns 0
 * when all hold, otherwise a non-zero code naming the first broken invariant (see ta_check_name). */
int ta_check(void);
/* A short text for a ta_check() result code. */
const char *ta_check_name(int code);

typedef struct ta_stats {
    size_t allocated;       /* bytes in live blocks (usable sizes), large blocks included; blocks
                               in thread caches are not counted here but in `cached`; a block freed
                               by another thread counts until its owner drains it */
    size_t free;            /* bytes in free blocks */
    size_t free_blocks;
    size_t mapped;          /* bytes currently mapped from the OS */
    size_t large_allocated; /* bytes in live direct-mmap blocks */
    size_t arenas;          /* arenas in use, live user heaps included (every figure here counts
                               the user heaps' blocks too) */
    size_t remote_pushed;   /* cross-thread frees queued */
    size_t remote_drained;  /* of those, drained by their owners */
    size_t cached;          /* usable bytes in the live threads' caches (freed, ready for reuse) */
    size_t cached_blocks;   /* blocks in those caches */
    size_t remote_batched;  /* cross-thread frees batched in the freeing threads' caches, not yet
                               queued (remote_pushed counts them once a batch is pushed) */
    size_t purged;          /* free bytes whose pages went back to the OS (madvise) and read as zero */
    size_t dirty;           /* free bytes not given back: free - purged (free but resident) */
    size_t large_cached;    /* bytes of freed large mappings kept for reuse (in `mapped`) */
    size_t searches;        /* next-fit searches of the arenas' free lists (allocations and cache
                               refills the caches could not serve) */
    size_t search_steps;    /* fit-index nodes and block headers those searches read */
    size_t search_max_steps;/* the most one search read (the largest over the arenas) */
    size_t background_rounds;   /* rounds of the background purge thread (ta_background) */
    size_t background_cpu_ns;   /* CPU time it used, in nanoseconds */
} ta_stats;
void ta_get_stats(ta_stats *out);

/* Per-arena figures. Returns the number of arenas configured (initialised or not) plus the user-heap
 * slots ever used (indices from the arena count on; `user` is set for a live heap, in_use 0 for a
 * free slot); fills *out for arena `index` and returns that count, or returns 0 for an index out of
 * range. */
typedef struct ta_arena_stats {
    unsigned index;
    int in_use;             /* initialised (some thread has used it) */
    size_t threads;         /* live threads assigned to it */
    size_t allocated;       /* bytes in live blocks (usable sizes) */
    size_t free;            /* bytes in free blocks */
    size_t free_blocks;
    size_t segments;
    size_t mapped;          /* bytes of segments it holds */
    size_t remote_pushed;   /* frees pushed to its remote queue by other threads */
    size_t remote_drained;  /* of those, drained */
    size_t remote_pending;  /* pushed but not yet drained */
    size_t lock_contended;  /* lock acquisitions that had to wait */
    size_t lock_acquired;   /* all lock acquisitions */
    size_t cached;          /* usable bytes of its blocks in the caches of its threads */
    size_t cached_blocks;
    size_t remote_batched;  /* frees of its blocks batched in other threads' caches, not yet pushed */
    size_t purged;          /* free bytes whose pages went back to the OS */
    size_t dirty;           /* free bytes not given back (free - purged) */
    size_t large_cached;    /* bytes of freed large mappings its threads keep for reuse */
    size_t searches;        /* next-fit searches of its free list */
    size_t search_steps;    /* fit-index nodes and block headers they read */
    size_t search_max_steps;/* the most one of them read */
    int user;               /* a user heap (ta_heap_new), not a threads' arena */
} ta_arena_stats;
size_t ta_get_arena_stats(unsigned index, ta_arena_stats *out);

/* A readable table of the totals and every arena in use. */
void ta_stats_print(FILE *out);

/* Writes every arena's blocks in address order as one JSON object (format: docs/heapmap.md):
 * per arena its segments with their blocks as [offset, size, free] triples, the rover, the remote
 * frees pending, and its fragmentation figures (free bytes, largest free block, free-block count,
 * external fragmentation = 1 - largest free / free bytes); the totals of ta_get_stats. Does not
 * allocate: out must have a file descriptor (fileno(out) >= 0); it is flushed, then written with
 * write(2) from a stack buffer. Each arena is locked while its blocks are written. Returns 0, or
 * -1 when out has no descriptor or a write failed. TAMALLOC_HEAP_MAP=path writes the same map to
 * path at exit, and after a SIGUSR2 at the next allocation call made through the C library names. */
int ta_heap_map(FILE *out);

/* Flushes the calling thread's cache, asks every other thread to flush its cache at its next free
 * (or next call that reaches its arena), drains every remote queue and gives back to the OS what
 * it can at once: every whole free page (madvise), every empty segment and every kept large
 * mapping (munmap). Without it, the same happens after TAMALLOC_DECAY_MS, driven by the
 * allocator's own calls. */
void ta_collect(void);

/* The background purge: on = 1 starts one thread that gives free memory back to the OS every
 * TAMALLOC_DECAY_MS / 4 (between 10 ms and 1 s) once it has stayed free for TAMALLOC_DECAY_MS,
 * while the program is idle or served from its thread caches (jemalloc's background_thread);
 * on = 0 stops and joins it. TAMALLOC_BACKGROUND=1 starts it at load. Returns 0, EAGAIN when the
 * thread cannot be created, EINVAL for any other value of on. The thread blocks every signal,
 * never calls the program, does not survive fork (a child runs none until asked again) and is
 * stopped at exit. Its rounds and CPU time are in ta_stats (background_rounds, background_cpu_ns). */
int ta_background(int on);

/* Heap profile (TAMALLOC_PROF=path writes one at exit; TAMALLOC_PROF_SAMPLE=bytes sets the mean
 * bytes between samples, 512 KiB by default, and turns the profiler on by itself): writes the
 * sampled stacks of live and all allocations to path ("%p" = the pid) in the gperftools heap-profile
 * format, which google-pprof reads (heap_v2: it scales the samples back). Returns 0, or -1 with
 * errno: EINVAL when the profiler is off or path is NULL or empty, ENAMETOOLONG, or the error of
 * creating or writing the file. */
int ta_prof_dump(const char *path);

/* First-class heaps (mimalloc's mi_heap_new, jemalloc's arenas.create). A heap is an arena of its
 * own (its lock, next-fit free list, large blocks and remote queue) that no thread is assigned to:
 * any thread may allocate from it, at the same time as others. Its blocks are freed with ta_free
 * (or free) from any thread, and go back to the heap at once under its lock: they never enter a
 * thread cache. ta_realloc keeps a block in its heap. ta_heap_destroy unmaps the heap's segments
 * and large blocks without visiting each block (remote frees still queued are dropped with them)
 * and leaves every other arena alone. A free of a block of a destroyed heap is reported as an
 * invalid pointer; a call with a destroyed or foreign handle as an invalid heap; destroying a heap
 * while another thread allocates from it or frees one of its blocks is the program's bug (not
 * detected). Up to 1024 heaps live at once. ta_heap_walk, ta_check, ta_get_arena_stats and
 * ta_heap_map show live heaps as arenas marked user; ta_get_stats counts them. */
typedef struct ta_heap ta_heap;
/* A new empty heap; NULL with errno ENOMEM when 1024 heaps are alive. */
ta_heap *ta_heap_new(void);
/* As ta_malloc / ta_calloc / ta_aligned_alloc (EINVAL for an alignment that is not a power of
 * two), from heap h. */
void    *ta_heap_malloc(ta_heap *h, size_t n);
void    *ta_heap_calloc(ta_heap *h, size_t n, size_t size);
void    *ta_heap_aligned_alloc(ta_heap *h, size_t align, size_t n);
/* As ta_realloc; p must be NULL or a block of h (else reported: "block of another heap"); a moved
 * block stays in h. */
void    *ta_heap_realloc(ta_heap *h, void *p, size_t n);
/* Frees every block of h at once and h itself; NULL does nothing. */
void     ta_heap_destroy(ta_heap *h);
/* The figures of ta_get_stats for h alone (arenas = 1; cached and background figures 0). 0. */
int      ta_heap_get_stats(ta_heap *h, ta_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* TAMALLOC_H */
