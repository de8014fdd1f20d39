/* alloc_api.h - the allocation calls a stress suite makes, as macros, so one source builds two ways:
 *   default:             STRESS_* -> the ta_* API (TSan-friendly: TSan intercepts malloc itself);
 *   -DSTRESS_USE_LIBC:   STRESS_* -> the C library names, for a build linked against the malloc
 *                        override or run under LD_PRELOAD.
 * The heap-inspection calls (ta_check, ta_get_stats, ta_get_arena_stats, ta_collect) are always the
 * ta_* functions: they have no libc equivalent and report on tamalloc's own heap either way. */
#ifndef STRESS_ALLOC_API_H
#define STRESS_ALLOC_API_H

#include <stddef.h>

#include "tamalloc.h"

#ifdef STRESS_USE_LIBC
#include <malloc.h>
#include <stdlib.h>
#define STRESS_API_NAME "libc"
#define STRESS_MALLOC(n) malloc(n)
#define STRESS_FREE(p) free(p)
#define STRESS_CALLOC(n, size) calloc((n), (size))
#define STRESS_REALLOC(p, n) realloc((p), (n))
#define STRESS_MEMALIGN(align, n) memalign((align), (n))
#define STRESS_POSIX_MEMALIGN(out, align, n) posix_memalign((out), (align), (n))
#define STRESS_ALIGNED_ALLOC(align, n) aligned_alloc((align), (n))
#define STRESS_USABLE(p) malloc_usable_size(p)
#else
#define STRESS_API_NAME "ta"
#define STRESS_MALLOC(n) ta_malloc(n)
#define STRESS_FREE(p) ta_free(p)
#define STRESS_CALLOC(n, size) ta_calloc((n), (size))
#define STRESS_REALLOC(p, n) ta_realloc((p), (n))
#define STRESS_MEMALIGN(align, n) ta_memalign((align), (n))
#define STRESS_POSIX_MEMALIGN(out, align, n) ta_posix_memalign((out), (align), (n))
#define STRESS_ALIGNED_ALLOC(align, n) ta_aligned_alloc((align), (n))
#define STRESS_USABLE(p) ta_usable_size(p)
#endif

#endif /* STRESS_ALLOC_API_H */
