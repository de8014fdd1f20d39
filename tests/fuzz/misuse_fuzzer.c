/* misuse_fuzzer.c - libFuzzer target: a prefix of valid operations (fuzz_model.h) builds a heap,
 * then exactly one bad operation is made, and it MUST be reported: the fault handler
 * (ta_fault_set_handler, //alloc:core) replaces abort() with a longjmp back here; a bad operation
 * that returns normally, a fault of a kind the design does not allow for it, a message without
 * "tamalloc: <fault name>" and the address, or a crash, all abort the fuzzer.
 *
 * Input: [bad op][p1][p2][p3] then the prefix (at most 40 operations).
 * Bad operations that the allocator rejects before changing anything (double free, use of a
 * freed block, interior, misaligned and foreign pointers, a corrupted header, a cross-thread
 * double free) run in this process: afterwards the heap must still pass ta_check() and every
 * block still holds its pattern. Bad operations that are caught in the middle of a free, with
 * the arena lock held (overflow into the next block, a large block's canary, a corrupted
 * free-list or remote-queue link), run in a forked child that corrupts memory and makes the call;
 * the child exits with the fault's number from the handler, which the parent checks. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc/block.h"
#include "alloc/fault.h"
#include "alloc/init.h"
#include "alloc/options.h"
#include "alloc/segmap.h"
#include "alloc/segment.h"
#include "tamalloc.h"
#include "tests/fuzz/fuzz_model.h"

#define F(x) (1u << TA_FAULT_##x)
#define PREFIX_OPS 40

/* ---- the fault trap ------------------------------------------------------------------------- */

static __thread jmp_buf *trap_jb;
static __thread enum ta_fault trap_fault;
static __thread const void *trap_addr;
static __thread char trap_msg[256];
static volatile int in_child;

/* The report must read "tamalloc: <fault name> at <address>...". */
static int message_ok(enum ta_fault f, const void *addr, const char *msg) {
    char hex[32];
    snprintf(hex, sizeof hex, " at 0x%lx", (unsigned long)(uintptr_t)addr);
    return strncmp(msg, "tamalloc: ", 10) == 0 && strstr(msg, ta_fault_name(f)) == msg + 10 && strstr(msg, hex);
}

static void trap_handler(enum ta_fault f, const void *addr, const char *msg) {
    if (in_child) _exit(message_ok(f, addr, msg) ? 100 + (int)f : 98);
    if (!trap_jb) {   /* a fault during a valid operation: an allocator bug */
        fprintf(stderr, "misuse_fuzzer: fault outside a bad operation: %s", msg);
        abort();
    }
    trap_fault = f;
    trap_addr = addr;
    snprintf(trap_msg, sizeof trap_msg, "%s", msg);
    longjmp(*trap_jb, 1);
}

enum call { CALL_FREE, CALL_REALLOC, CALL_USABLE };
static const char *const call_name[] = {"ta_free", "ta_realloc", "ta_usable_size"};

/* Makes the call on p; returns the fault it raised, 0 if it returned. */
static enum ta_fault trap_call(enum call c, void *p) {
    jmp_buf jb;
    trap_fault = 0;
    trap_jb = &jb;
    if (setjmp(jb) == 0) {
        switch (c) {
        case CALL_FREE: ta_free(p); break;
        case CALL_REALLOC: (void)ta_realloc(p, 64); break;
        case CALL_USABLE: (void)ta_usable_size(p); break;
        }
    }
    trap_jb = NULL;
    return trap_fault;
}

/* ---- bookkeeping across a run (checked by fz_replay_done) ---------------------------------- */

enum bad {
    BAD_USE_FREED,           /* free / realloc / usable size of a block just freed */
    BAD_USE_FREED_LATER,     /* the same after freeing other blocks in between */
    BAD_AFTER_MOVE,          /* the old pointer after realloc moved the block */
    BAD_INTERIOR,            /* a pointer inside a live block, small or large */
    BAD_MISALIGNED,          /* a live block's pointer + 1..15, or a wild (void *)1..15 */
    BAD_FOREIGN,             /* stack, static, C library heap, foreign mmap, small or non-canonical */
    BAD_CORRUPT_HEADER,      /* one byte of a live block's header changed */
    BAD_CROSS_THREAD,        /* freed by one thread (exited), then again by this or another thread */
    BAD_OVERFLOW_NEXT,       /* child: a byte written past the usable end, into the next header */
    BAD_OVERFLOW_LARGE,      /* child: a byte written past a large block, onto its canary */
    BAD_CORRUPT_FREE_LINK,   /* child: a free block's list link overwritten (use after free) */
    BAD_CORRUPT_REMOTE_LINK, /* child: a queued block's remote-queue link overwritten */
    BAD_COUNT_
};
static const char *const bad_name[BAD_COUNT_] = {
    "use-freed", "use-freed-later", "after-move", "interior", "misaligned", "foreign",
    "corrupt-header", "cross-thread", "overflow-next", "overflow-large", "corrupt-free-link",
    "corrupt-remote-link",
};
static size_t bad_hits[BAD_COUNT_];
static size_t fault_hits[TA_FAULT_COUNT_];

/* The call must raise a fault in mask, at p, with a well-formed message. */
static void expect_fault(fz_model *m, enum bad b, enum call c, void *p, unsigned mask) {
    enum ta_fault f = trap_call(c, p);
    FZ_REQUIRE(m, f != 0, "[%s] %s(%p) returned without reporting misuse", bad_name[b], call_name[c], p);
    FZ_REQUIRE(m, (mask >> f) & 1, "[%s] %s(%p) reported \"%s\" (%d), not an allowed fault (mask 0x%x): %s",
               bad_name[b], call_name[c], p, ta_fault_name(f), (int)f, mask, trap_msg);
    FZ_REQUIRE(m, trap_addr == p, "[%s] %s(%p) reported address %p", bad_name[b], call_name[c], p, trap_addr);
    FZ_REQUIRE(m, message_ok(f, p, trap_msg), "[%s] malformed report: %s", bad_name[b], trap_msg);
    bad_hits[b]++;
    fault_hits[f]++;
}

/* Runs fn(arg) in a forked child, which must be stopped by a fault in mask (reported by the
 * handler with a well-formed message); the parent's heap is untouched. */
static void expect_fault_in_child(fz_model *m, enum bad b, void (*fn)(void *), void *arg, unsigned mask) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    FZ_REQUIRE(m, pid >= 0, "fork: errno %d", errno);
    if (pid == 0) {
        in_child = 1;
        fn(arg);
        _exit(99);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0) FZ_REQUIRE(m, errno == EINTR, "waitpid: errno %d", errno);
    FZ_REQUIRE(m, WIFEXITED(st), "[%s] the child died by signal %d instead of reporting the fault", bad_name[b],
               WIFSIGNALED(st) ? WTERMSIG(st) : -1);
    int code = WEXITSTATUS(st);
    FZ_REQUIRE(m, code != 99, "[%s] the bad operation returned without reporting misuse", bad_name[b]);
    FZ_REQUIRE(m, code != 98, "[%s] the child's fault report was malformed", bad_name[b]);
    FZ_REQUIRE(m, code > 100 && code < 100 + TA_FAULT_COUNT_, "[%s] child exit status %d", bad_name[b], code);
    enum ta_fault f = (enum ta_fault)(code - 100);
    FZ_REQUIRE(m, (mask >> f) & 1, "[%s] reported \"%s\", not an allowed fault (mask 0x%x)", bad_name[b],
               ta_fault_name(f), mask);
    bad_hits[b]++;
    fault_hits[f]++;
}

/* ---- choosing blocks -------------------------------------------------------------------------- */

static int is_large(const void *p) {
    ta_span *sp = ta_segmap_lookup(p);
    return sp && sp->kind == TA_SPAN_LARGE;
}

enum kind { ANY, SMALL, LARGE };

/* A live slot (the first from sel on) of the kind with at least min_len usable bytes; if there is
 * none, a fresh block of that kind is allocated into slot sel. */
static unsigned live_slot(fz_model *m, uint8_t sel, enum kind kind, size_t min_len) {
    for (unsigned k = 0; k < FZ_SLOTS; k++) {
        unsigned i = (sel + k) % FZ_SLOTS;
        fz_slot *s = &m->slot[i];
        if (s->p && s->len >= min_len && (kind == ANY || (kind == LARGE) == is_large(s->p))) return i;
    }
    unsigned i = sel % FZ_SLOTS;
    fz_release(m, i);
    size_t n = kind == LARGE ? ta_small_limit() + (size_t)16 * sel : min_len + (size_t)16 * (sel % 64) + 40;
    void *p = ta_malloc(n);
    FZ_REQUIRE(m, p != NULL, "ta_malloc(%zu)", n);
    fz_install(m, i, p);
    return i;
}

/* An empty slot (the first from sel on; slot sel is freed when all are full). */
static unsigned empty_slot(fz_model *m, uint8_t sel) {
    for (unsigned k = 0; k < FZ_SLOTS; k++) {
        unsigned i = (sel + k) % FZ_SLOTS;
        if (!m->slot[i].p) return i;
    }
    fz_release(m, sel % FZ_SLOTS);
    return sel % FZ_SLOTS;
}

/* What a call on a block freed moments ago must report: a double free (free) or a use after free
 * (realloc, usable size); an arena block whose segment was released with it is no longer
 * tamalloc's at all, which only the large-block history can still name. */
static unsigned freed_mask(const void *p, int was_large, enum call c) {
    if (!was_large && ta_segmap_lookup(p) == NULL) return F(INVALID_POINTER);
    return c == CALL_FREE ? F(DOUBLE_FREE) : F(USE_AFTER_FREE);
}

/* A delta for a corrupted word that no valid value can absorb: it makes the word misaligned
 * (low byte, odd) or puts it outside the 48-bit address space (high byte). */
static uint64_t wild_delta(uint8_t v) {
    return (v & 1) ? (uint64_t)(v | 1) : (uint64_t)(v | 1) << 52;
}

/* ---- the bad operations, in process ------------------------------------------------------------- */

static void bad_use_freed(fz_model *m, uint8_t p1, uint8_t p2, uint8_t p3, int later) {
    unsigned i = live_slot(m, p1, ANY, 0);
    void *p = m->slot[i].p;
    int was_large = is_large(p);
    fz_release(m, i);
    if (later) {   /* free a few other blocks (no allocation, so p's memory is not reused) */
        for (unsigned k = 0, n = p3 % 8; k < FZ_SLOTS && n; k++) {
            unsigned j = (p1 + 7 * k + 1) % FZ_SLOTS;
            if (m->slot[j].p) { fz_release(m, j); n--; }
        }
    }
    enum call c = (enum call)(p2 % 3);
    expect_fault(m, later ? BAD_USE_FREED_LATER : BAD_USE_FREED, c, p, freed_mask(p, was_large, c));
}

static void bad_after_move(fz_model *m, uint8_t p1, uint8_t p2) {
    unsigned i = live_slot(m, p1, ANY, 0);
    fz_slot *s = &m->slot[i];
    fz_verify(m, i, "before the moving realloc");
    unsigned char *p = s->p;
    size_t len = s->len, n = len * 2 + 4096;
    if (n < ta_small_limit()) n = ta_small_limit() + 4096;   /* a large block: always a new mapping */
    int was_large = is_large(p);
    unsigned char *q = ta_realloc(p, n);
    FZ_REQUIRE(m, q != NULL, "ta_realloc(%p, %zu) failed", (void *)p, n);
    /* q holds p's old contents in its first len bytes; the model tracks q from here */
    fz_forget(m, i);
    fz_install(m, i, q);
    /* A large block may grow where it is (mremap in place): then p is still live, no misuse to try.
     * A small block that becomes large always moves. */
    FZ_REQUIRE(m, q != p || was_large, "ta_realloc(%p, %zu) of a small block did not move", (void *)p, n);
    if (q == p) return;
    enum call c = (enum call)(p2 % 3);
    expect_fault(m, BAD_AFTER_MOVE, c, p, freed_mask(p, was_large, c));
}

static void bad_interior(fz_model *m, uint8_t p1, uint8_t p2, uint8_t p3) {
    unsigned i = live_slot(m, p1, (p3 & 4) ? LARGE : ANY, 32);
    fz_slot *s = &m->slot[i];
    size_t granules = s->len / 16;   /* >= 2 */
    unsigned char *q = s->p + 16 * (1 + p2 % (granules - 1));
    expect_fault(m, BAD_INTERIOR, (enum call)(p3 % 3), q, F(INTERIOR_POINTER));
    fz_verify(m, i, "after an interior pointer was rejected");
}

static void bad_misaligned(fz_model *m, uint8_t p1, uint8_t p2, uint8_t p3) {
    unsigned char *q;
    if (p3 & 8) {
        q = (unsigned char *)(uintptr_t)(1 + p2 % 15);   /* a wild address like (void *)1 */
    } else {
        unsigned i = live_slot(m, p1, ANY, 0);
        q = m->slot[i].p + 1 + p2 % 15;
    }
    expect_fault(m, BAD_MISALIGNED, (enum call)(p3 % 3), q, F(MISALIGNED_POINTER));
}

static _Alignas(64) unsigned char static_area[256];

static void bad_foreign(fz_model *m, uint8_t p2, uint8_t p3) {
    _Alignas(64) unsigned char stack_area[256];
    enum call c = (enum call)(p3 % 3);
    size_t off = 16 * (p2 % 8);
    /* A foreign mapping (or C library chunk) may share a 4 MiB chunk with a large tamalloc
     * mapping, whose registry entry then names it an interior pointer of that block. */
    unsigned near_large = F(INVALID_POINTER) | F(INTERIOR_POINTER);
    switch ((p3 / 3) % 6) {
    case 0:
        memset(stack_area, 0x5a, sizeof stack_area);
        expect_fault(m, BAD_FOREIGN, c, stack_area + off, near_large);   /* ASan may put frames in mmaps */
        break;
    case 1:
        expect_fault(m, BAD_FOREIGN, c, static_area + off, F(INVALID_POINTER));
        break;
    case 2: {
        unsigned char *h = aligned_alloc(16, 256);   /* the C library's heap */
        FZ_REQUIRE(m, h != NULL, "aligned_alloc");
        memset(h, 0x5a, 256);
        expect_fault(m, BAD_FOREIGN, c, h + off, near_large);
        free(h);
        break;
    }
    case 3: {
        unsigned char *map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        FZ_REQUIRE(m, map != MAP_FAILED, "mmap");
        expect_fault(m, BAD_FOREIGN, c, map + 16 * p2, near_large);
        munmap(map, 8192);
        break;
    }
    case 4:
        expect_fault(m, BAD_FOREIGN, c, (void *)(uintptr_t)(16 * (1 + p2)), F(INVALID_POINTER));
        break;
    default:
        expect_fault(m, BAD_FOREIGN, c, (void *)(((uintptr_t)1 << 60) + 16 * p2), F(INVALID_POINTER));
        break;
    }
}

static void bad_corrupt_header(fz_model *m, uint8_t p1, uint8_t p2, uint8_t p3) {
    unsigned i = live_slot(m, p1, (p2 & 0x80) ? LARGE : ANY, 0);
    unsigned char *p = m->slot[i].p, *hdr = p - 16, saved[16];
    memcpy(saved, hdr, 16);
    unsigned k = p2 % 16;
    uint8_t delta = p3 ? p3 : 0x5a;
    int large = is_large(p);
    hdr[k] ^= delta;
    enum call c = (enum call)((p3 >> 4) % 3);
    unsigned freed = c == CALL_FREE ? F(DOUBLE_FREE) : F(USE_AFTER_FREE);
    unsigned mask = F(CORRUPT_HEADER);
    if (k == 8 && (delta & 0xf0) == 0) {   /* only the state bits changed: the key still verifies */
        unsigned st = (large ? TA_STATE_LARGE : TA_STATE_USED) ^ delta;
        /* reads as freed before: queued, or in its thread's cache (CACHED, 6 = USED ^ 7) */
        if (large || st == TA_STATE_QUEUED || st == TA_STATE_CACHED) mask = freed;
        /* FREE: a block not on the free list names the forged state; reading it as a second free is
         * also a report of the misuse */
        if (!large && st == TA_STATE_FREE) mask = F(CORRUPT_HEADER) | freed;
    }
    expect_fault(m, BAD_CORRUPT_HEADER, c, p, mask);
    memcpy(hdr, saved, 16);
    fz_verify(m, i, "after a corrupted header was rejected and restored");
}

struct thread_free { void *p; enum ta_fault fault; int trapped; };

static void *thread_free_main(void *arg) {
    struct thread_free *t = arg;
    if (!t->trapped) {
        ta_free(t->p);
        return NULL;
    }
    t->fault = trap_call(CALL_FREE, t->p);
    return NULL;
}

static void run_thread_free(fz_model *m, struct thread_free *t) {
    pthread_t th;
    FZ_REQUIRE(m, pthread_create(&th, NULL, thread_free_main, t) == 0, "pthread_create");
    pthread_join(th, NULL);
}

static void bad_cross_thread(fz_model *m, uint8_t p1, uint8_t p3) {
    unsigned i = live_slot(m, p1, (p3 & 2) ? LARGE : ANY, 0);
    void *p = m->slot[i].p;
    int was_large = is_large(p);
    fz_verify(m, i, "before a cross-thread free");
    fz_forget(m, i);
    struct thread_free first = {p, 0, 0};
    run_thread_free(m, &first);   /* a remote free: the block is queued to this thread's arena */
    unsigned mask = freed_mask(p, was_large, CALL_FREE);
    if (p3 & 1) {   /* the second free from yet another thread */
        struct thread_free second = {p, 0, 1};
        run_thread_free(m, &second);
        FZ_REQUIRE(m, second.fault != 0, "[cross-thread] a second free from another thread was not reported");
        FZ_REQUIRE(m, (mask >> second.fault) & 1, "[cross-thread] second free reported \"%s\"",
                   ta_fault_name(second.fault));
        bad_hits[BAD_CROSS_THREAD]++;
        fault_hits[second.fault]++;
    } else {
        expect_fault(m, BAD_CROSS_THREAD, CALL_FREE, p, mask);
    }
    ta_collect();   /* drain the queued block so the model's allocated-bytes check holds again */
}

/* ---- the bad operations, in a child ------------------------------------------------------------- */

struct poke {
    unsigned char *at;   /* byte to change */
    uint64_t *word;      /* or word to change (when at == NULL) */
    uint64_t delta;
    enum call c;
    void *target;        /* the call's argument */
    size_t realloc_to;   /* CALL_REALLOC: new size */
};

static void poke_and_call(void *arg) {
    struct poke *k = arg;
    if (k->at) *k->at ^= (unsigned char)k->delta;
    else *k->word ^= k->delta;
    if (k->c == CALL_REALLOC) (void)ta_realloc(k->target, k->realloc_to);
    else if (k->c == CALL_USABLE) (void)ta_malloc(16);   /* allocation drains the remote queue */
    else ta_free(k->target);
}

/* Returns 0 when the operation's precondition cannot be met (the caller falls back). */
static int bad_overflow_next(fz_model *m, uint8_t p1, uint8_t p2, uint8_t p3) {
    if (ta_opt.check < 1) return 0;   /* level 0 checks only the freed block's own header */
    for (int attempt = 0; attempt < 2; attempt++) {
        for (unsigned k = 0; k < FZ_SLOTS; k++) {
            unsigned i = (p1 + k) % FZ_SLOTS;
            fz_slot *s = &m->slot[i];
            if (!s->p || is_large(s->p)) continue;
            ta_segment *seg = ta_segment_of(s->p);
            if ((char *)s->p + s->len >= seg->end) continue;   /* the segment's last block: no neighbour */
            unsigned off = p2 % 16;
            uint8_t delta = (uint8_t)(p3 | 1);
            if (off == 8) delta |= 0x10;   /* not only the state bits, which the key does not cover */
            struct poke poke = {s->p + s->len + off, NULL, delta, CALL_FREE, s->p, 0};
            if ((p3 & 0x80) && s->len + 64 < ta_small_limit()) {   /* grow in place: reads the neighbour */
                poke.c = CALL_REALLOC;
                poke.realloc_to = s->len + 64;
            }
            expect_fault_in_child(m, BAD_OVERFLOW_NEXT, poke_and_call, &poke, F(OVERFLOW));
            return 1;
        }
        unsigned j = empty_slot(m, p1);
        void *q = ta_malloc(16 + p2 % 512);
        FZ_REQUIRE(m, q != NULL, "ta_malloc");
        fz_install(m, j, q);
    }
    return 0;
}

static void bad_overflow_large(fz_model *m, uint8_t p1, uint8_t p2, uint8_t p3) {
    unsigned i = live_slot(m, p1, LARGE, 0);
    fz_slot *s = &m->slot[i];
    struct poke poke = {s->p + s->len + p2 % 8, NULL, (uint8_t)(p3 | 1), CALL_FREE, s->p, 0};
    expect_fault_in_child(m, BAD_OVERFLOW_LARGE, poke_and_call, &poke, F(OVERFLOW));
}

/* Three physically adjacent small blocks y | x | z; x is freed (its neighbours are live, so it is
 * listed on its own), its link is overwritten, and freeing y coalesces with x, reading the link. */
static int bad_corrupt_free_link(fz_model *m, uint8_t p1, uint8_t p2, uint8_t p3) {
    for (int attempt = 0; attempt < 3; attempt++) {
        unsigned idx[3];
        for (int k = 0; k < 3; k++) {
            idx[k] = empty_slot(m, (uint8_t)(p1 + 17 * k));
            void *q = ta_malloc(32 + (size_t)16 * ((p2 + k * 5) % 16));
            FZ_REQUIRE(m, q != NULL, "ta_malloc");
            fz_install(m, idx[k], q);
        }
        fz_slot *y = &m->slot[idx[0]], *x = &m->slot[idx[1]], *z = &m->slot[idx[2]];
        if (y->p + y->len + 16 != x->p || x->p + x->len + 16 != z->p) continue;
        unsigned char *xp = x->p;
        fz_release(m, idx[1]);
        struct poke poke = {NULL, (uint64_t *)xp + (p3 & 2 ? 1 : 0), wild_delta(p3), CALL_FREE, y->p, 0};
        expect_fault_in_child(m, BAD_CORRUPT_FREE_LINK, poke_and_call, &poke, F(CORRUPT_LINK));
        return 1;
    }
    return 0;
}

static int bad_corrupt_remote_link(fz_model *m, uint8_t p1, uint8_t p3) {
    unsigned i = live_slot(m, p1, SMALL, 16);
    unsigned char *p = m->slot[i].p;
    fz_verify(m, i, "before a cross-thread free");
    fz_forget(m, i);
    struct thread_free t = {p, 0, 0};
    run_thread_free(m, &t);
    if (ta_block_state(ta_block_of(p)) != TA_STATE_QUEUED) {   /* one arena: freed locally */
        ta_collect();
        return 0;
    }
    struct poke poke = {NULL, (uint64_t *)p, wild_delta(p3), CALL_USABLE, NULL, 0};
    expect_fault_in_child(m, BAD_CORRUPT_REMOTE_LINK, poke_and_call, &poke, F(CORRUPT_LINK));
    ta_collect();   /* the parent's queue is intact: drain it */
    return 1;
}

/* ---- the target ------------------------------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    ta_free(ta_malloc(1));   /* initialise: options and the small limit are read below */
    ta_fault_set_handler(trap_handler);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static fz_model m;
    static int ready;
    if (!ready) { LLVMFuzzerInitialize(NULL, NULL); ready = 1; }
    fz_model_init(&m, 1);
    fz_in in = {data, size, 0};
    uint8_t sel = fz_u8(&in), p1 = fz_u8(&in), p2 = fz_u8(&in), p3 = fz_u8(&in);
    for (int n = 0; n < PREFIX_OPS && fz_more(&in); n++) fz_step(&m, &in);

    enum bad b = (enum bad)(sel % BAD_COUNT_);
    int done = 1;
    switch (b) {
    case BAD_USE_FREED: bad_use_freed(&m, p1, p2, p3, 0); break;
    case BAD_USE_FREED_LATER: bad_use_freed(&m, p1, p2, p3, 1); break;
    case BAD_AFTER_MOVE: bad_after_move(&m, p1, p2); break;
    case BAD_INTERIOR: bad_interior(&m, p1, p2, p3); break;
    case BAD_MISALIGNED: bad_misaligned(&m, p1, p2, p3); break;
    case BAD_FOREIGN: bad_foreign(&m, p2, p3); break;
    case BAD_CORRUPT_HEADER: bad_corrupt_header(&m, p1, p2, p3); break;
    case BAD_CROSS_THREAD: bad_cross_thread(&m, p1, p3); break;
    case BAD_OVERFLOW_NEXT: done = bad_overflow_next(&m, p1, p2, p3); break;
    case BAD_OVERFLOW_LARGE: bad_overflow_large(&m, p1, p2, p3); break;
    case BAD_CORRUPT_FREE_LINK: done = bad_corrupt_free_link(&m, p1, p2, p3); break;
    default: done = bad_corrupt_remote_link(&m, p1, p3); break;
    }
    if (!done) bad_use_freed(&m, p1, p2, p3, 0);   /* precondition not met: still one bad op */
    fz_check_heap(&m, "after the bad operation");
    fz_check_stats(&m, "after the bad operation");
    fz_release_all(&m);
    return 0;
}

/* Replay (bazel test): every kind of bad operation was made and caught at least once. */
void fz_replay_done(size_t corpus_files, size_t random_inputs) {
    (void)corpus_files;
    (void)random_inputs;
    ta_arena_stats as;
    size_t arenas = ta_get_arena_stats(0, &as);
    int ok = 1;
    for (int b = 0; b < BAD_COUNT_; b++) {
        printf("misuse_fuzzer: %-20s caught %zu times\n", bad_name[b], bad_hits[b]);
        int possible = !(b == BAD_OVERFLOW_NEXT && ta_opt.check < 1) && !(b == BAD_CORRUPT_REMOTE_LINK && arenas < 2);
        if (possible && bad_hits[b] == 0) ok = 0;
    }
    for (int f = 1; f < TA_FAULT_COUNT_; f++)
        if (fault_hits[f]) printf("misuse_fuzzer: fault \"%s\": %zu\n", ta_fault_name((enum ta_fault)f), fault_hits[f]);
    if (!ok) {
        fprintf(stderr, "FAIL: some kind of bad operation was never made\n");
        abort();
    }
}
