/* freelist.c - next-fit search, split, coalesce and ordered insertion on an arena's free list.
 * See freelist.h for the invariants. Caller holds the owning arena's lock for every function. */
#include "alloc/freelist.h"

#include <string.h>

#include "alloc/assert.h"
#include "alloc/fault.h"

/* ---------------------------------------------------------------------------------------------
 * Links: slot 0 of a free block's payload is its next link, slot 1 its prev link.
 * ------------------------------------------------------------------------------------------- */

static TA_ALWAYS_INLINE uintptr_t *fl_slots(ta_block *b) { return (uintptr_t *)ta_block_user(b); }

static TA_ALWAYS_INLINE void fl_set_next(ta_block *b, ta_block *to) { fl_slots(b)[0] = ta_link_encode(&fl_slots(b)[0], to); }
static TA_ALWAYS_INLINE void fl_set_prev(ta_block *b, ta_block *to) { fl_slots(b)[1] = ta_link_encode(&fl_slots(b)[1], to); }

/* A decoded link must land on a free-block start of the same arena, in the direction given. The
 * free-start bitmap is the proof: it lives in the segment header, out of reach of writes through
 * user pointers, and its bit is set exactly for listed free blocks. */
static TA_NOINLINE TA_COLD ta_block *fl_link_fault(ta_block *from, int forward) {
    ta_fault(TA_FAULT_CORRUPT_LINK, ta_block_user(from), forward ? "next link" : "prev link");
}

static TA_NOINLINE ta_block *fl_verify_link_far(ta_block *from, ta_block *to, int forward) {
    ta_segment *fs = ta_segment_of(from), *ts = ta_segment_of(to);
    ta_segment *s = forward ? fs->next : fs->prev;   /* ts must be one of the arena's segments that way */
    while (s && s != ts) s = forward ? s->next : s->prev;
    if (!s || ((uintptr_t)to & (TA_ALIGN - 1)) || (char *)to < ts->start || (char *)to + TA_MIN_BLOCK > ts->end ||
        !ta_segment_is_free_start(ts, to))
        return fl_link_fault(from, forward);
    return to;
}

static TA_ALWAYS_INLINE ta_block *fl_verify_link(ta_block *from, ta_block *to, int forward) {
    if (!to) return NULL;
    ta_segment *fs = ta_segment_of(from);
    if (TA_UNLIKELY(ta_segment_of(to) != fs)) return fl_verify_link_far(from, to, forward);
    if (TA_UNLIKELY(((uintptr_t)to & (TA_ALIGN - 1)) || (forward ? to <= from : to >= from) ||
                    (char *)to < fs->start || !ta_segment_is_free_start(fs, to)))
        return fl_link_fault(from, forward);
    return to;
}

static TA_ALWAYS_INLINE ta_block *fl_next(ta_block *b) {
    return fl_verify_link(b, ta_link_decode(&fl_slots(b)[0], fl_slots(b)[0]), 1);
}
static TA_ALWAYS_INLINE ta_block *fl_prev(ta_block *b) {
    return fl_verify_link(b, ta_link_decode(&fl_slots(b)[1], fl_slots(b)[1]), 0);
}
ta_block *ta_fl_next(ta_block *b) { return fl_next(b); }
ta_block *ta_fl_prev(ta_block *b) { return fl_prev(b); }

void ta_fl_init(ta_freelist *fl, int level) {
    fl->head = fl->tail = fl->rover = NULL;
    fl->index.root = NULL;
    fl->count = fl->bytes = fl->purged = fl->releases = fl->searches = fl->steps = fl->max_steps = 0;
    fl->level = level;
}

/* ---------------------------------------------------------------------------------------------
 * Level 2 poisoning: a write into freed memory is caught when the bytes are allocated again.
 * ------------------------------------------------------------------------------------------- */

void ta_fl_poison(void *from, void *to) {
    if ((char *)to > (char *)from) memset(from, TA_POISON_BYTE, (size_t)((char *)to - (char *)from));
}

const void *ta_fl_poison_damage(const void *from, const void *to) {
    const unsigned char *c = from, *end = to;
    const uint64_t word = 0x0101010101010101ULL * TA_POISON_BYTE;
    for (; c < end && ((uintptr_t)c & 7); c++) if (*c != TA_POISON_BYTE) return c;
    for (; c + 8 <= end; c += 8)
        if (*(const uint64_t *)c != word) break;   /* the byte loop below finds which */
    for (; c < end; c++) if (*c != TA_POISON_BYTE) return c;
    return NULL;
}

static TA_NOINLINE void fl_poison_verify(const char *from, const char *to) {
    const void *bad = ta_fl_poison_damage(from, to);
    if (bad) ta_fault(TA_FAULT_USE_AFTER_FREE, bad, "freed memory was written (TAMALLOC_CHECK=2)");
}

/* ---------------------------------------------------------------------------------------------
 * Structural edits. Each keeps links, bitmap, head/tail, rover, count and bytes consistent.
 * ------------------------------------------------------------------------------------------- */

static TA_ALWAYS_INLINE void fl_bit_set(ta_block *b) { ta_bitmap_set(&ta_segment_of(b)->free_starts, ta_segment_granule(b)); }
static TA_ALWAYS_INLINE void fl_bit_clear(ta_block *b) { ta_bitmap_clear(&ta_segment_of(b)->free_starts, ta_segment_granule(b)); }

/* Links b between prev and next (either may be NULL). */
static TA_ALWAYS_INLINE void fl_link(ta_freelist *fl, ta_block *prev, ta_block *b, ta_block *next) {
    fl_set_prev(b, prev);
    fl_set_next(b, next);
    if (prev) fl_set_next(prev, b); else fl->head = b;
    if (next) fl_set_prev(next, b); else fl->tail = b;
    fl_bit_set(b);
    ta_fix_grown(b);
}

/* The listed free block with the highest address below b, or NULL. O(1) within b's segment,
 * then one word test per earlier segment. */
static ta_block *fl_free_before(ta_block *b) {
    ta_segment *s = ta_segment_of(b);
    int64_t g = ta_bitmap_prev(&s->free_starts, ta_segment_granule(b));
    if (g >= 0) return ta_segment_block_at(s, g);
    for (s = s->prev; s; s = s->prev) {
        g = ta_bitmap_last(&s->free_starts);
        if (g >= 0) return ta_segment_block_at(s, g);
    }
    return NULL;
}

/* Lists free block b (header already FREE) after prev, the listed free block before it (or NULL). */
static TA_ALWAYS_INLINE void fl_insert_after(ta_freelist *fl, ta_block *prev, ta_block *b) {
    ta_block *next = prev ? fl_next(prev) : fl->head;
    fl_link(fl, prev, b, next);
    fl->count++;
    fl->bytes += b->size;
    if (!fl->rover) fl->rover = b;
}

void ta_fl_insert_locked(ta_freelist *fl, ta_block *b) {
    ta_block_set(b, b->size, TA_STATE_FREE);
    fl_insert_after(fl, fl_free_before(b), b);
}

/* Unlinks listed block b from the list and the bitmap; the index is the caller's to update. */
static TA_ALWAYS_INLINE void fl_unlink(ta_freelist *fl, ta_block *b) {
    ta_block *prev = fl_prev(b), *next = fl_next(b);
    if (prev) fl_set_next(prev, next); else fl->head = next;
    if (next) fl_set_prev(next, prev); else fl->tail = prev;
    fl_bit_clear(b);
    fl->count--;
    fl->bytes -= b->size;
    if (fl->rover == b) fl->rover = next ? next : fl->head;
}

void ta_fl_remove_locked(ta_freelist *fl, ta_block *b) {
    fl_unlink(fl, b);
    ta_fix_shrunk(b, b->size);
}

/* Free block nb (header already FREE) takes listed block old's place in the list. */
/* fl_replace when old's list predecessor is already known (and verified). */
static TA_ALWAYS_INLINE void fl_replace_after(ta_freelist *fl, ta_block *prev, ta_block *old, ta_block *nb) {
    ta_block *next = fl_next(old);
    size_t old_size = old->size;   /* old's header is intact until the caller marks it */
    fl_set_prev(nb, prev);
    fl_set_next(nb, next);
    if (prev) fl_set_next(prev, nb); else fl->head = nb;
    if (next) fl_set_prev(next, nb); else fl->tail = nb;
    ta_bitmap_move(&ta_segment_of(old)->free_starts, ta_segment_granule(old), ta_segment_granule(nb));
    ta_fix_moved(old, old_size, nb);
    if (fl->rover == old) fl->rover = nb;
}

static TA_ALWAYS_INLINE void fl_replace(ta_freelist *fl, ta_block *old, ta_block *nb) {
    fl_replace_after(fl, fl_prev(old), old, nb);
}

/* A header absorbed by coalescing: at levels 0-1 it keeps a MERGED tag so a second free of it is
 * named a double free; at level 2 it becomes poisoned free bytes like the rest. */
static void fl_mark_merged(ta_freelist *fl, ta_block *b) {
    if (TA_UNLIKELY(fl->level >= 2)) ta_fl_poison(b, (char *)b + TA_POISON_SKIP);
    else ta_atomic_store_relaxed(&b->a_tag, ta_block_tag(b, 0, TA_STATE_MERGED));
}
void ta_fl_mark_merged(ta_freelist *fl, ta_block *b) { fl_mark_merged(fl, b); }

/* ---------------------------------------------------------------------------------------------
 * Search and carve.
 * ------------------------------------------------------------------------------------------- */

/* Bytes to skip at the front of free block b so the user pointer after it is aligned; the skipped
 * part must itself be able to stand as a free block. */
static TA_ALWAYS_INLINE size_t fl_front_for(ta_block *b, size_t align) {
    uintptr_t user = (uintptr_t)ta_block_user(b);
    if ((user & (align - 1)) == 0) return 0;
    uintptr_t aligned = (user + TA_MIN_BLOCK + align - 1) & ~(uintptr_t)(align - 1);
    return aligned - user;
}

static TA_ALWAYS_INLINE int fl_is_tail(ta_block *b) { return (char *)b + b->size == ta_segment_of(b)->end; }

/* Does free block b hold bsize bytes at a user pointer aligned to align? *f receives the gap. */
static TA_ALWAYS_INLINE int fl_fits(ta_block *b, size_t bsize, size_t align, size_t *f) {
    *f = align > TA_ALIGN ? fl_front_for(b, align) : 0;
    return b->size >= *f + bsize;
}

/* The lowest-addressed free block in [from, limit) that fits (from NULL: from the arena's lowest
 * address; limit NULL: to its end); *f its front gap. The index yields the blocks large enough in
 * address order; only an aligned request can pass over one (its front gap does not fit). */
static ta_block *fl_first_fit(ta_freelist *fl, ta_block *from, ta_block *limit, size_t bsize, size_t align, size_t *f,
                              size_t *steps) TA_REQUIRES(fl) {
    ta_segment *s = from ? ta_segment_of(from) : NULL;
    uint32_t g = from ? ta_segment_granule(from) : 0;
    for (;;) {
        ta_block *b = ta_fix_find(&fl->index, s, g, bsize, steps);
        if (!b || (limit && b >= limit)) return NULL;
        if (fl_fits(b, bsize, align, f)) return b;
        s = ta_segment_of(b);
        g = ta_segment_granule(b) + 1;
    }
}

/* Next-fit as the linear walk defines it (the first fitting block from the rover on, wrapping once;
 * a fitting segment tail only when none of the TA_FL_TAIL_STEPS free blocks after it, up to the
 * rover, fits without being one), answered by the index: at most two index searches (before and
 * after the wrap, plus one more per block an aligned request passes over) and the tail window. */
ta_block *ta_fl_find_locked(ta_freelist *fl, size_t bsize, size_t align, size_t *front) {
    ta_block *start = fl->rover ? fl->rover : fl->head;
    if (!start) return NULL;
    size_t steps = 0, f = 0;
    ta_block *b = fl_first_fit(fl, start, NULL, bsize, align, &f, &steps);
    if (!b) b = fl_first_fit(fl, NULL, start, bsize, align, &f, &steps);   /* wrap around once */
    if (b && fl_is_tail(b)) {
        ta_block *x = b;
        for (unsigned i = 0; i < TA_FL_TAIL_STEPS; i++) {
            x = fl_next(x);
            if (!x) x = fl->head;
            if (x == start) break;
            steps++;
            size_t xf;
            if (fl_fits(x, bsize, align, &xf) && !fl_is_tail(x)) {
                b = x;
                f = xf;
                break;
            }
        }
    }
    fl->searches++;
    fl->steps += steps;
    if (steps > fl->max_steps) fl->max_steps = steps;
    *front = f;
    return b;
}

ta_block *ta_fl_next_at_least_locked(ta_freelist *fl, ta_block *after, size_t min_size) {
    size_t steps = 0;
    if (!after) return ta_fix_find(&fl->index, NULL, 0, min_size, &steps);
    return ta_fix_find(&fl->index, ta_segment_of(after), ta_segment_granule(after) + 1, min_size, &steps);
}

void ta_fl_add_segment_locked(ta_freelist *fl, ta_segment *s) {
    ta_fix_insert(&fl->index, s);
    ta_block *b = (ta_block *)s->start;
    b->size = TA_SEGMENT_DATA_SIZE;
    ta_fl_insert_locked(fl, b);
}

void ta_fl_drop_segment_locked(ta_freelist *fl, ta_segment *s) {
    ta_fl_remove_locked(fl, (ta_block *)s->start);
    ta_fix_remove(&fl->index, s);
}

ta_block *ta_fl_carve_locked(ta_freelist *fl, ta_block *b, size_t front, size_t bsize) {
    size_t total = b->size;
    TA_ASSERT(total >= front + bsize);
    size_t rest = total - front - bsize;
    if (rest < TA_MIN_BLOCK) { bsize += rest; rest = 0; }
    ta_block *a = (ta_block *)((char *)b + front);
    ta_block *r = rest ? (ta_block *)((char *)a + bsize) : NULL;
    /* Level 2: every byte handed out was poison, and so were those the remainder's header and links
     * are about to overwrite (bytes coalescing absorbed: a write there must not be erased unseen). */
    if (TA_UNLIKELY(fl->level >= 2))
        fl_poison_verify((char *)a + (front ? 0 : TA_POISON_SKIP), (char *)a + bsize + (r ? TA_POISON_SKIP : 0));
    /* The block and the remainder's header and links are written from here on: not purged any more. */
    fl->purged -= TA_PAGE * ta_segment_touch(ta_segment_of(b), a, (char *)a + bsize + (r ? TA_POISON_SKIP : 0));
    if (front) {
        /* b shrinks in place to the front gap; the tail remainder is linked right after it. */
        ta_block_set(b, front, TA_STATE_FREE);
        ta_fix_shrunk(b, total);
        fl->bytes -= total - front;
        if (r) {
            ta_block_set(r, rest, TA_STATE_FREE);
            fl_link(fl, b, r, fl_next(b));
            fl->count++;
            fl->bytes += rest;
        }
        fl->rover = r ? r : b;
    } else if (r) {
        ta_block_set(r, rest, TA_STATE_FREE);   /* the remainder stays in b's list position */
        fl_replace(fl, b, r);
        fl->bytes -= bsize;
        fl->rover = r;
    } else {
        ta_block *next = fl_next(b);
        ta_fl_remove_locked(fl, b);
        fl->rover = next ? next : fl->head;
    }
    ta_block_set(a, bsize, TA_STATE_USED);
    return a;
}

/* ---------------------------------------------------------------------------------------------
 * Release (coalescing) and in-place resize.
 * ------------------------------------------------------------------------------------------- */

/* The physical successor of b if it exists; its header must verify (else b overflowed into it). */
static TA_ALWAYS_INLINE ta_block *fl_neighbour_after(ta_freelist *fl, ta_block *b) {
    ta_segment *s = ta_segment_of(b);
    ta_block *n = ta_block_next_phys(b);
    if ((char *)n >= s->end) return NULL;
    size_t ns = n->size;
    if (TA_UNLIKELY(fl->level > 0) && TA_UNLIKELY(ns < TA_MIN_BLOCK || ns % TA_ALIGN || ns > (size_t)(s->end - (char *)n) || !ta_block_tag_ok(n)))
        ta_fault(TA_FAULT_OVERFLOW, ta_block_user(b), "the header after this block does not verify");
    return n;
}

ta_block *ta_fl_release_locked(ta_freelist *fl, ta_block *b) {
    fl->releases++;
    ta_segment *s = ta_segment_of(b);
    size_t bsize = b->size;
    ta_block *n = fl_neighbour_after(fl, b);
    int n_free = n && ta_segment_is_free_start(s, n);
    /* The free block before b: n's list predecessor when n is free (nothing free lies between),
     * else the bitmap's answer. */
    ta_block *p = n_free ? fl_prev(n) : fl_free_before(b);
    int into_p = p && ta_segment_of(p) == s && ta_block_next_phys(p) == b;
    /* Level 2: b's bytes become free bytes (all of them, header too, when b merges into p). */
    if (TA_UNLIKELY(fl->level >= 2)) ta_fl_poison((char *)b + (into_p ? 0 : TA_POISON_SKIP), (char *)b + bsize);
    if (into_p) {
        /* p absorbs b (and n): p keeps its list position. */
        size_t size = p->size + bsize;
        fl->bytes += bsize;
        fl_mark_merged(fl, b);
        if (n_free) {
            int rover_was_n = fl->rover == n;
            size_t nsize = n->size;
            fl_unlink(fl, n);   /* subtracts n from bytes; n's bytes stay free in p */
            fl->bytes += nsize;
            size += nsize;
            ta_block_set(p, size, TA_STATE_FREE);
            ta_fix_moved(n, nsize, p);   /* n left, p grew: one index update */
            fl_mark_merged(fl, n);
            if (rover_was_n) fl->rover = p;
            return p;
        }
        ta_block_set(p, size, TA_STATE_FREE);
        ta_fix_grown(p);
        return p;
    }
    if (n_free) {
        /* b absorbs n and takes its list position (p, possibly NULL, is n's predecessor). */
        ta_block_set(b, bsize + n->size, TA_STATE_FREE);
        fl_replace_after(fl, p, n, b);
        fl_mark_merged(fl, n);
        fl->bytes += bsize;
        return b;
    }
    /* No free neighbour: b keeps its key (its tag was verified as it came in) and becomes FREE. */
    uint64_t tag = ta_atomic_load_relaxed(&b->a_tag);
    ta_atomic_store_relaxed(&b->a_tag, (tag & ~TA_STATE_MASK) | TA_STATE_FREE);
    fl_insert_after(fl, p, b);
    return b;
}

int ta_fl_resize_locked(ta_freelist *fl, ta_block *b, size_t new_size) {
    size_t old = b->size;
    ta_segment *s = ta_segment_of(b);
    if (new_size <= old) {
        if (old - new_size < TA_MIN_BLOCK) return 1;
        ta_block_set(b, new_size, TA_STATE_USED);
        ta_block *t = ta_block_next_phys(b);
        ta_block_set(t, old - new_size, TA_STATE_QUEUED);
        ta_fl_release_locked(fl, t);
        return 1;
    }
    ta_block *n = fl_neighbour_after(fl, b);
    if (!n || !ta_segment_is_free_start(s, n) || old + n->size < new_size) return 0;
    size_t avail = old + n->size, rest = avail - new_size;
    int rover_was_n = fl->rover == n;
    /* Level 2: the bytes taken from n were poison past n's own header and links, and so are those a
     * remainder's header and links will overwrite. */
    if (TA_UNLIKELY(fl->level >= 2))
        fl_poison_verify((char *)n + TA_POISON_SKIP, (char *)b + new_size + (rest >= TA_MIN_BLOCK ? TA_POISON_SKIP : 0));
    /* written from here on: b's new bytes (all of n when no remainder stands) and a remainder's header */
    fl->purged -= TA_PAGE * ta_segment_touch(s, n, rest >= TA_MIN_BLOCK ? (char *)b + new_size + TA_POISON_SKIP : (char *)b + avail);
    ta_fl_remove_locked(fl, n);   /* before writing anything inside n: its links are read here */
    fl_mark_merged(fl, n);
    if (rest < TA_MIN_BLOCK) {
        ta_block_set(b, avail, TA_STATE_USED);
    } else {
        ta_block_set(b, new_size, TA_STATE_USED);
        ta_block *r = ta_block_next_phys(b);
        r->size = rest;
        ta_fl_insert_locked(fl, r);
        if (rover_was_n) fl->rover = r;
    }
    return 1;
}
