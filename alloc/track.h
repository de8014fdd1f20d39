/* track.h - tells valgrind's memcheck about the blocks tamalloc hands out (build with
 * -DTA_VALGRIND, bazel --config=valgrind; needs <valgrind/valgrind.h> and <valgrind/memcheck.h> from Debian's valgrind package).
 * Without TA_VALGRIND every macro expands to nothing and evaluates none of its arguments.
 *
 * tamalloc's heap is mmap'd memory that memcheck otherwise sees as one defined region, blind to
 * blocks. With these client requests memcheck sees each block as a malloc'd block of the size the
 * user asked for: a block never freed is reported as a leak, and a write past the requested size
 * (into the block's unused tail, which is marked no-access) is reported "N bytes after a block of
 * size S alloc'd" with the allocation's stack. A write that reaches the next block's header is
 * not visible to memcheck (the allocator reads headers): tamalloc's own neighbour check reports it.
 *
 *   ta_track_malloc(p, size, zero)  p (NULL: nothing) goes to the user: size bytes accessible,
 *                                   defined when zero; the rest of its usable size no-access.
 *   ta_track_free(p, usable)        p comes back: memcheck sees it freed; its usable bytes are the
 *                                   allocator's again (accessible, for links and poison).
 *   ta_track_resize(p, size)        p, taken back by ta_track_free, goes to the user again with
 *                                   size bytes, contents kept (marked defined). memcheck's
 *                                   RESIZEINPLACE needs the old requested size, which tamalloc
 *                                   does not record, so a resize is a free and a malloc.
 *   ta_track_mem_defined(p, size)   size bytes at p hold defined values (calloc from a fresh,
 *                                   zero mapping, not memset).
 * Layer L1: includes no alloc/ header; the expansion calls ta_usable_size (tamalloc.h). */
#ifndef TA_TRACK_H
#define TA_TRACK_H

#ifdef TA_VALGRIND

#include <stddef.h>
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>

#define TA_TRACK_ENABLED 1

#define ta_track_malloc(p, size, zero)                                                        \
    do {                                                                                      \
        if ((p) != NULL) {                                                                    \
            size_t ta_track_usable_ = ta_usable_size(p);                                      \
            VALGRIND_MALLOCLIKE_BLOCK((p), (size), 0, (zero));                                \
            VALGRIND_MAKE_MEM_NOACCESS((char *)(p) + (size), ta_track_usable_ - (size));       \
        }                                                                                     \
    } while (0)

#define ta_track_free(p, usable)                                                              \
    do {                                                                                      \
        VALGRIND_FREELIKE_BLOCK((p), 0);                                                      \
        VALGRIND_MAKE_MEM_DEFINED((p), (usable));                                             \
    } while (0)

#define ta_track_resize(p, size) ta_track_malloc((p), (size), 1)

#define ta_track_mem_defined(p, size) VALGRIND_MAKE_MEM_DEFINED((p), (size))

#else

#define TA_TRACK_ENABLED 0
#define ta_track_malloc(p, size, zero) ((void)0)
#define ta_track_free(p, usable) ((void)0)
#define ta_track_resize(p, size) ((void)0)
#define ta_track_mem_defined(p, size) ((void)0)

#endif
#endif /* TA_TRACK_H */
