/* segmap.h - "is this address ours, and what mapping is it in": a lock-free O(1) map from any
 * address to the header of the tamalloc mapping (arena segment or large block) that contains it.
 * Every tamalloc mapping is aligned to TA_SEGMENT_SIZE, so each 4 MiB chunk of the address space
 * belongs to at most one mapping; the map has one entry per chunk, in a two-level radix table.
 * Readers: two acquire loads, no lock, no NULL test. The top level is small (1024 pointers, each
 * to its leaf or to the shared empty leaf); a leaf's entries are offsets, each its span's address
 * minus &ta_segmap_none (0: kind 0, no mapping), so that leaves are all zero until written: the
 * empty leaf sits in .bss and is never written, a new leaf is a fresh zero mapping, and only the
 * pages whose entries are written become resident. Writers (register/unregister) take the segmap
 * lock, which ranks above the arena locks (it may be taken while an arena lock is held, never the
 * reverse).
 * Relies on: os.h for leaf pages, lock.h. Knows nothing about arenas or blocks. */
#ifndef TA_SEGMAP_H
#define TA_SEGMAP_H

#include <stddef.h>
#include <stdint.h>

#include "alloc/config.h"
#include "alloc/platform/atomic.h"
#include "alloc/platform/compiler.h"

/* The first field of every mapping header: says which kind of mapping it is. */
typedef struct ta_span {
    uint64_t kind;  /* TA_SPAN_SEGMENT or TA_SPAN_LARGE */
} ta_span;
#define TA_SPAN_SEGMENT 0x47455354u   /* "TSEG" (fits a sign-extended 32-bit compare) */
#define TA_SPAN_LARGE   0x47524c54u   /* "TLRG" */

#define TA_SEGMAP_ADDR_BITS 48u
#define TA_SEGMAP_LEAF_BITS 16u   /* a leaf: 2^16 entries, 512 KiB, covering 256 GiB */
#define TA_SEGMAP_TOP_BITS  (TA_SEGMAP_ADDR_BITS - TA_SEGMENT_SHIFT - TA_SEGMAP_LEAF_BITS)

typedef struct ta_segmap_leaf {
    ta_atomic_uptr a_entry[(size_t)1 << TA_SEGMAP_LEAF_BITS];   /* span - &ta_segmap_none */
} ta_segmap_leaf;

/* The leaf of each 2^(TA_SEGMENT_SHIFT + TA_SEGMAP_LEAF_BITS) bytes of address space. */
extern _Atomic(ta_segmap_leaf *) ta_segmap_top[(size_t)1 << TA_SEGMAP_TOP_BITS] TA_HIDDEN;
/* The leaf of every top entry without one of its own: all zero, never written. */
extern ta_segmap_leaf ta_segmap_empty_leaf TA_HIDDEN;
/* What an address outside every tamalloc mapping finds: kind 0. */
extern ta_span ta_segmap_none TA_HIDDEN;

/* The mapping that contains p, or &ta_segmap_none (kind 0) when p is in none. */
static TA_ALWAYS_INLINE ta_span *ta_segmap_find(const void *p) {
    uintptr_t a = (uintptr_t)p, top = a >> (TA_SEGMENT_SHIFT + TA_SEGMAP_LEAF_BITS);
    if (TA_UNLIKELY(top >= ((uintptr_t)1 << TA_SEGMAP_TOP_BITS))) return &ta_segmap_none;   /* beyond 48 bits */
    const ta_segmap_leaf *leaf = ta_atomic_load_acquire(&ta_segmap_top[top]);
    uintptr_t off = ta_atomic_load_acquire(&leaf->a_entry[(a >> TA_SEGMENT_SHIFT) & (((uintptr_t)1 << TA_SEGMAP_LEAF_BITS) - 1)]);
    return (ta_span *)((uintptr_t)&ta_segmap_none + off);
}

/* The mapping that contains p, or NULL when p is not inside any live tamalloc mapping. */
static TA_ALWAYS_INLINE ta_span *ta_segmap_lookup(const void *p) {
    ta_span *sp = ta_segmap_find(p);
    return sp->kind ? sp : NULL;
}

/* Records [base, base + size) as belonging to span; base is TA_SEGMENT_SIZE-aligned. Returns 0, or
 * -1 (errno ENOMEM) when a leaf could not be mapped; nothing is recorded then. */
TA_HIDDEN int  ta_segmap_register(void *base, size_t size, ta_span *span);
TA_HIDDEN void ta_segmap_unregister(void *base, size_t size);
/* Fork handlers for the registry lock. */
TA_HIDDEN void ta_segmap_fork_prepare(void);
TA_HIDDEN void ta_segmap_fork_parent(void);
TA_HIDDEN void ta_segmap_fork_child(void);
TA_HIDDEN void ta_segmap_init(void);

#endif
