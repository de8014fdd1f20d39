/* block.h - the block header, its keyed tag, and the safe-linked words stored in free blocks.
 *
 *    block start (16-aligned)                       user pointer = block + TA_HDR
 *    |                                              |
 *    v                                              v
 *    +------------------+---------------------------+-------------------------------------+
 *    | size (8 bytes)   | tag (8 bytes, atomic)     | payload: user data, or when free:   |
 *    | whole block, hdr |  key(addr,size) | state   |  next link, prev link (safe-linked) |
 *    +------------------+---------------------------+-------------------------------------+
 *
 * Invariants: size % TA_ALIGN == 0 and size >= TA_MIN_BLOCK; block + size <= its segment's end;
 *   tag & ~15 == key(block, size), where key mixes a per-process secret with the address and size,
 *   so a header cannot be forged without the secret; tag & 15 == the state.
 * The size word is written only by the owning arena under its lock, while the block is free or
 * being (de)allocated. A remote free changes the state USED -> QUEUED by compare-and-swap, so two
 * such frees race to a single winner and the loser is reported as a double free; the owning
 * thread's cache moves USED <-> CACHED with a verified load and a store (its only racing case, two
 * threads freeing one block at the same instant, is best effort). */
#ifndef TA_BLOCK_H
#define TA_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "alloc/config.h"
#include "alloc/platform/atomic.h"
#include "alloc/platform/compiler.h"

typedef struct ta_block {
    size_t size;          /* whole block in bytes, header included; owner-written */
    ta_atomic_u64 a_tag;  /* key(block, size) | state */
} ta_block;

enum ta_block_state {
    TA_STATE_USED = 1,    /* handed to the user */
    TA_STATE_FREE = 2,    /* on the arena's free list */
    TA_STATE_QUEUED = 3,  /* freed by the user, not yet on the free list (remote queue or in flight) */
    TA_STATE_LARGE = 4,   /* a live direct-mmap block */
    TA_STATE_MERGED = 5,  /* this header was absorbed by coalescing; kept only to name double frees */
    TA_STATE_CACHED = 6,  /* freed into its owning thread's cache (cache.h), out of the arena */
    TA_STATE_PURGING = 7, /* a free run taken off the free list while decay gives its pages back */
    TA_STATE_SAMPLED = 8, /* handed to the user and a heap-profile sample (prof.h): its free fails the
                             USED check of the fast path and is accounted on the way out */
};
#define TA_STATE_MASK ((uint64_t)15)

extern uint64_t ta_block_secret TA_HIDDEN;   /* read-only after init */
extern uintptr_t ta_link_secret TA_HIDDEN;   /* read-only after init */

/* Sets the secrets; called once by init before any block exists. */
TA_HIDDEN void ta_block_init_secrets(uint64_t seed);

static TA_ALWAYS_INLINE ta_block *ta_block_of(const void *user) { return (ta_block *)((char *)user - TA_HDR); }
static TA_ALWAYS_INLINE void *ta_block_user(ta_block *b) { return (char *)b + TA_HDR; }
static TA_ALWAYS_INLINE ta_block *ta_block_next_phys(ta_block *b) { return (ta_block *)((char *)b + b->size); }
static TA_ALWAYS_INLINE size_t ta_block_usable(const ta_block *b) { return b->size - TA_HDR; }

/* Block size for a request of n user bytes (n must be < TA_MMAP_THRESHOLD_MAX). */
static TA_ALWAYS_INLINE size_t ta_block_size_for(size_t n) {
    size_t s = (n + TA_HDR + TA_ALIGN - 1) & ~(size_t)(TA_ALIGN - 1);
    return s < TA_MIN_BLOCK ? TA_MIN_BLOCK : s;
}

/* The keyed part of a tag: the address mixed with the per-process secret, plus the size rotated (a
 * bijection, so every bit of it counts). For a fixed address the key is a bijection of the size and
 * for a fixed size a bijection of the address, so a change of either field alone changes the key.
 * For a valid header (address 16-aligned, size below 2^40, secret with its low four bits clear) the
 * key is a multiple of 16: the low four bits hold the state. The state is ADDED to the key, not
 * or-ed: a corrupted size with high bits set gives a key with low bits set (size bit 40 rotates to
 * bit 0), and key + state then differs from the stored tag, where key | state could equal it (bit
 * 40 of the size would have gone unseen; the misuse fuzzer found that). Without the secret a header
 * cannot be forged for a chosen address. (An earlier key multiplied the sum by an odd constant,
 * which hid that case by chance; with the state added, the key matches exactly the corruptions a
 * bijection would, and one leaked header gives the secret as easily with the multiply as without.) */
static TA_ALWAYS_INLINE uint64_t ta_block_key(const void *b, size_t size) {
    uint64_t s = (uint64_t)size;
    return ((uint64_t)(uintptr_t)b ^ ta_block_secret) + ((s << 24) | (s >> 40));
}
static TA_ALWAYS_INLINE uint64_t ta_block_tag(const void *b, size_t size, enum ta_block_state s) {
    return ta_block_key(b, size) + (uint64_t)s;
}
static TA_ALWAYS_INLINE enum ta_block_state ta_block_state(ta_block *b) {
    return (enum ta_block_state)(ta_atomic_load_relaxed(&b->a_tag) & TA_STATE_MASK);
}
/* Writes size and tag together (owner, under the arena lock). */
static TA_ALWAYS_INLINE void ta_block_set(ta_block *b, size_t size, enum ta_block_state s) {
    b->size = size;
    ta_atomic_store_relaxed(&b->a_tag, ta_block_tag(b, size, s));
}
/* The tag verifies for the recorded size, whatever the state. */
static TA_ALWAYS_INLINE int ta_block_tag_ok(ta_block *b) {
    return (ta_atomic_load_relaxed(&b->a_tag) & ~TA_STATE_MASK) == ta_block_key(b, b->size);
}
/* Tag verifies and the state is s. */
static TA_ALWAYS_INLINE int ta_block_is(ta_block *b, enum ta_block_state s) {
    return ta_atomic_load_relaxed(&b->a_tag) == ta_block_tag(b, b->size, s);
}

/* USED -> QUEUED by compare-and-swap: the single winner of concurrent frees. Returns 1 on success. */
static TA_ALWAYS_INLINE int ta_block_claim_free(ta_block *b, size_t size) {
    uint64_t expected = ta_block_tag(b, size, TA_STATE_USED);
    return ta_atomic_cas_strong_acq_rel(&b->a_tag, &expected, expected ^ (TA_STATE_USED ^ TA_STATE_QUEUED));
}

/* Safe-linking of pointers stored inside free, queued or cached blocks: the stored word mixes the
 * secret and the slot's own address (so a link word copied to another slot decodes elsewhere), and a
 * stray write (use after free) decodes to a pointer that fails the reader's checks (alignment,
 * segment, bitmap or header tag) instead of being followed blindly. */
static TA_ALWAYS_INLINE uintptr_t ta_link_encode(const void *slot, const void *ptr) {
    return (uintptr_t)ptr ^ ta_link_secret ^ (uintptr_t)slot;
}
static TA_ALWAYS_INLINE void *ta_link_decode(const void *slot, uintptr_t word) {
    return (void *)(word ^ ta_link_secret ^ (uintptr_t)slot);
}

#endif
