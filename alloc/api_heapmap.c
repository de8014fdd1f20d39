/* api_heapmap.c - ta_heap_map: every arena's blocks in address order as JSON. A pure writer: the
 * TAMALLOC_HEAP_MAP file and its SIGUSR2 request are the drop-in's (shim/hooks.c).
 *
 * Never allocates: the JSON is formatted by hand into a 4 KiB stack buffer and written to the
 * stream's file descriptor with write(2) whenever the buffer fills. An arena's blocks are written
 * while its lock is held (one arena at a time, in index order, as ta_heap_walk does), so the map
 * of each arena is a consistent snapshot; the totals are read just before. Format (one object):
 *
 *   {"tamalloc_heap_map":1,"segment_size":S,"segment_header":H,
 *    "stats":{"allocated":..,"free":..,"free_blocks":..,"mapped":..,"large_allocated":..,"arenas":..},
 *    "arenas":[{"index":i,"threads":t,"allocated":a,"pending":p,"purged_bytes":g,"dirty_bytes":d,
 *               "segments":[{"base":B,"size":Z,"blocks":[[offset,size,state],...]},...],
 *               "rover":{"segment":k,"offset":o} or null,
 *               "used_bytes":..,"used_blocks":..,"free_bytes":..,"free_blocks":..,
 *               "largest_free":..,"cached_bytes":..,"cached_blocks":..,
 *               "external_fragmentation":1-largest/free (0 when nothing is free)},...]}
 *
 * base is the address of a segment's first block, offsets are from it, sizes include the 16-byte
 * header; blocks tile [0, size); state is 0 allocated, 1 free (on the free list), 2 cached (in a
 * thread's cache). "allocated" is the user's bytes (ta_get_arena_stats), cached bytes excluded. Direct-mmap large blocks are in "stats" only. */
#include <stdint.h>
#include <stdio.h>

#include "tamalloc.h"
#include "alloc/api_internal.h"
#include "alloc/arena_table.h"
#include "alloc/init.h"
#include "alloc/platform/os.h"
#include "alloc/stats.h"

/* ---------------------------------------------------------------------------------------------
 * Output: a stack buffer flushed to a file descriptor.
 * ------------------------------------------------------------------------------------------- */

typedef struct hm_out {
    int fd;             /* destination */
    int failed;         /* a write failed: later output is dropped, the call returns -1 */
    size_t len;         /* bytes in buf */
    char buf[4096];
} hm_out;

static void hm_flush(hm_out *o) {
    if (o->len && !o->failed && ta_os_write_fd(o->fd, o->buf, o->len) != 0) o->failed = 1;
    o->len = 0;
}

static void hm_str(hm_out *o, const char *s) {
    for (; *s; s++) {
        if (o->len == sizeof o->buf) hm_flush(o);
        o->buf[o->len++] = *s;
    }
}

static void hm_u64(hm_out *o, uint64_t v) {
    char tmp[24];
    int n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    if (o->len + (size_t)n > sizeof o->buf) hm_flush(o);
    while (n) o->buf[o->len++] = tmp[--n];
}

/* "name":value with a leading comma unless first. */
static void hm_field(hm_out *o, const char *name, uint64_t v, int first) {
    hm_str(o, first ? "\"" : ",\"");
    hm_str(o, name);
    hm_str(o, "\":");
    hm_u64(o, v);
}

/* 1 - largest/total as a decimal with six places (exact integer arithmetic, no floating point). */
static void hm_fraction(hm_out *o, size_t largest, size_t total) {
    uint64_t ppm = total ? (uint64_t)(((unsigned __int128)(total - largest) * 1000000u) / total) : 0;
    hm_u64(o, ppm / 1000000u);
    hm_str(o, ".");
    char digits[7];
    uint64_t frac = ppm % 1000000u;
    for (int i = 5; i >= 0; i--) { digits[i] = (char)('0' + frac % 10); frac /= 10; }
    digits[6] = 0;
    hm_str(o, digits);
}

/* ---------------------------------------------------------------------------------------------
 * The walk: one arena, under its lock (ta_arena_walk holds it while visiting).
 * ------------------------------------------------------------------------------------------- */

typedef struct hm_arena {
    hm_out *o;
    ta_segment *seg;        /* segment of the previous block, NULL before the first */
    size_t nseg;            /* segments opened so far */
    long rover_seg;         /* -1: no rover block seen */
    size_t rover_off;
    size_t used_bytes, used_blocks, free_bytes, free_blocks, largest_free, cached_bytes, cached_blocks;
    int first_block;        /* no block written yet in the current segment */
} hm_arena;

static int hm_visit(ta_arena *a, ta_block *b, int is_free, int is_rover, void *ctx) {
    (void)a;
    hm_arena *h = ctx;
    ta_segment *s = ta_segment_of(b);
    if (s != h->seg) {
        hm_str(h->o, h->seg ? "]},{" : "{");
        hm_field(h->o, "base", (uint64_t)(uintptr_t)s->start, 1);
        hm_field(h->o, "size", (uint64_t)(s->end - s->start), 0);
        hm_str(h->o, ",\"blocks\":[");
        h->seg = s;
        h->nseg++;
        h->first_block = 1;
    }
    size_t off = (size_t)((char *)b - s->start);
    hm_str(h->o, h->first_block ? "[" : ",[");
    hm_u64(h->o, off);
    hm_str(h->o, ",");
    hm_u64(h->o, b->size);
    int cached = !is_free && ta_block_state(b) == TA_STATE_CACHED;
    hm_str(h->o, is_free ? ",1]" : cached ? ",2]" : ",0]");
    h->first_block = 0;
    if (is_free) {
        h->free_bytes += b->size;
        h->free_blocks++;
        if (b->size > h->largest_free) h->largest_free = b->size;
    } else if (cached) {
        h->cached_bytes += b->size;
        h->cached_blocks++;
    } else {
        h->used_bytes += b->size;
        h->used_blocks++;
    }
    if (is_rover) {
        h->rover_seg = (long)h->nseg - 1;
        h->rover_off = off;
    }
    return 0;
}

static void hm_arena_write(hm_out *o, ta_arena *a, const ta_arena_stats *as, int first) {
    hm_arena h = {o, NULL, 0, -1, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    hm_str(o, first ? "{" : ",{");
    hm_field(o, "index", as->index, 1);
    if (as->user) hm_str(o, ",\"user\":true");   /* a user heap (ta_heap_new) */
    hm_field(o, "threads", as->threads, 0);
    hm_field(o, "allocated", as->allocated, 0);
    hm_field(o, "pending", as->remote_pending, 0);
    hm_field(o, "purged_bytes", as->purged, 0);
    hm_field(o, "dirty_bytes", as->dirty, 0);
    hm_str(o, ",\"segments\":[");
    ta_arena_walk(a, hm_visit, &h);
    hm_str(o, h.seg ? "]}]" : "]");
    if (h.rover_seg >= 0) {
        hm_str(o, ",\"rover\":{");
        hm_field(o, "segment", (uint64_t)h.rover_seg, 1);
        hm_field(o, "offset", h.rover_off, 0);
        hm_str(o, "}");
    } else {
        hm_str(o, ",\"rover\":null");
    }
    hm_field(o, "used_bytes", h.used_bytes, 0);
    hm_field(o, "used_blocks", h.used_blocks, 0);
    hm_field(o, "free_bytes", h.free_bytes, 0);
    hm_field(o, "free_blocks", h.free_blocks, 0);
    hm_field(o, "largest_free", h.largest_free, 0);
    hm_field(o, "cached_bytes", h.cached_bytes, 0);
    hm_field(o, "cached_blocks", h.cached_blocks, 0);
    hm_str(o, ",\"external_fragmentation\":");
    hm_fraction(o, h.largest_free, h.free_bytes);
    hm_str(o, "}");
}

int ta_heapmap_write_fd(int fd) {
    hm_out o;
    o.fd = fd;
    o.failed = 0;
    o.len = 0;
    ta_stats t;
    ta_stats_gather(&t);
    hm_str(&o, "{");
    hm_field(&o, "tamalloc_heap_map", 1, 1);
    hm_field(&o, "segment_size", TA_SEGMENT_SIZE, 0);
    hm_field(&o, "segment_header", TA_SEGMENT_HEADER_SIZE, 0);
    hm_str(&o, ",\"stats\":{");
    hm_field(&o, "allocated", t.allocated, 1);
    hm_field(&o, "free", t.free, 0);
    hm_field(&o, "free_blocks", t.free_blocks, 0);
    hm_field(&o, "mapped", t.mapped, 0);
    hm_field(&o, "large_allocated", t.large_allocated, 0);
    hm_field(&o, "arenas", t.arenas, 0);
    hm_str(&o, "},\"arenas\":[");
    ta_arena_stats as;
    int first = 1;
    for (unsigned i = 0; ta_stats_gather_arena(i, &as); i++) {
        ta_arena *a = ta_arena_table_get(i);
        if (!as.in_use || !a) continue;
        hm_arena_write(&o, a, &as, first);
        first = 0;
    }
    hm_str(&o, "]}\n");
    hm_flush(&o);
    return o.failed ? -1 : 0;
}

/* ---------------------------------------------------------------------------------------------
 * Public entry point.
 * ------------------------------------------------------------------------------------------- */

TA_EXPORT int ta_heap_map(FILE *out) {
    ta_init();
    int fd = out ? fileno(out) : -1;
    if (fd < 0) return -1;
    if (fflush(out) != 0) return -1;   /* what the caller already wrote comes first */
    return ta_heapmap_write_fd(fd);
}
