/* heap_shape.h - renders one arena's blocks, as ta_heap_walk reports them, as one compact string,
 * so a layout test asserts a whole heap shape in one readable line:
 *
 *     "A48 F64* A32x3 F4159328 | A65536 F4093824"
 *
 *   A<size>  an allocated block, F<size> a free one, C<size> one in a thread cache (freed, not yet
 *            back on the free list); sizes are whole blocks, header included
 *   *        after the rover (the block the next-fit search starts at)
 *   x<k>     a run of k identical neighbours written once ("A32 A32 A32" -> "A32x3")
 *   " | "    between segments (where a block does not start where the previous one ended)
 *
 * Uses only tamalloc.h. A block's header is the 16 bytes before its user pointer, so the block of
 * user pointer p is the one the walk reports at p - 16. */
#ifndef TA_TESTLIB_HEAP_SHAPE_H
#define TA_TESTLIB_HEAP_SHAPE_H

#include <stddef.h>

#define HEAP_SHAPE_HDR 16u

/* The arena holding the block with user pointer p, or -1 when the walk does not visit it (a
 * direct-mmap large block, or not a live block at all). */
int heap_shape_arena_of(const void *p);

/* 'A' when the walk visits an allocated block with user pointer p, 'F' for a free one, 'C' for one
 * in a thread cache, and 0
 * when no block starts at p - 16 (a large block, or a freed block merged into its neighbour). */
int heap_shape_state_of(const void *p);

/* The calling thread's arena. The first call in a thread allocates and frees one ta_malloc(1)
 * probe (which maps a segment if the arena has none, and leaves the shape as it was unless the
 * rover block was smaller than 64 bytes); later calls in the thread return the cached index. */
int heap_shape_my_arena(void);

/* Renders arena `arena` into buf (cap bytes, NUL-terminated; output that does not fit ends in
 * "..."). An arena with no blocks renders as "". Returns buf. Must not run inside a walk. */
const char *heap_shape(unsigned arena, char *buf, size_t cap);

/* Total size of the blocks in the segment holding p's block (the segment's block area, which
 * its blocks tile), or 0 when the walk does not visit p's block. */
size_t heap_shape_segment_bytes(const void *p);

#endif
