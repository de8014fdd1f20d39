/* shim/override.c - the C library's allocation names, forwarding to the ta_* API. With
 * shim/introspect.c (glibc's mallinfo, malloc_info, mallopt, ...), the only file that defines libc
 * symbols; it goes into //alloc:tamalloc_override (linked into a program in place of glibc's malloc)
 * and //alloc:libtamalloc.so (LD_PRELOAD), never into //alloc:tamalloc.
 *
 * Relies on: ta_* implementing glibc's contract (errno ENOMEM on failure, EINVAL for a bad
 * alignment, ta_free leaving errno alone, ta_realloc(p, 0) freeing p and returning NULL), and on
 * ta_init() being a re-entry-safe atomic state machine that is reached lazily from the first
 * allocation (the dynamic loader, dlsym or pthread internals may allocate before any constructor
 * runs) and that never calls malloc before it publishes "ready". This file adds no state and no
 * allocator logic: each name is a thin function, so nothing here can recurse.
 *
 * glibc has no __libc_posix_memalign, so none is defined. A static link needs the __libc_* names
 * so that no object of libc.a pulls glibc's malloc.o in beside ours (duplicate definitions). */
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tamalloc.h"
#include "alloc/api_fast.h"
#include "alloc/platform/compiler.h"
#include "alloc/platform/os.h"
#include "alloc/shim/hooks.h"

/* TAMALLOC_TRACE and the SIGUSR2 heap map (hooks.h): the names other than malloc and free test
 * ta_hooks with one relaxed load per call; when it is non-zero (first call, tracing, a pending heap
 * map) the call goes to its ta_hooked_* twin. */
#define TA_HOOKED(hooked, plain) (TA_UNLIKELY(ta_hooks_active()) ? (hooked) : (plain))

/* Declared here: glibc 2.36's headers do not declare these (C23 and removed glibc names). */
void free_sized(void *p, size_t size);
void free_aligned_sized(void *p, size_t alignment, size_t size);
void cfree(void *p);
void *__libc_malloc(size_t size);
void __libc_free(void *p);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t alignment, size_t size);
void *__libc_valloc(size_t size);
void *__libc_pvalloc(size_t size);

/* malloc and free: the fast paths of ta_malloc and ta_free (api_fast.h), compiled here with exits
 * that look at ta_hooks, so that the common call tests nothing more than ta_malloc does. Tracing
 * turns the thread cache off, so every traced call reaches an exit; a pending heap map is written at
 * the next exit. */
static TA_NOINLINE void *malloc_exit(size_t size) {
    if (TA_UNLIKELY(ta_hooks_active())) return ta_hooked_malloc(size);
    return ta_alloc_slow(size, TA_ALIGN, TA_RETURN_ADDRESS());   /* the program's: malloc jumped here */
}
static TA_NOINLINE TA_COLD void free_span_exit(void *p, ta_span *sp) {
    if (TA_UNLIKELY(ta_hooks_active())) ta_hooked_free(p);
    else ta_free_slow(p, sp);
}
/* b is p's header, verified USED: the hooked free verifies it again and frees it. */
static TA_NOINLINE void free_cache_exit(ta_cache *c, ta_segment *s, ta_block *b, uint64_t tag) {
    if (TA_UNLIKELY(ta_hooks_active())) ta_hooked_free(ta_block_user(b));
    else ta_cache_free_slow(c, s, b, tag);
}
/* The header is not USED: a heap-profile sample (freed by ta_free_odd), or a fault it reports. */
static TA_NOINLINE TA_COLD void free_odd_exit(void *p, ta_segment *s) {
    if (TA_UNLIKELY(ta_hooks_active())) ta_hooked_free(p);
    else ta_free_odd(p, s);
}
/* The block went into the bin already (the cache is on, so nothing is being traced): a pending heap
 * map is written, then decay ticks as ta_free's countdown would. */
static TA_NOINLINE void free_tick_exit(void) {
    if (TA_UNLIKELY(ta_hooks_active())) ta_hooks_service();
    ta_cache_tick_slow();
}

TA_EXPORT void *malloc(size_t size) { return ta_malloc_fast(size, malloc_exit); }
TA_EXPORT void free(void *p) { ta_free_fast(p, free_span_exit, free_cache_exit, free_tick_exit, free_odd_exit); }
TA_EXPORT void *calloc(size_t n, size_t size) { return TA_HOOKED(ta_hooked_calloc(n, size), ta_calloc(n, size)); }
TA_EXPORT void *realloc(void *p, size_t size) { return TA_HOOKED(ta_hooked_realloc(p, size), ta_realloc(p, size)); }
TA_EXPORT void *reallocarray(void *p, size_t n, size_t size) {
    return TA_HOOKED(ta_hooked_reallocarray(p, n, size), ta_reallocarray(p, n, size));
}
TA_EXPORT int posix_memalign(void **out, size_t alignment, size_t size) {
    return TA_HOOKED(ta_hooked_posix_memalign(out, alignment, size), ta_posix_memalign(out, alignment, size));
}
TA_EXPORT void *aligned_alloc(size_t alignment, size_t size) {
    return TA_HOOKED(ta_hooked_aligned_alloc(alignment, size), ta_aligned_alloc(alignment, size));
}
TA_EXPORT void *memalign(size_t alignment, size_t size) {
    return TA_HOOKED(ta_hooked_memalign(alignment, size), ta_memalign(alignment, size));
}

TA_EXPORT void *valloc(size_t size) {
    return TA_HOOKED(ta_hooked_memalign(ta_os_page_size(), size), ta_memalign(ta_os_page_size(), size));
}

/* glibc: the size is rounded up to a whole number of pages (0 -> one page). */
TA_EXPORT void *pvalloc(size_t size) {
    size_t page = ta_os_page_size();
    if (size > SIZE_MAX - page) { errno = ENOMEM; return NULL; }
    size_t rounded = size == 0 ? page : (size + page - 1) & ~(page - 1);
    return TA_HOOKED(ta_hooked_memalign(page, rounded), ta_memalign(page, rounded));
}

TA_EXPORT size_t malloc_usable_size(void *p) { return ta_usable_size(p); }

/* glibc: returns 1 if memory was released to the OS, 0 if not. pad is accepted and ignored (every
 * free page and every empty segment is released). */
TA_EXPORT int malloc_trim(size_t pad) {
    (void)pad;
    ta_stats before, after;
    ta_get_stats(&before);
    ta_collect();
    ta_get_stats(&after);
    /* unmapped (segments, kept large mappings), or pages given back (purged) inside segments */
    return after.mapped < before.mapped || after.purged > before.purged;
}

/* C23: the size (and alignment) the block was asked with; tamalloc's headers know it already. */
TA_EXPORT void free_sized(void *p, size_t size) {
    (void)size;
    free(p);
}
TA_EXPORT void free_aligned_sized(void *p, size_t alignment, size_t size) {
    (void)alignment;
    (void)size;
    free(p);
}

/* Names glibc-linked code may call directly (and, in a static link, that objects of libc.a would
 * otherwise resolve from glibc's malloc.o). Thin functions rather than aliases: an alias would have
 * to repeat the attributes glibc's headers put on its target. */
TA_EXPORT void cfree(void *p) { free(p); }
TA_EXPORT void *__libc_malloc(size_t size) { return malloc(size); }
TA_EXPORT void __libc_free(void *p) { free(p); }
TA_EXPORT void *__libc_calloc(size_t n, size_t size) { return calloc(n, size); }
TA_EXPORT void *__libc_realloc(void *p, size_t size) { return realloc(p, size); }
TA_EXPORT void *__libc_memalign(size_t alignment, size_t size) { return memalign(alignment, size); }
TA_EXPORT void *__libc_valloc(size_t size) { return valloc(size); }
TA_EXPORT void *__libc_pvalloc(size_t size) { return pvalloc(size); }
