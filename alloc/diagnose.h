/* diagnose.h - naming the fault when a block's header does not verify for an operation.
 * Owns: the slow, read-only inspection that turns "this claim failed" into a precise report
 * (double free, use after free, interior pointer, corrupted header). It reads only memory inside
 * the block area it is given, so a wild value cannot make it crash; it sits above the free list
 * because it reads the segment's free-start bitmap to tell a listed free block from a forged one. */
#ifndef TA_DIAGNOSE_H
#define TA_DIAGNOSE_H

#include "alloc/block.h"
#include "alloc/platform/compiler.h"

/* Names the fault for op ("free", "realloc", "usable size", "malloc") on block b, whose header did
 * not verify as expected; [data_start, data_end) is the block area of the mapping that holds b.
 * Does not return. */
TA_HIDDEN TA_COLD TA_NOINLINE TA_NORETURN void ta_diagnose_fault(ta_block *b, const char *data_start, const char *data_end,
                                                                  const void *user, const char *op);

#endif
