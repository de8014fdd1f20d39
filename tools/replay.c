/* replay.c - the fit-policy explorer: replays a TAMALLOC_TRACE file (alloc/trace.h) against a
 * simulated allocator core under several placement policies and reports, per policy, peak mapped
 * bytes against peak live bytes, external fragmentation over time, search steps per allocation
 * and time. The policies other than next-fit exist here only; tamalloc itself stays next-fit.
 *
 * The simulated core is tamalloc's arena, single arena: 4 MiB segments of 4160960 bytes of block
 * area, blocks of round16(n + 16) bytes (min 32), split from the front of a free block, immediate
 * coalescing both sides, requests >= 128 KiB outside the heap (counted apart, the same for every
 * policy), a segment released when it becomes wholly free unless it is the last one. Realloc is
 * modelled as allocate, copy, free (no in-place resizing) and an aligned request of alignment
 * A > 16 as a request A bytes larger, for every policy alike.
 *
 * Policies 1-5 share one implementation of the address-ordered free list (a sorted array of free
 * blocks; coalescing finds the neighbours by binary search) and differ only in which block the
 * search picks, so their figures are directly comparable:
 *   next-fit   from the rover, wrapping once; rover -> the remainder after a split, else the next
 *              free block (classic next-fit, tamalloc's rule until 2026-11-30);
 *   next-fit-tail  the same, but a segment's tail (the free block ending at its segment's end) is
 *              kept for last: taken only when no other block fits among the 16 after it
 *              (tamalloc's rule: alloc/freelist.c, TA_FL_TAIL_STEPS);
 *   first-fit  from the lowest address;   best-fit  the smallest that fits (lowest address on a
 *              tie; stops at an exact fit);   worst-fit  the largest (scans the whole list).
 * Two structurally different designs for contrast:
 *   segregated size classes (16-byte steps to 512, then 4 per power of two): each class carves
 *              64 KiB (or 8-slot) spans from the same address-ordered heap (first-fit) and keeps a
 *              LIFO list of free slots; slots never coalesce; an empty span goes back to the heap;
 *   buddy      binary buddy system over each 4 MiB segment: blocks of 2^k >= n + 16 bytes,
 *              split in halves, merged with a free buddy.
 * Steps: free-list entries examined (list policies), class/span lookups (segregated), order lists
 * examined plus splits (buddy). External fragmentation = 1 - largest free block / free bytes, over
 * the heap (a free slot counts as a free block of its size), sampled 200 times over the trace.
 *
 * Usage: replay [--policy NAME]... [--md FILE] [--series FILE] [--placements] [--counts] TRACE
 *   --md FILE      the markdown table (also printed on stdout)
 *   --series FILE  CSV policy,op,ext_frag,mapped,live (the plot's data)
 *   --placements   prints "policy obj offset" for every heap allocation (tests)
 *   --counts       prints the trace's op counts and exits
 * Exit status 0, 1 on a bad trace, 2 on usage errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The trace format of alloc/trace.h, restated: tools/ sees only the files, not the library's
 * internals. trace_test (tools/BUILD) replays a trace written by libtamalloc.so, so a drift fails. */
#define TA_TRACE_MAGIC "TATRACE1"
#define TA_TRACE_VERSION 1u
enum { TA_TRACE_MALLOC = 1, TA_TRACE_FREE = 2, TA_TRACE_CALLOC = 3, TA_TRACE_REALLOC = 4, TA_TRACE_ALIGNED = 5 };
typedef struct ta_trace_rec {
    uint64_t seq, ptr, size, aux;
    uint32_t thread, op;
} ta_trace_rec;
_Static_assert(sizeof(ta_trace_rec) == 40, "40-byte records");

/* ---------------------------------------------------------------------------------------------
 * Constants of the simulated core (tamalloc's).
 * ------------------------------------------------------------------------------------------- */

#define SEG_SIZE ((uint64_t)4 << 20)           /* mapped per segment */
#define SEG_DATA ((uint64_t)4160960)           /* block area per segment (tamalloc's) */
#define SEG_SPACING ((uint64_t)8 << 20)        /* simulated addresses: segments never touch */
#define HDR 16u
#define MIN_BLOCK 32u
#define LARGE_THRESHOLD ((uint64_t)128 << 10)
#define MAX_SEGS 4096
#define SAMPLES 200

static uint64_t block_size_for(uint64_t n) {
    uint64_t b = (n + HDR + 15) & ~(uint64_t)15;
    return b < MIN_BLOCK ? MIN_BLOCK : b;
}

static void *xmalloc(size_t n) {
    void *p = calloc(1, n ? n : 1);
    if (!p) { fprintf(stderr, "replay: out of memory\n"); exit(1); }
    return p;
}
static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n);
    if (!p) { fprintf(stderr, "replay: out of memory\n"); exit(1); }
    return p;
}

/* ---------------------------------------------------------------------------------------------
 * The trace as a list of operations on object ids.
 * ------------------------------------------------------------------------------------------- */

enum { OP_ALLOC = 1, OP_FREE = 2, OP_REALLOC = 3 };

typedef struct op {
    uint8_t kind;
    uint32_t obj;       /* the object allocated / freed / the new object of a realloc */
    uint32_t old;       /* realloc: the object it replaces */
    uint64_t size;      /* bytes asked (alignment surplus included) */
} op;

typedef struct trace {
    op *ops;
    size_t nops, nobjs;
    size_t counts[6];          /* records per ta_trace_op */
    size_t records, threads;
    size_t anomalies;          /* an allocation at an address still live (overlapping cross-thread calls) */
    size_t unmatched;          /* frees / reallocs of addresses not allocated in the trace */
    size_t failed;             /* allocation calls that returned NULL */
} trace;

static int rec_cmp(const void *a, const void *b) {
    const ta_trace_rec *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* addr -> live object id: open addressing, tombstones, grows at 50 % load. */
typedef struct amap { uint64_t *key; uint32_t *val; size_t cap, used; } amap;
#define AMAP_EMPTY 0
#define AMAP_DEAD 1

static size_t amap_slot(const amap *m, uint64_t k) {
    uint64_t h = k * 0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 17) & (m->cap - 1);
}
static void amap_put(amap *m, uint64_t k, uint32_t v);
static void amap_grow(amap *m) {
    amap old = *m;
    m->cap = old.cap ? old.cap * 2 : 1 << 16;
    m->key = xmalloc(m->cap * sizeof *m->key);
    m->val = xmalloc(m->cap * sizeof *m->val);
    m->used = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.key[i] > AMAP_DEAD) amap_put(m, old.key[i], old.val[i]);
    free(old.key);
    free(old.val);
}
static long amap_find(const amap *m, uint64_t k) {
    if (!m->cap) return -1;
    for (size_t i = amap_slot(m, k);; i = (i + 1) & (m->cap - 1)) {
        if (m->key[i] == k) return (long)i;
        if (m->key[i] == AMAP_EMPTY) return -1;
    }
}
static void amap_put(amap *m, uint64_t k, uint32_t v) {
    if ((m->used + 1) * 2 > m->cap) amap_grow(m);
    size_t i = amap_slot(m, k);
    while (m->key[i] > AMAP_DEAD) i = (i + 1) & (m->cap - 1);
    m->key[i] = k;
    m->val[i] = v;
    m->used++;
}

static void push_op(trace *t, size_t *cap, op o) {
    if (t->nops == *cap) {
        *cap = *cap ? *cap * 2 : 1 << 16;
        t->ops = xrealloc(t->ops, *cap * sizeof *t->ops);
    }
    t->ops[t->nops++] = o;
}

static int load_trace(const char *path, trace *t) {
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "replay: %s: %s\n", path, strerror(errno)); return -1; }
    struct { char magic[8]; uint32_t rec_size, version; } h;
    if (fread(&h, sizeof h, 1, f) != 1 || memcmp(h.magic, TA_TRACE_MAGIC, 8) != 0 ||
        h.rec_size != sizeof(ta_trace_rec) || h.version != TA_TRACE_VERSION) {
        fprintf(stderr, "replay: %s: not a tamalloc trace (TATRACE1, 40-byte records)\n", path);
        fclose(f);
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    ta_trace_rec *r = xmalloc(cap * sizeof *r);
    for (;;) {
        if (n == cap) r = xrealloc(r, (cap *= 2) * sizeof *r);
        size_t got = fread(r + n, sizeof *r, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    fclose(f);
    qsort(r, n, sizeof *r, rec_cmp);
    t->records = n;
    amap live = {0};
    size_t opcap = 0;
    uint32_t tids[64];
    size_t ntids = 0;
    for (size_t i = 0; i < n; i++) {
        ta_trace_rec *x = &r[i];
        if (x->op >= 1 && x->op <= 5) t->counts[x->op]++;
        int seen = 0;
        for (size_t k = 0; k < ntids; k++) seen |= tids[k] == x->thread;
        if (!seen && ntids < 64) tids[ntids++] = x->thread;
        if (!seen) t->threads++;
        uint64_t extra = (x->op == TA_TRACE_ALIGNED && x->aux > 16) ? x->aux : 0;
        if (x->op == TA_TRACE_FREE) {
            long s = amap_find(&live, x->ptr);
            if (s < 0) { t->unmatched++; continue; }
            push_op(t, &opcap, (op){OP_FREE, live.val[s], 0, 0});
            live.key[s] = AMAP_DEAD;
            continue;
        }
        if (x->op < 1 || x->op > 5) { fprintf(stderr, "replay: bad op %u in record %zu\n", x->op, i); return -1; }
        if (x->ptr == 0) { t->failed++; continue; }
        long old = -1;
        if (x->op == TA_TRACE_REALLOC && x->aux) {
            old = amap_find(&live, x->aux);
            if (old < 0) t->unmatched++;
        }
        uint32_t oldobj = old >= 0 ? live.val[old] : 0;
        if (old >= 0) live.key[old] = AMAP_DEAD;   /* the realloc's old address is free again */
        long clash = amap_find(&live, x->ptr);
        if (clash >= 0) {   /* still live here: its free was ordered after this allocation */
            t->anomalies++;
            push_op(t, &opcap, (op){OP_FREE, live.val[clash], 0, 0});
            live.key[clash] = AMAP_DEAD;
        }
        uint32_t obj = (uint32_t)t->nobjs++;
        if (old >= 0) push_op(t, &opcap, (op){OP_REALLOC, obj, oldobj, x->size + extra});
        else push_op(t, &opcap, (op){OP_ALLOC, obj, 0, x->size + extra});
        amap_put(&live, x->ptr, obj);
    }
    free(live.key);
    free(live.val);
    free(r);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Shared heap: segments and the address-ordered free list (sorted array).
 * ------------------------------------------------------------------------------------------- */

typedef struct fblock { uint64_t addr, size; } fblock;

typedef struct heap {
    fblock *f;              /* free blocks, ascending address */
    size_t n, cap;
    size_t rover;           /* next-fit: index into f (== n means "start at 0") */
    uint8_t seg_used[MAX_SEGS];
    size_t nsegs;           /* mapped segments */
    uint64_t steps, searches;
} heap;

static size_t fl_lower(const heap *h, uint64_t addr) {   /* first index with f[i].addr >= addr */
    size_t lo = 0, hi = h->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (h->f[mid].addr < addr) lo = mid + 1; else hi = mid;
    }
    return lo;
}
static void fl_insert_at(heap *h, size_t i, fblock b) {
    if (h->n == h->cap) h->f = xrealloc(h->f, (h->cap = h->cap ? h->cap * 2 : 1024) * sizeof *h->f);
    memmove(h->f + i + 1, h->f + i, (h->n - i) * sizeof *h->f);
    h->f[i] = b;
    h->n++;
    if (h->rover >= i && h->rover < h->n - 1) h->rover++;
}
static void fl_remove_at(heap *h, size_t i) {
    memmove(h->f + i, h->f + i + 1, (h->n - i - 1) * sizeof *h->f);
    h->n--;
    if (h->rover > i) h->rover--;
    if (h->rover >= h->n) h->rover = 0;
}

static uint64_t seg_base(size_t k) { return (uint64_t)(k + 1) * SEG_SPACING; }

static int heap_grow(heap *h) {
    for (size_t k = 0; k < MAX_SEGS; k++) {
        if (h->seg_used[k]) continue;
        h->seg_used[k] = 1;
        h->nsegs++;
        fblock b = {seg_base(k), SEG_DATA};
        fl_insert_at(h, fl_lower(h, b.addr), b);
        return 1;
    }
    return 0;
}

/* Frees [addr, addr + size): coalesces with free neighbours; releases a wholly free segment unless
 * it is the last one. Returns the index of the resulting free block (or SIZE_MAX if released). */
static size_t heap_release(heap *h, uint64_t addr, uint64_t size) {
    size_t i = fl_lower(h, addr);
    int left = i > 0 && h->f[i - 1].addr + h->f[i - 1].size == addr;
    int right = i < h->n && h->f[i].addr == addr + size;
    size_t at;
    if (left && right) {
        h->f[i - 1].size += size + h->f[i].size;
        if (h->rover == i) h->rover = i - 1;
        fl_remove_at(h, i);
        at = i - 1;
    } else if (left) {
        h->f[i - 1].size += size;
        at = i - 1;
    } else if (right) {
        h->f[i].addr = addr;
        h->f[i].size += size;
        at = i;
    } else {
        fl_insert_at(h, i, (fblock){addr, size});
        at = i;
    }
    if (h->f[at].size == SEG_DATA && h->nsegs > 1) {
        size_t k = (size_t)(h->f[at].addr / SEG_SPACING) - 1;
        h->seg_used[k] = 0;
        h->nsegs--;
        fl_remove_at(h, at);
        return SIZE_MAX;
    }
    return at;
}

enum policy { P_NEXT, P_NEXT_TAIL, P_FIRST, P_BEST, P_WORST, P_SEGREGATED, P_BUDDY, P_COUNT };
static const char *const policy_names[P_COUNT] = {"next-fit",  "next-fit-tail", "first-fit", "best-fit",
                                                  "worst-fit", "segregated",    "buddy"};

/* Free block i ends at its segment's end: the segment's tail. */
static int heap_is_tail(const heap *h, size_t i) { return (h->f[i].addr + h->f[i].size) % SEG_SPACING == SEG_DATA; }

/* Steps the next-fit-tail search looks on past a tail that fits (alloc/config.h: TA_FL_TAIL_STEPS). */
#define TAIL_STEPS 16u

/* The index of the free block the policy picks for bsize, or SIZE_MAX (steps counted). */
static size_t heap_search(heap *h, enum policy p, uint64_t bsize) {
    h->searches++;
    if (h->n == 0) return SIZE_MAX;
    size_t pick = SIZE_MAX;
    if (p == P_NEXT || p == P_FIRST) {   /* classic next-fit and first-fit */
        size_t start = p == P_NEXT && h->rover < h->n ? h->rover : 0;
        for (size_t k = 0; k < h->n; k++) {
            size_t i = (start + k) % h->n;
            h->steps++;
            if (h->f[i].size >= bsize) return i;
        }
        return SIZE_MAX;
    }
    if (p == P_NEXT_TAIL) {
        size_t start = h->rover < h->n ? h->rover : 0, after = 0;
        for (size_t k = 0; k < h->n; k++) {
            size_t i = (start + k) % h->n;
            h->steps++;
            if (h->f[i].size >= bsize) {
                if (!heap_is_tail(h, i)) return i;
                if (pick == SIZE_MAX) pick = i;
            }
            if (pick != SIZE_MAX && ++after > TAIL_STEPS) break;
        }
        return pick;
    }
    for (size_t i = 0; i < h->n; i++) {
        h->steps++;
        uint64_t s = h->f[i].size;
        if (s < bsize) continue;
        if (p == P_BEST) {
            if (pick == SIZE_MAX || s < h->f[pick].size) pick = i;
            if (s == bsize) break;
        } else if (pick == SIZE_MAX || s > h->f[pick].size) {
            pick = i;
        }
    }
    return pick;
}

/* Carves bsize bytes from the front of free block i (the remainder keeps its list place). */
static uint64_t heap_carve(heap *h, size_t i, uint64_t bsize, uint64_t *got) {
    fblock *b = &h->f[i];
    uint64_t addr = b->addr, rest = b->size - bsize;
    if (rest < MIN_BLOCK) {
        *got = b->size;
        fl_remove_at(h, i);
        h->rover = i < h->n ? i : 0;   /* the next free block, wrapping */
    } else {
        *got = bsize;
        b->addr += bsize;
        b->size = rest;
        h->rover = i;
    }
    return addr;
}

static uint64_t heap_alloc(heap *h, enum policy p, uint64_t bsize, uint64_t *got) {
    size_t i = heap_search(h, p, bsize);
    while (i == SIZE_MAX) {
        if (!heap_grow(h)) { fprintf(stderr, "replay: more than %d segments\n", MAX_SEGS); exit(1); }
        i = heap_search(h, p, bsize);
        h->searches--;   /* one allocation, one search */
    }
    return heap_carve(h, i, bsize, got);
}

static void heap_frag(const heap *h, uint64_t *free_bytes, uint64_t *largest) {
    for (size_t i = 0; i < h->n; i++) {
        *free_bytes += h->f[i].size;
        if (h->f[i].size > *largest) *largest = h->f[i].size;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Segregated size classes over the heap.
 * ------------------------------------------------------------------------------------------- */

#define SEG_CLASSES 96
#define SPAN_BYTES ((uint64_t)64 << 10)

typedef struct span {
    uint64_t addr, bytes;     /* from the heap */
    uint32_t cls, nslots, nfree;
    uint32_t *free_slots;     /* LIFO stack of free slot indexes */
    uint32_t next_free_span;  /* class list of spans with free slots (UINT32_MAX ends) */
    int listed;
} span;

typedef struct segregated {
    uint64_t class_size[SEG_CLASSES];
    int nclasses;
    span *spans;
    size_t nspans, cap;
    uint32_t class_head[SEG_CLASSES];   /* spans with a free slot */
    uint32_t *dead;                     /* released span ids, reused */
    size_t ndead;
    uint64_t free_slot_bytes;
} segregated;

static void seg_init(segregated *s) {
    memset(s, 0, sizeof *s);
    int n = 0;
    for (uint64_t c = 32; c <= 512; c += 16) s->class_size[n++] = c;
    for (uint64_t p2 = 512; p2 < LARGE_THRESHOLD + 1024; p2 *= 2)
        for (int q = 1; q <= 4 && n < SEG_CLASSES; q++) s->class_size[n++] = p2 + p2 * (uint64_t)q / 4;
    s->nclasses = n;
    for (int i = 0; i < SEG_CLASSES; i++) s->class_head[i] = UINT32_MAX;
}

static int seg_class(const segregated *s, uint64_t bsize, uint64_t *steps) {
    int lo = 0, hi = s->nclasses - 1;
    while (lo < hi) {   /* binary search: counted as steps */
        int mid = (lo + hi) / 2;
        (*steps)++;
        if (s->class_size[mid] < bsize) lo = mid + 1; else hi = mid;
    }
    return lo;
}

typedef struct handle { uint64_t addr, bytes; uint32_t span, slot; } handle;

static void seg_alloc(segregated *s, heap *h, uint64_t bsize, handle *out) {
    h->searches++;
    int c = seg_class(s, bsize, &h->steps);
    uint64_t csize = s->class_size[c];
    uint32_t id = s->class_head[c];
    h->steps++;
    if (id == UINT32_MAX) {   /* a new span from the heap (first-fit) */
        uint64_t bytes = csize * 8 > SPAN_BYTES ? csize * 8 : SPAN_BYTES, got;
        if (bytes > SEG_DATA) bytes = csize;
        uint64_t searches = h->searches;
        uint64_t addr = heap_alloc(h, P_FIRST, bytes, &got);
        h->searches = searches;
        if (s->ndead) id = s->dead[--s->ndead];
        else {
            if (s->nspans == s->cap) s->spans = xrealloc(s->spans, (s->cap = s->cap ? s->cap * 2 : 256) * sizeof *s->spans);
            id = (uint32_t)s->nspans++;
            s->spans[id].free_slots = NULL;
        }
        span *sp = &s->spans[id];
        uint32_t *slots = sp->free_slots;
        *sp = (span){addr, got, (uint32_t)c, (uint32_t)(got / csize), 0, NULL, UINT32_MAX, 1};
        sp->free_slots = xrealloc(slots, sp->nslots * sizeof(uint32_t));
        for (uint32_t k = 0; k < sp->nslots; k++) sp->free_slots[k] = sp->nslots - 1 - k;
        sp->nfree = sp->nslots;
        s->free_slot_bytes += sp->nslots * csize;
        s->class_head[c] = id;
    }
    span *sp = &s->spans[id];
    uint32_t slot = sp->free_slots[--sp->nfree];
    s->free_slot_bytes -= csize;
    if (sp->nfree == 0) { s->class_head[c] = sp->next_free_span; sp->listed = 0; }
    *out = (handle){sp->addr + slot * csize, csize, id, slot};
}

static void seg_free(segregated *s, heap *h, const handle *hd) {
    span *sp = &s->spans[hd->span];
    uint64_t csize = s->class_size[sp->cls];
    sp->free_slots[sp->nfree++] = hd->slot;
    s->free_slot_bytes += csize;
    if (!sp->listed) { sp->next_free_span = s->class_head[sp->cls]; s->class_head[sp->cls] = hd->span; sp->listed = 1; }
    if (sp->nfree == sp->nslots) {   /* empty span: unlink it and give its bytes back to the heap */
        uint32_t *at = &s->class_head[sp->cls];
        while (*at != hd->span) at = &s->spans[*at].next_free_span;
        *at = sp->next_free_span;
        s->free_slot_bytes -= (uint64_t)sp->nslots * csize;
        heap_release(h, sp->addr, sp->bytes);
        if (s->ndead % 256 == 0) s->dead = xrealloc(s->dead, (s->ndead + 256) * sizeof *s->dead);
        s->dead[s->ndead++] = hd->span;
        sp->listed = 0;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Binary buddy over 4 MiB segments.
 * ------------------------------------------------------------------------------------------- */

#define BUDDY_MIN_ORDER 5      /* 32 bytes */
#define BUDDY_MAX_ORDER 22     /* 4 MiB: a whole segment */
#define BUDDY_GRANULES ((size_t)1 << (BUDDY_MAX_ORDER - BUDDY_MIN_ORDER))

typedef struct buddy {
    uint8_t *order;            /* per granule of mapped segments: order + 1 of a free block starting there, else 0 */
    uint32_t *next, *prev;     /* free lists by granule id (UINT32_MAX ends) */
    uint32_t head[BUDDY_MAX_ORDER + 1];
    uint8_t seg_used[MAX_SEGS];
    size_t nsegs, maxseg;
    uint64_t free_bytes;
} buddy;

static void buddy_link(buddy *b, uint32_t g, int k) {
    b->order[g] = (uint8_t)(k + 1);
    b->prev[g] = UINT32_MAX;
    b->next[g] = b->head[k];
    if (b->head[k] != UINT32_MAX) b->prev[b->head[k]] = g;
    b->head[k] = g;
    b->free_bytes += (uint64_t)1 << k;
}
static void buddy_unlink(buddy *b, uint32_t g, int k) {
    if (b->prev[g] != UINT32_MAX) b->next[b->prev[g]] = b->next[g]; else b->head[k] = b->next[g];
    if (b->next[g] != UINT32_MAX) b->prev[b->next[g]] = b->prev[g];
    b->order[g] = 0;
    b->free_bytes -= (uint64_t)1 << k;
}
static void buddy_init(buddy *b) {
    memset(b, 0, sizeof *b);
    for (int k = 0; k <= BUDDY_MAX_ORDER; k++) b->head[k] = UINT32_MAX;
}
static void buddy_add_segment(buddy *b) {
    size_t k = 0;
    while (k < MAX_SEGS && b->seg_used[k]) k++;
    if (k == MAX_SEGS) { fprintf(stderr, "replay: more than %d segments\n", MAX_SEGS); exit(1); }
    if (k >= b->maxseg) {
        size_t n = (k + 1) * BUDDY_GRANULES, old = b->maxseg * BUDDY_GRANULES;
        b->order = xrealloc(b->order, n);
        b->next = xrealloc(b->next, n * sizeof *b->next);
        b->prev = xrealloc(b->prev, n * sizeof *b->prev);
        memset(b->order + old, 0, n - old);
        b->maxseg = k + 1;
    }
    b->seg_used[k] = 1;
    b->nsegs++;
    buddy_link(b, (uint32_t)(k * BUDDY_GRANULES), BUDDY_MAX_ORDER);
}
static int buddy_order_for(uint64_t n) {
    int k = BUDDY_MIN_ORDER;
    while (((uint64_t)1 << k) < n + HDR) k++;
    return k;
}
static uint32_t buddy_alloc(buddy *b, heap *h, uint64_t n, uint64_t *got) {
    int want = buddy_order_for(n), k;
    h->searches++;
    for (;;) {
        for (k = want; k <= BUDDY_MAX_ORDER; k++) {
            h->steps++;
            if (b->head[k] != UINT32_MAX) break;
        }
        if (k <= BUDDY_MAX_ORDER) break;
        buddy_add_segment(b);
    }
    uint32_t g = b->head[k];
    buddy_unlink(b, g, k);
    while (k > want) {   /* split: the upper half stays free */
        k--;
        h->steps++;
        buddy_link(b, g + (uint32_t)(((size_t)1 << k) >> BUDDY_MIN_ORDER), k);
    }
    *got = (uint64_t)1 << want;
    return g;
}
static void buddy_free(buddy *b, uint32_t g, uint64_t bytes) {
    int k = 0;
    while (((uint64_t)1 << k) < bytes) k++;
    size_t seg = g / BUDDY_GRANULES;
    uint32_t base = (uint32_t)(seg * BUDDY_GRANULES);
    while (k < BUDDY_MAX_ORDER) {
        uint32_t rel = g - base, span = (uint32_t)(((size_t)1 << k) >> BUDDY_MIN_ORDER);
        uint32_t bud = base + (rel ^ span);
        if (b->order[bud] != k + 1) break;
        buddy_unlink(b, bud, k);
        if (bud < g) g = bud;
        k++;
    }
    if (k == BUDDY_MAX_ORDER && b->nsegs > 1) {   /* a wholly free segment is released */
        b->seg_used[seg] = 0;
        b->nsegs--;
        return;
    }
    buddy_link(b, g, k);
}
static uint64_t buddy_largest(const buddy *b) {
    for (int k = BUDDY_MAX_ORDER; k >= 0; k--)
        if (b->head[k] != UINT32_MAX) return (uint64_t)1 << k;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Running one policy over the trace.
 * ------------------------------------------------------------------------------------------- */

typedef struct result {
    uint64_t peak_mapped, peak_live, peak_large;
    double frag_mean, frag_final, frag_max;
    double steps_per_alloc;
    uint64_t allocs, max_steps;
    double seconds;
} result;

typedef struct obj_state { uint64_t addr, bytes, req; uint32_t span, slot; uint8_t where; } obj_state;
enum { W_NONE = 0, W_HEAP = 1, W_LARGE = 2 };

static void run_policy(const trace *t, enum policy p, result *res, FILE *series, int placements) {
    heap h = {0};
    segregated sg;
    buddy bd;
    if (p == P_SEGREGATED) seg_init(&sg);
    if (p == P_BUDDY) buddy_init(&bd);
    obj_state *o = xmalloc(t->nobjs * sizeof *o + 1);
    uint64_t live = 0, large = 0;
    memset(res, 0, sizeof *res);
    size_t every = t->nops / SAMPLES ? t->nops / SAMPLES : 1, nsamples = 0;
    double frag_sum = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < t->nops; i++) {
        const op *x = &t->ops[i];
        if (x->kind == OP_ALLOC || x->kind == OP_REALLOC) {
            obj_state *s = &o[x->obj];
            s->req = x->size;
            if (x->size >= LARGE_THRESHOLD) {
                s->where = W_LARGE;
                s->bytes = (x->size + 4096 + 4095) & ~(uint64_t)4095;
                large += s->bytes;
            } else {
                s->where = W_HEAP;
                uint64_t bsize = block_size_for(x->size), before = h.steps;
                if (p == P_SEGREGATED) {
                    handle hd;
                    seg_alloc(&sg, &h, bsize, &hd);
                    s->addr = hd.addr; s->bytes = hd.bytes; s->span = hd.span; s->slot = hd.slot;
                } else if (p == P_BUDDY) {
                    s->addr = buddy_alloc(&bd, &h, x->size, &s->bytes);
                } else {
                    s->addr = heap_alloc(&h, p, bsize, &s->bytes);
                }
                if (h.steps - before > res->max_steps) res->max_steps = h.steps - before;
                res->allocs++;
                live += x->size;
                if (placements) {
                    uint64_t off = p == P_BUDDY ? (s->addr % BUDDY_GRANULES) << BUDDY_MIN_ORDER : s->addr % SEG_SPACING;
                    uint64_t seg = p == P_BUDDY ? s->addr / BUDDY_GRANULES : s->addr / SEG_SPACING - 1;
                    printf("%s %u %llu %llu\n", policy_names[p], x->obj, (unsigned long long)seg, (unsigned long long)off);
                }
            }
        }
        uint32_t gone = x->kind == OP_FREE ? x->obj : x->kind == OP_REALLOC ? x->old : UINT32_MAX;
        if (gone != UINT32_MAX && o[gone].where != W_NONE) {
            obj_state *s = &o[gone];
            if (s->where == W_LARGE) large -= s->bytes;
            else {
                live -= s->req;
                if (p == P_SEGREGATED) { handle hd = {s->addr, s->bytes, s->span, s->slot}; seg_free(&sg, &h, &hd); }
                else if (p == P_BUDDY) buddy_free(&bd, (uint32_t)s->addr, s->bytes);
                else heap_release(&h, s->addr, s->bytes);
            }
            s->where = W_NONE;
        }
        uint64_t mapped = (p == P_BUDDY ? bd.nsegs : h.nsegs) * SEG_SIZE;
        if (mapped > res->peak_mapped) res->peak_mapped = mapped;
        if (live > res->peak_live) res->peak_live = live;
        if (large > res->peak_large) res->peak_large = large;
        if ((i + 1) % every == 0 || i + 1 == t->nops) {
            uint64_t fb = 0, lg = 0;
            if (p == P_BUDDY) { fb = bd.free_bytes; lg = buddy_largest(&bd); }
            else {
                heap_frag(&h, &fb, &lg);
                if (p == P_SEGREGATED) {
                    fb += sg.free_slot_bytes;
                    for (int c = sg.nclasses - 1; c >= 0; c--)
                        if (sg.class_head[c] != UINT32_MAX) { if (sg.class_size[c] > lg) lg = sg.class_size[c]; break; }
                }
            }
            double frag = fb ? 1.0 - (double)lg / (double)fb : 0.0;
            frag_sum += frag;
            nsamples++;
            if (frag > res->frag_max) res->frag_max = frag;
            res->frag_final = frag;
            if (series)
                fprintf(series, "%s,%zu,%.6f,%llu,%llu\n", policy_names[p], i + 1, frag, (unsigned long long)mapped,
                        (unsigned long long)live);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    res->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    res->frag_mean = nsamples ? frag_sum / (double)nsamples : 0;
    res->steps_per_alloc = h.searches ? (double)h.steps / (double)h.searches : 0;
    free(o);
    free(h.f);
    if (p == P_SEGREGATED) {
        for (size_t i = 0; i < sg.nspans; i++) free(sg.spans[i].free_slots);
        free(sg.spans);
        free(sg.dead);
    }
    if (p == P_BUDDY) { free(bd.order); free(bd.next); free(bd.prev); }
}

/* ---------------------------------------------------------------------------------------------
 * Command line.
 * ------------------------------------------------------------------------------------------- */

static int usage(void) {
    fprintf(stderr, "usage: replay [--policy NAME]... [--md FILE] [--series FILE] [--placements] [--counts] TRACE\n"
                    "policies: next-fit first-fit best-fit worst-fit segregated buddy (default: all)\n");
    return 2;
}

int main(int argc, char **argv) {
    int want[P_COUNT] = {0}, any = 0, placements = 0, counts = 0;
    const char *md = NULL, *series_path = NULL, *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--policy") && i + 1 < argc) {
            int k;
            for (k = 0; k < P_COUNT && strcmp(argv[i + 1], policy_names[k]); k++) {}
            if (k == P_COUNT) { fprintf(stderr, "replay: unknown policy '%s'\n", argv[i + 1]); return usage(); }
            want[k] = any = 1;
            i++;
        } else if (!strcmp(argv[i], "--md") && i + 1 < argc) md = argv[++i];
        else if (!strcmp(argv[i], "--series") && i + 1 < argc) series_path = argv[++i];
        else if (!strcmp(argv[i], "--placements")) placements = 1;
        else if (!strcmp(argv[i], "--counts")) counts = 1;
        else if (argv[i][0] == '-' || path) return usage();
        else path = argv[i];
    }
    if (!path) return usage();
    trace t;
    if (load_trace(path, &t) != 0) return 1;
    if (counts) {
        printf("records %zu threads %zu malloc %zu free %zu calloc %zu realloc %zu aligned %zu ops %zu objects %zu "
               "anomalies %zu unmatched %zu failed %zu\n",
               t.records, t.threads, t.counts[1], t.counts[2], t.counts[3], t.counts[4], t.counts[5], t.nops, t.nobjs,
               t.anomalies, t.unmatched, t.failed);
        free(t.ops);
        return 0;
    }
    FILE *series = NULL;
    if (series_path && !(series = fopen(series_path, "w"))) { perror(series_path); return 1; }
    if (series) fprintf(series, "policy,op,ext_frag,mapped,live\n");
    char table[8192];
    size_t len = 0;
    len += (size_t)snprintf(table + len, sizeof table - len,
                            "| policy | peak mapped (MiB) | peak live (MiB) | mapped / live | ext. frag. mean | ext. frag. max | "
                            "steps / alloc | max steps | ns / op |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    result first = {0};
    for (int p = 0; p < P_COUNT; p++) {
        if (any && !want[p]) continue;
        result r;
        run_policy(&t, (enum policy)p, &r, series, placements);
        if (!first.allocs) first = r;
        len += (size_t)snprintf(table + len, sizeof table - len, "| %s | %.2f | %.2f | %.3f | %.3f | %.3f | %.2f | %llu | %.0f |\n",
                                policy_names[p], r.peak_mapped / 1048576.0, r.peak_live / 1048576.0,
                                r.peak_live ? (double)r.peak_mapped / (double)r.peak_live : 0.0, r.frag_mean, r.frag_max,
                                r.steps_per_alloc, (unsigned long long)r.max_steps,
                                t.nops ? r.seconds * 1e9 / (double)t.nops : 0.0);
    }
    len += (size_t)snprintf(table + len, sizeof table - len,
                            "\n%zu records (%zu threads): %zu malloc, %zu free, %zu calloc, %zu realloc, %zu aligned; "
                            "%zu heap allocations replayed; peak %.2f MiB in >= 128 KiB blocks outside the heap (every policy); "
                            "%zu overlapping cross-thread calls, %zu frees of memory allocated before tracing\n",
                            t.records, t.threads, t.counts[1], t.counts[2], t.counts[3], t.counts[4], t.counts[5],
                            (size_t)first.allocs, first.peak_large / 1048576.0, t.anomalies, t.unmatched);
    if (!placements) fputs(table, stdout);
    if (md) {
        FILE *f = fopen(md, "w");
        if (!f || fputs(table, f) < 0 || fclose(f) != 0) { perror(md); return 1; }
    }
    if (series && fclose(series) != 0) { perror(series_path); return 1; }
    free(t.ops);
    return 0;
}
