/* shim/introspect.c - the C library's heap-introspection names (glibc 2.36's <malloc.h>): mallinfo,
 * mallinfo2, malloc_stats, malloc_info and mallopt, answered from tamalloc's own figures. Under
 * LD_PRELOAD or the static override a program asking glibc's questions is told about the heap that
 * serves it, not about glibc's arena, which it no longer uses. Goes wherever shim/override.c goes.
 *
 * Relies on: stats.c for one snapshot of the totals with the large-block figures they were computed
 * from (ta_stats_gather_large), and for each arena's figures with its free list by size class
 * (ta_stats_gather_arena_sizes), each read under the arena's lock and released on return; init.c and
 * arena_table.c for the two settings mallopt changes at run time (relaxed atomics read on slow paths
 * only: the fast paths of api_fast.h read neither). Writing to a FILE may allocate (stdio buffers
 * and locks), which re-enters malloc: nothing here holds a lock while it writes.
 *
 * What each field and parameter means is in tamalloc(3), "The C library's heap introspection";
 * keep the two in step. */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>

#include "tamalloc.h"
#include "alloc/arena_table.h"
#include "alloc/config.h"
#include "alloc/init.h"
#include "alloc/large.h"
#include "alloc/platform/compiler.h"
#include "alloc/stats.h"

/* ---------------------------------------------------------------------------------------------
 * mallinfo2, mallinfo
 * ------------------------------------------------------------------------------------------- */

/* One snapshot of the whole heap in glibc's fields. The thread caches play the part of glibc's
 * fastbins (freed blocks kept aside for reuse, not coalesced): smblks/fsmblks, and part of fordblks
 * as glibc counts its fastbins there. Freed large mappings kept for reuse are in keepcost only. */
static struct mallinfo2 introspect_info(void) {
    ta_stats s;
    ta_large_totals lt;
    ta_init();
    ta_stats_gather_large(&s, &lt);
    struct mallinfo2 m = {0};
    m.arena = s.mapped - lt.mapped;                 /* the arenas' segments: s.mapped counts lt.mapped */
    m.ordblks = s.free_blocks;                      /* free blocks of the arenas */
    m.smblks = s.cached_blocks;                     /* blocks in the threads' caches */
    m.hblks = lt.live;                              /* live blocks with a mapping of their own */
    m.hblkhd = lt.mapped >= lt.cached ? lt.mapped - lt.cached : 0;   /* the bytes mapped for them */
    m.usmblks = 0;                                  /* no analogue (glibc: always 0 too) */
    m.fsmblks = s.cached;                           /* usable bytes in the threads' caches */
    m.uordblks = s.allocated - s.large_allocated;   /* usable bytes of live arena blocks */
    m.fordblks = s.free + s.cached;                 /* free bytes of the arenas, caches included */
    m.keepcost = s.dirty + s.large_cached;          /* at most what malloc_trim could give back now */
    return m;
}

TA_EXPORT struct mallinfo2 mallinfo2(void) { return introspect_info(); }

/* glibc's int fields wrap past 2 GiB; here they stop at INT_MAX (use mallinfo2 for the real value). */
static int introspect_int(size_t v) { return v > (size_t)INT_MAX ? INT_MAX : (int)v; }

TA_EXPORT struct mallinfo mallinfo(void) {
    struct mallinfo2 m2 = introspect_info();
    struct mallinfo m = {
        .arena = introspect_int(m2.arena),
        .ordblks = introspect_int(m2.ordblks),
        .smblks = introspect_int(m2.smblks),
        .hblks = introspect_int(m2.hblks),
        .hblkhd = introspect_int(m2.hblkhd),
        .usmblks = introspect_int(m2.usmblks),
        .fsmblks = introspect_int(m2.fsmblks),
        .uordblks = introspect_int(m2.uordblks),
        .fordblks = introspect_int(m2.fordblks),
        .keepcost = introspect_int(m2.keepcost),
    };
    return m;
}

/* ---------------------------------------------------------------------------------------------
 * malloc_stats, malloc_info
 * ------------------------------------------------------------------------------------------- */

/* glibc prints its per-arena table on stderr; this is the TAMALLOC_STATS report (ta_stats_print,
 * formatted into a stack buffer before the one write). */
TA_EXPORT void malloc_stats(void) { ta_stats_print(stderr); }

/* glibc's XML, one <heap> per arena in use (nr = the arena's index, as in ta_get_arena_stats and
 * the stats report), then the process totals. Each arena's figures are gathered (its lock taken and
 * released) before its element is written. glibc 2.36 returns EINVAL itself for options != 0 and
 * leaves errno; its manual page, followed here, says -1 with errno EINVAL. */
TA_EXPORT int malloc_info(int options, FILE *fp) {
    if (options != 0) {
        errno = EINVAL;
        return -1;
    }
    ta_init();
    size_t fast_n = 0, fast_bytes = 0, rest_n = 0, rest_bytes = 0, system = 0;
    ta_arena_stats as;
    ta_stats_sizes sz;
    fputs("<malloc version=\"1\">\n", fp);
    for (unsigned i = 0; ta_stats_gather_arena_sizes(i, &as, &sz); i++) {
        if (!as.in_use) continue;
        fprintf(fp, "<heap nr=\"%u\">\n<sizes>\n", as.index);
        for (unsigned c = 0; c < TA_STATS_SIZE_CLASSES; c++)
            if (sz.count[c])
                fprintf(fp, "  <size from=\"%zu\" to=\"%zu\" total=\"%zu\" count=\"%zu\"/>\n", (size_t)TA_MIN_BLOCK << c,
                        ((size_t)TA_MIN_BLOCK << (c + 1)) - 1, sz.bytes[c], sz.count[c]);
        fprintf(fp,
                "</sizes>\n<total type=\"fast\" count=\"%zu\" size=\"%zu\"/>\n"
                "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n"
                "<system type=\"current\" size=\"%zu\"/>\n<system type=\"max\" size=\"0\"/>\n"
                "<aspace type=\"total\" size=\"%zu\"/>\n<aspace type=\"mprotect\" size=\"%zu\"/>\n</heap>\n",
                as.cached_blocks, as.cached, as.free_blocks, as.free, as.mapped, as.mapped, as.mapped);
        fast_n += as.cached_blocks;
        fast_bytes += as.cached;
        rest_n += as.free_blocks;
        rest_bytes += as.free;
        system += as.mapped;
    }
    ta_large_totals lt;
    ta_large_get_totals(&lt);
    fprintf(fp,
            "<total type=\"fast\" count=\"%zu\" size=\"%zu\"/>\n<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n"
            "<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>\n"
            "<system type=\"current\" size=\"%zu\"/>\n<system type=\"max\" size=\"0\"/>\n"
            "<aspace type=\"total\" size=\"%zu\"/>\n<aspace type=\"mprotect\" size=\"%zu\"/>\n</malloc>\n",
            fast_n, fast_bytes, rest_n, rest_bytes, lt.live, lt.mapped >= lt.cached ? lt.mapped - lt.cached : 0,
            system, system, system);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * mallopt
 * ------------------------------------------------------------------------------------------- */

/* 1 when the setting is in effect after the call, 0 when tamalloc does not apply it (glibc 2.36
 * returns 1 for most values and for unknown parameters; a 0 here says "not so"). The one exception,
 * M_TRIM_THRESHOLD, is accepted as glibc accepts it, with no effect (tamalloc(3) says why). */
TA_EXPORT int mallopt(int param, int value) {
    ta_init();
    switch (param) {
    case M_MMAP_THRESHOLD:   /* as TAMALLOC_MMAP_THRESHOLD: fixed from now on, within its range */
        if (value < (int)TA_MMAP_THRESHOLD_MIN || (size_t)value > TA_MMAP_THRESHOLD_MAX) return 0;
        ta_small_limit_fix((size_t)value);
        return 1;
    case M_ARENA_MAX:        /* threads that get their arena from now on use the first `value` */
        if (value <= 0) return 0;
        ta_arena_table_set_limit((unsigned)value);
        return 1;
    case M_TRIM_THRESHOLD:   /* memory goes back by age (TAMALLOC_DECAY_MS), not by a size */
        return 1;
    case M_CHECK_ACTION:     /* misuse is always reported and aborts: the values asking to abort */
        return value >= 0 && value <= 7 && (value & 2) != 0;
    default:                 /* M_MXFAST, M_TOP_PAD, M_MMAP_MAX, M_PERTURB, M_ARENA_TEST, unknown */
        return 0;
    }
}
