/* api_internal.h - what the api*.c files share: validating a user pointer for an operation. */
#ifndef TA_API_INTERNAL_H
#define TA_API_INTERNAL_H

#include <stddef.h>

#include "alloc/block.h"
#include "alloc/large.h"
#include "alloc/platform/compiler.h"
#include "alloc/segment.h"

typedef struct ta_ptr_info {
    ta_segment *segment;   /* arena block: its segment and header */
    ta_block *block;
    ta_large *large;       /* or a large block */
    size_t usable;
} ta_ptr_info;

/* Validates live user pointer p for op ("realloc", "usable size"); faults with a precise name
 * (invalid, misaligned, interior, use after free, corrupted) when it is not one. */
TA_HIDDEN ta_ptr_info ta_ptr_lookup(const void *p, const char *op);

#endif
