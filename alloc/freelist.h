/* freelist.h - an arena's address-ordered free list with its next-fit rover.
 *
 * The list threads every free block of the arena's segments in ascending address order through
 * two safe-linked words inside each free block. The segments' free-start bitmaps index the same
 * blocks, so the free block before any address is found in O(1) (insertion and backward
 * coalescing need no walk); the links are what next-fit traverses.
 *
 * Invariants (checked by check.c):
 *   head < ... < tail by address; next(prev(b)) == b; count and bytes sum the list;
 *   every listed block has state FREE and its bitmap bit; no two free blocks are adjacent;
 *   rover == NULL iff the list is empty, else rover is a listed block.
 * Every function requires the owning arena's lock. For clang's thread-safety analysis the list is a
 * capability of its own, held exactly while its arena's lock is (ta_arena_lock acquires both), so
 * TA_REQUIRES(fl) on each function below is checked at every call in alloc/ (--config=clang). The
 * list itself knows nothing of locks, atomics beyond tags, the OS or TLS. */
#ifndef TA_FREELIST_H
#define TA_FREELIST_H

#include <stddef.h>

#include "alloc/block.h"
#include "alloc/fitindex.h"
#include "alloc/platform/compiler.h"
#include "alloc/segment.h"

typedef struct TA_CAPABILITY("freelist") ta_freelist {
    ta_block *head;     /* lowest-addressed free block */
    ta_block *tail;     /* highest-addressed free block */
    ta_block *rover;    /* next-fit starts here: where the last search succeeded */
    ta_fitindex index;  /* the first fitting block at or after an address, in O(log n) (fitindex.h) */
    size_t count;       /* free blocks */
    size_t bytes;       /* bytes in free blocks, headers included */
    size_t purged;      /* bytes of free pages given back to the OS (madvise) and not touched since:
                           kept by the arena's decay, lowered here when carving writes into them */
    size_t releases;    /* blocks released (a run of side-by-side blocks freed in a batch is one) */
    size_t searches;    /* next-fit searches */
    size_t steps;       /* index nodes and block headers those searches read */
    size_t max_steps;   /* the most one search read */
    int level;          /* TAMALLOC_CHECK: 0 skips the neighbour-header check on free; 2 also keeps
                           every free block's bytes past its links filled with TA_POISON_BYTE and
                           verifies them when the bytes are handed out again */
} ta_freelist;

TA_HIDDEN void ta_fl_init(ta_freelist *fl, int level);
/* Level 2: poisons [from, to) (a new segment's area, or bytes being freed). */
TA_HIDDEN void ta_fl_poison(void *from, void *to);
/* The first byte in [from, to) that is not poison, or NULL when all are. */
TA_HIDDEN const void *ta_fl_poison_damage(const void *from, const void *to);

/* The list neighbours of a listed block, links verified (a corrupted link is a fault). */
TA_HIDDEN ta_block *ta_fl_next(ta_block *b);   /* reads links: under the lock */
TA_HIDDEN ta_block *ta_fl_prev(ta_block *b);

/* Next-fit from the rover, wrapping once: a free block that can hold a block of bsize bytes whose
 * user pointer is aligned to align (a power of two >= TA_ALIGN). A segment's tail (a free block
 * that ends at its segment's end) is kept for last: the first tail that fits is taken only when
 * no other free block fits among the next TA_FL_TAIL_STEPS blocks after it (or before the search
 * is back at the rover), so holes the program freed are reused before untouched pages are.
 * *front receives the gap before the aligned block (0, or >= TA_MIN_BLOCK, which stays free).
 * NULL when none fits. */
TA_HIDDEN ta_block *ta_fl_find_locked(ta_freelist *fl, size_t bsize, size_t align, size_t *front) TA_REQUIRES(fl);
/* The lowest-addressed listed free block above `after` (NULL: from the lowest address) of at least
 * min_size bytes, through the index (O(log n)); not counted as a search. */
TA_HIDDEN ta_block *ta_fl_next_at_least_locked(ta_freelist *fl, ta_block *after, size_t min_size) TA_REQUIRES(fl);
/* Carves an allocated block of bsize bytes at b + front out of free block b. The remainder stays
 * free in b's place in the list (splitting only when it can hold a free block: the block may come
 * out larger than bsize). The rover moves to the remainder (or past b). Returns the USED block. */
TA_HIDDEN ta_block *ta_fl_carve_locked(ta_freelist *fl, ta_block *b, size_t front, size_t bsize) TA_REQUIRES(fl);
/* Frees block b (state QUEUED, not listed): verifies the next block's header (an overflow from b
 * is a fault), coalesces with free physical neighbours and inserts the result in address order.
 * Returns the free block that now contains b. */
TA_HIDDEN ta_block *ta_fl_release_locked(ta_freelist *fl, ta_block *b) TA_REQUIRES(fl);
/* Marks the header of b, absorbed into the block before it, as coalescing does (MERGED, so a second
 * free of b is named a double free; poisoned at level 2). */
TA_HIDDEN void ta_fl_mark_merged(ta_freelist *fl, ta_block *b) TA_REQUIRES(fl);
/* A linked segment's whole area becomes one listed free block, and the segment joins the index;
 * dropping removes an empty segment's block and the segment from both. */
TA_HIDDEN void ta_fl_add_segment_locked(ta_freelist *fl, ta_segment *s) TA_REQUIRES(fl);
TA_HIDDEN void ta_fl_drop_segment_locked(ta_freelist *fl, ta_segment *s) TA_REQUIRES(fl);
/* Adds a free block that has no free physical neighbours (a new segment's block). */
TA_HIDDEN void ta_fl_insert_locked(ta_freelist *fl, ta_block *b) TA_REQUIRES(fl);
/* Unlinks a listed free block (releasing a segment). */
TA_HIDDEN void ta_fl_remove_locked(ta_freelist *fl, ta_block *b) TA_REQUIRES(fl);
/* Resizes USED block b in place to new_size (a block size): shrinking splits off the tail as free
 * space; growing takes from a free next neighbour. Returns 1 on success, 0 when growing cannot. */
TA_HIDDEN int ta_fl_resize_locked(ta_freelist *fl, ta_block *b, size_t new_size) TA_REQUIRES(fl);

#endif
