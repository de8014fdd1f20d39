/* assert.h - debug assertions for the allocator's own bugs (compiled out unless TA_DEBUG >= level).
 * User misuse and corruption are never asserted: they go to fault.h and are always on. */
#ifndef TA_ASSERT_H
#define TA_ASSERT_H

#include "alloc/config.h"
#include "alloc/fault.h"

#define TA_ASSERT_LEVEL(level, cond) \
    do { if (TA_DEBUG >= (level) && !(cond)) ta_fault_assert(#cond, __FILE__, __LINE__); } while (0)
#define TA_ASSERT(cond)           TA_ASSERT_LEVEL(1, cond)
#define TA_ASSERT_INTERNAL(cond)  TA_ASSERT_LEVEL(2, cond)
#define TA_ASSERT_EXPENSIVE(cond) TA_ASSERT_LEVEL(3, cond)

#endif
