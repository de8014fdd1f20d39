/* api_aligned.c - ta_posix_memalign, ta_aligned_alloc, ta_memalign: alignment rules and errno, then
 * an arena block carved at an aligned offset (the skipped front stays free in place), or a large
 * mapping aligned as asked. */
#include <errno.h>
#include <stdint.h>

#include "tamalloc.h"
#include "alloc/api_fast.h"
#include "alloc/api_internal.h"
#include "alloc/config.h"

static int is_pow2(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

/* align is a power of two; ra, the program's return address (a heap-profile sample's stack). */
static TA_ALWAYS_INLINE void *aligned_impl(size_t align, size_t n, void *ra) {
    if (align <= TA_ALIGN) return ta_malloc(n);
    (void)ta_prof_count(ta_cache_mine(), n);   /* ta_alloc_slow samples when it ran out */
    return ta_alloc_slow(n, align, ra);
}

TA_EXPORT int ta_posix_memalign(void **out, size_t alignment, size_t size) {
    if (!is_pow2(alignment) || alignment % sizeof(void *) != 0) return EINVAL;
    int saved = errno;
    void *p = aligned_impl(alignment, size, TA_RETURN_ADDRESS());
    errno = saved;
    if (p == NULL) return ENOMEM;
    *out = p;
    return 0;
}

TA_EXPORT void *ta_aligned_alloc(size_t alignment, size_t size) {
    if (!is_pow2(alignment)) { errno = EINVAL; return NULL; }
    return aligned_impl(alignment, size, TA_RETURN_ADDRESS());
}

TA_EXPORT void *ta_memalign(size_t alignment, size_t size) {
    if (alignment > SIZE_MAX / 2 + 1) { errno = EINVAL; return NULL; }
    if (alignment < TA_ALIGN) alignment = TA_ALIGN;
    if (!is_pow2(alignment)) {   /* glibc rounds an alignment that is not a power of two up */
        size_t a = TA_ALIGN;
        while (a < alignment) a <<= 1;
        alignment = a;
    }
    return aligned_impl(alignment, size, TA_RETURN_ADDRESS());
}
