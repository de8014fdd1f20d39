/* fuzz_model.h - shared by the fuzz targets: turns fuzz input bytes into allocator operations and
 * checks each against a model of the live blocks.
 *
 * Every live block is filled, over its whole usable size, with a pattern derived from its address,
 * size and a tag (tests/testlib/pattern.h) and verified before it is freed or resized, so a block
 * that overlaps another, or is written by the allocator, is caught. After every operation the model
 * checks ta_check() == 0 (fz_check_heap). Each operation checks its own contract: alignment,
 * usable size within the bounds the design allows (fz_usable_max), calloc zeroing, realloc
 * preserving contents, errno on failure and errno kept by free. Any violation prints the operation
 * and aborts, so libFuzzer records the input as a crash. Public API only (tamalloc.h). */
#ifndef TA_TESTS_FUZZ_MODEL_H
#define TA_TESTS_FUZZ_MODEL_H

#include <stddef.h>
#include <stdint.h>

/* ---- input reader: past the end every read returns 0 ---------------------------------------- */
typedef struct fz_in {
    const uint8_t *d;
    size_t n, at;
} fz_in;

static inline int fz_more(const fz_in *in) { return in->at < in->n; }
static inline uint8_t fz_u8(fz_in *in) { return in->at < in->n ? in->d[in->at++] : 0; }
static inline uint16_t fz_u16(fz_in *in) {
    uint16_t lo = fz_u8(in);
    return (uint16_t)(lo | (uint16_t)(fz_u8(in) << 8));
}

/* The default mmap threshold: sizes are drawn around and past it (requests at or above the
 * threshold in force get their own mapping; the model does not depend on its value). */
#define FZ_THRESHOLD ((size_t)128 << 10)

/* A request size: 0..32, small, medium, around FZ_THRESHOLD, large (to ~FZ_THRESHOLD * 3),
 * or near a 16-byte rounding boundary. Reads 3 bytes. */
size_t fz_size(fz_in *in);

/* ---- the model ------------------------------------------------------------------------------ */
#define FZ_SLOTS 48

typedef struct fz_slot {
    unsigned char *p;   /* NULL when the slot is empty */
    size_t len;         /* ta_usable_size(p): every byte of it holds the pattern */
    uint64_t tag;       /* pattern tag */
} fz_slot;

typedef struct fz_model {
    fz_slot slot[FZ_SLOTS];
    uint64_t next_tag;
    size_t live_bytes;      /* sum of len over live slots */
    size_t ops;             /* operations done (for messages) */
    int check_stats;        /* 1: ta_get_stats().allocated == baseline + live_bytes after every op */
    size_t baseline;        /* allocated bytes when the model started */
    /* Called around the ta_free of a slot's block by fz_release (threads_fuzzer checks the remote
     * queue with it): phase 0 just before, phase 1 just after. May be NULL. */
    void (*on_free)(struct fz_model *m, void *p, int phase);
    void *ctx;
} fz_model;

/* Operation kinds, chosen by an op byte through a weighted table (fz_op_of). */
enum fz_op {
    FZ_MALLOC,        /* slot, size */
    FZ_CALLOC,        /* slot, count byte, size: zeroed; count*size overflow -> NULL + ENOMEM */
    FZ_REALLOC,       /* slot, size: ta_realloc (NULL slot -> malloc; size 0 -> free) */
    FZ_REALLOCARRAY,  /* slot, count byte, size */
    FZ_ALIGNED,       /* slot, kind/alignment byte, size: posix_memalign / aligned_alloc / memalign */
    FZ_FREE,          /* slot */
    FZ_USABLE,        /* slot: ta_usable_size == the recorded usable size */
    FZ_REFILL,        /* slot: verify, then refill with a new tag */
    FZ_VERIFY_ALL,    /* verify every live slot */
    FZ_IMPOSSIBLE,    /* variant byte, slot: huge sizes, overflows, bad alignments fail cleanly */
    FZ_COLLECT,       /* ta_collect */
    FZ_OP_COUNT_
};

enum fz_op fz_op_of(uint8_t op_byte);
const char *fz_op_name(enum fz_op op);

/* Starts an empty model (records the stats baseline when check_stats). */
void fz_model_init(fz_model *m, int check_stats);
/* Reads one op byte and its parameters from in and performs it. */
void fz_step(fz_model *m, fz_in *in);
/* Performs op with parameters read from in. */
void fz_do(fz_model *m, enum fz_op op, fz_in *in);
/* Verifies slot i's pattern (no-op on an empty slot). */
void fz_verify(fz_model *m, unsigned i, const char *when);
/* Verifies and frees slot i (through on_free), leaving it empty. */
void fz_release(fz_model *m, unsigned i);
/* Releases every slot, then checks the heap (and allocated == baseline when check_stats). */
void fz_release_all(fz_model *m);
/* Empties slot i without freeing its block (the caller freed it, or it is freed elsewhere). */
void fz_forget(fz_model *m, unsigned i);
/* Records block p (usable size read with ta_usable_size) in empty slot i and fills it. */
void fz_install(fz_model *m, unsigned i, void *p);
/* ta_check() == 0, else a failure naming the code. */
void fz_check_heap(fz_model *m, const char *when);
/* ta_get_stats().allocated == baseline + live_bytes (when check_stats). */
void fz_check_stats(fz_model *m, const char *when);

/* Largest usable size the design allows for a fresh request of n bytes: blocks are
 * round16(n + 16) bytes (at least 32) and a remainder under 32 bytes is absorbed, so at most
 * round16(max(n, 16)) + 16; a large block's usable size is round16(n). */
static inline size_t fz_usable_max(size_t n) {
    size_t m = n < 16 ? 16 : n;
    return ((m + 15) & ~(size_t)15) + 16;
}

/* Prints a failure with the model's position and aborts. */
__attribute__((noreturn, format(printf, 4, 5)))
void fz_fail(const fz_model *m, const char *file, int line, const char *fmt, ...);
#define FZ_REQUIRE(m, cond, ...) \
    do { if (!(cond)) fz_fail((m), __FILE__, __LINE__, "check failed: " #cond ": " __VA_ARGS__); } while (0)

#endif
