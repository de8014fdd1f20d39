/* symbolize.h - names for code addresses, in-process (the heap profiler's leak report).
 *
 * Contract:
 *  - ta_os_symbolize(pc, out): fills out with the function that contains pc and the file of the
 *    object it belongs to. The object comes from the dynamic loader (dladdr); the function from the
 *    object's ELF symbol table (.symtab, so static functions are named too, unless the file is
 *    stripped; then .dynsym). The file is mapped read-only for the lookup and unmapped after.
 *    Returns 0 when a function was found, -1 otherwise (out->module may still be set).
 *  - never allocates through malloc; takes the loader's lock (dladdr) and no lock of tamalloc's, so
 *    it must not run under an arena lock. errno is preserved.
 * Layer L0 (platform). */
#ifndef TA_PLATFORM_SYMBOLIZE_H
#define TA_PLATFORM_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

#include "alloc/platform/compiler.h"

typedef struct ta_symbol {
    char name[256];        /* function name, "" when not found */
    uintptr_t offset;      /* pc - the function's start */
    char module[512];      /* the object's file, "" when unknown */
} ta_symbol;

TA_HIDDEN int ta_os_symbolize(const void *pc, ta_symbol *out);

#endif
