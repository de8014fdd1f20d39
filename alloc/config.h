/* config.h - compile-time constants of the heap layout, with the static checks that tie them.
 * Runtime-tunable values live in options.h. */
#ifndef TA_CONFIG_H
#define TA_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#ifndef TA_DEBUG
#define TA_DEBUG 0              /* assertion level: 1 basic, 2 internal, 3 expensive */
#endif

#define TA_ALIGN          16u   /* every user pointer is a multiple of this */
#define TA_HDR            16u   /* block header: size word + tag word */
#define TA_MIN_BLOCK      32u   /* header + two free-list links */

#define TA_SEGMENT_SHIFT  22u
#define TA_SEGMENT_SIZE   ((size_t)1 << TA_SEGMENT_SHIFT)   /* 4 MiB, aligned to its size */
#define TA_SEGMENT_MASK   (TA_SEGMENT_SIZE - 1)
#define TA_GRANULES       (TA_SEGMENT_SIZE / TA_ALIGN)       /* one free-start bit per granule */
#define TA_PAGE_SHIFT     12u
#define TA_PAGE           ((size_t)1 << TA_PAGE_SHIFT)       /* the purge granule (madvise) */
#define TA_SEGMENT_PAGES  (TA_SEGMENT_SIZE >> TA_PAGE_SHIFT) /* 1024 */

#define TA_MMAP_THRESHOLD_DEFAULT ((size_t)128 << 10)
#define TA_MMAP_THRESHOLD_MIN     ((size_t)4 << 10)
#define TA_MMAP_THRESHOLD_MAX     ((size_t)1 << 20)          /* arena blocks stay << segment size */

#define TA_MAX_ARENAS       256u
#define TA_MAX_HEAPS        1024u  /* user heaps (ta_heap_new) live at once: the table's second range */
#define TA_ARENAS_PER_CPU   4u
#define TA_RETAIN_SEGMENTS  1u     /* fully free segments an arena keeps mapped */
#define TA_DRAIN_BATCH      256u   /* remote frees drained per allocation or free */
/* Next-fit keeps a segment's tail (the free block that ends at the segment's end: pages not yet
 * touched, as glibc's top chunk) for last: once the search has passed a tail that fits, it looks
 * at this many more free blocks for one that is not a tail before it takes the tail. */
#define TA_FL_TAIL_STEPS    16u

/* The per-thread cache (cache.h): bin i holds free blocks of exactly i * TA_ALIGN bytes, for requests
 * up to TA_CACHE_MAX_REQUEST bytes (block size ta_block_size_for(n) = class * 16). The bins up to
 * TA_CACHE_SMALL_BLOCK start with a share of the budget; the larger ones start empty (limit 0) and
 * grow only where their blocks are reused (cache.c). */
#define TA_CACHE_MAX_REQUEST   4096u
#define TA_CACHE_MAX_BLOCK     (TA_CACHE_MAX_REQUEST + TA_HDR)            /* 4112 */
#define TA_CACHE_BINS          (TA_CACHE_MAX_BLOCK / TA_ALIGN + 1)        /* 258: bins 2..257 used */
#define TA_CACHE_SMALL_BLOCK   1040u                                      /* bins 2..65 */
#define TA_CACHE_SMALL_BINS    (TA_CACHE_SMALL_BLOCK / TA_ALIGN - 1)      /* 64 */
#define TA_CACHE_LARGE_PART    8u    /* the larger bins' limits together: at most an eighth of the
                                        budget (their blocks are holes in the arena while cached) */
#define TA_CACHE_LARGE_RUN     8u    /* allocations of one larger size in a row that activate its bin */
#define TA_CACHE_BYTES_DEFAULT ((size_t)1 << 20)    /* per thread, TAMALLOC_CACHE_BYTES */
#define TA_CACHE_BYTES_MIN     ((size_t)0)
#define TA_CACHE_BYTES_MAX     ((size_t)64 << 20)
#define TA_CACHE_BIN_MAX       4096u   /* blocks one bin may hold, whatever the byte budget */
#define TA_CACHE_START_PART    4u     /* a quarter of the budget is shared equally by the bins at
                                         set-up; the rest goes to the bins whose blocks are reused */
#define TA_CACHE_FLUSH_CHUNK   256u   /* blocks a flush gives back under one arena lock */
#define TA_CACHE_FILL_FIRST    3u     /* blocks a bin's first refill caches (then doubling): a
                                         short-lived thread touches little memory */
#define TA_CACHE_TICK_FREES    256    /* cached frees between two clock reads of a thread */
#define TA_OUTBOX_SLOTS        8u     /* arenas a thread batches remote frees for at once */
#define TA_OUTBOX_BATCH        64u    /* remote frees pushed to their arena with one CAS */

/* Giving memory back (decay): free pages inside segments, empty segments and cached large mappings
 * go back to the OS once they have stayed unused for TAMALLOC_DECAY_MS, checked by the allocator's
 * own calls into an arena (no background thread). */
#define TA_DECAY_MS_DEFAULT    1000u
#define TA_DECAY_MS_MAX        3600000u
#define TA_PROF_SAMPLE_DEFAULT ((size_t)512 << 10)   /* heap profiler: mean bytes between samples */
#define TA_PROF_SAMPLE_MAX     ((size_t)1 << 30)
#define TA_PURGE_MIN_RUN       ((size_t)16 << 10)   /* free runs purged by decay: at least this */
#define TA_PURGE_MAX_BLOCKS    256u                 /* free runs one decay tick purges */
#define TA_TICK_OPS            32u                  /* arena operations between clock reads */
#define TA_LARGE_CACHE_SLOTS   8u                   /* freed large mappings an arena keeps */
#define TA_LARGE_CACHE_BYTES   ((size_t)64 << 20)   /* and their bound in bytes */

/* TAMALLOC_CHECK=2 keeps every free byte past a free block's header and two links filled with
 * this value and verifies it when the bytes are handed out again. */
#define TA_POISON_BYTE      0xdb
#define TA_POISON_SKIP      (TA_HDR + 2 * sizeof(uintptr_t))   /* unpoisoned head of a free block */

_Static_assert((TA_ALIGN & (TA_ALIGN - 1)) == 0, "alignment is a power of two");
_Static_assert(TA_HDR % TA_ALIGN == 0, "header keeps user pointers aligned");
_Static_assert(TA_MIN_BLOCK >= TA_HDR + 2 * sizeof(void *), "a free block holds its two links");
_Static_assert(TA_GRANULES == 64u * 64u * 64u, "three-level free-start bitmap covers a segment");
_Static_assert(TA_SEGMENT_PAGES % 64 == 0, "page bitmaps are whole words");
_Static_assert(TA_MMAP_THRESHOLD_MAX * 2 < TA_SEGMENT_SIZE, "arena blocks fit a segment with room");
/* Bins are filled only by the slow path's refill, which sends a request at or past the mmap
 * threshold to its own mapping first; with the least threshold (4K) only 4096 itself is both. */
_Static_assert(TA_CACHE_MAX_REQUEST <= TA_MMAP_THRESHOLD_MIN, "cached sizes come from the arenas");
_Static_assert((TA_OUTBOX_SLOTS & (TA_OUTBOX_SLOTS - 1)) == 0, "outbox slots are a power of two");

#endif
