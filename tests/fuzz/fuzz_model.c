/* fuzz_model.c - see fuzz_model.h. */
#include "tests/fuzz/fuzz_model.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tamalloc.h"
#include "tests/testlib/pattern.h"

/* ---- failure ------------------------------------------------------------------------------ */

void fz_fail(const fz_model *m, const char *file, int line, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s:%d: fuzz model: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (m) fprintf(stderr, " (after %zu operations, %zu live bytes)", m->ops, m->live_bytes);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}

/* ---- decoding ----------------------------------------------------------------------------- */

size_t fz_size(fz_in *in) {
    unsigned c = fz_u8(in);
    size_t v = fz_u16(in);
    switch (c & 7) {
    case 0: return v % 33;                                  /* 0..32: the minimum block */
    case 1:
    case 2: return v % 1025;                                /* small */
    case 3: return v % 16385;                               /* up to 16 KiB */
    case 4: return v;                                       /* up to 64 KiB */
    case 5: return FZ_THRESHOLD - 48 + v % 97;              /* straddles the mmap threshold */
    case 6: return FZ_THRESHOLD + (v % 1024) * 256 + (c >> 3);   /* large */
    default: {                                              /* next to a 16-byte boundary */
        static const size_t delta[4] = {0, 1, 15, 17};
        return (v % 512) * 16 + delta[(c >> 3) & 3];
    }
    }
}

static const enum fz_op op_table[16] = {
    FZ_MALLOC, FZ_MALLOC, FZ_MALLOC, FZ_MALLOC, FZ_CALLOC, FZ_REALLOC, FZ_REALLOC, FZ_REALLOCARRAY,
    FZ_ALIGNED, FZ_FREE, FZ_FREE, FZ_FREE, FZ_USABLE, FZ_REFILL, FZ_VERIFY_ALL, FZ_IMPOSSIBLE,
};

enum fz_op fz_op_of(uint8_t b) {
    enum fz_op op = op_table[b & 15];
    if (op == FZ_VERIFY_ALL && (b & 0x80)) op = FZ_COLLECT;
    return op;
}

const char *fz_op_name(enum fz_op op) {
    static const char *const names[FZ_OP_COUNT_] = {
        "malloc", "calloc", "realloc", "reallocarray", "aligned", "free", "usable_size",
        "refill", "verify_all", "impossible", "collect",
    };
    return (unsigned)op < FZ_OP_COUNT_ ? names[op] : "?";
}

/* ---- model primitives -------------------------------------------------------------------------- */

void fz_check_heap(fz_model *m, const char *when) {
    int rc = ta_check();
    FZ_REQUIRE(m, rc == 0, "ta_check() = %d (%s) %s", rc, ta_check_name(rc), when);
}

void fz_check_stats(fz_model *m, const char *when) {
    if (!m->check_stats) return;
    ta_stats st;
    ta_get_stats(&st);
    FZ_REQUIRE(m, st.allocated == m->baseline + m->live_bytes, "allocated %zu, expected %zu + %zu %s",
               st.allocated, m->baseline, m->live_bytes, when);
}

void fz_model_init(fz_model *m, int check_stats) {
    memset(m, 0, sizeof *m);
    m->next_tag = 1;
    m->check_stats = check_stats;
    if (check_stats) {
        ta_stats st;
        ta_get_stats(&st);
        m->baseline = st.allocated;
    }
}

void fz_verify(fz_model *m, unsigned i, const char *when) {
    fz_slot *s = &m->slot[i];
    if (!s->p) return;
    size_t bad = pattern_find_bad(s->p, s->len, s->tag);
    FZ_REQUIRE(m, bad == (size_t)-1, "slot %u block %p (usable %zu) corrupted at offset %zu %s", i,
               (void *)s->p, s->len, bad, when);
}

void fz_install(fz_model *m, unsigned i, void *p) {
    fz_slot *s = &m->slot[i];
    FZ_REQUIRE(m, s->p == NULL, "slot %u occupied", i);
    FZ_REQUIRE(m, p != NULL && ((uintptr_t)p & 15) == 0, "pointer %p not 16-byte aligned", p);
    s->p = p;
    s->len = ta_usable_size(p);
    s->tag = m->next_tag++;
    pattern_fill(s->p, s->len, s->tag);
    m->live_bytes += s->len;
}

void fz_forget(fz_model *m, unsigned i) {
    m->live_bytes -= m->slot[i].len;
    memset(&m->slot[i], 0, sizeof m->slot[i]);
}

void fz_release(fz_model *m, unsigned i) {
    fz_slot *s = &m->slot[i];
    if (!s->p) return;
    fz_verify(m, i, "before free");
    void *p = s->p;
    if (m->on_free) m->on_free(m, p, 0);
    errno = EILSEQ;
    ta_free(p);
    FZ_REQUIRE(m, errno == EILSEQ, "ta_free changed errno to %d", errno);
    if (m->on_free) m->on_free(m, p, 1);
    fz_forget(m, i);
}

void fz_release_all(fz_model *m) {
    for (unsigned i = 0; i < FZ_SLOTS; i++) fz_release(m, i);
    fz_check_heap(m, "after freeing every block");
    fz_check_stats(m, "after freeing every block");
}

/* Usable size of fresh block p for request n is in [n, fz_usable_max(n)]. */
static void check_usable(fz_model *m, void *p, size_t n, size_t max, const char *what) {
    size_t u = ta_usable_size(p);
    FZ_REQUIRE(m, u >= n && u <= max, "%s(%zu): usable size %zu outside [%zu, %zu]", what, n, u, n, max);
}

/* ---- operations ------------------------------------------------------------------------------ */

static unsigned char *scratch;   /* realloc: the bytes that must survive (C library heap) */
static size_t scratch_cap;

static void scratch_reserve(fz_model *m, size_t n) {
    if (n <= scratch_cap) return;
    unsigned char *q = realloc(scratch, n);
    FZ_REQUIRE(m, q != NULL, "scratch of %zu bytes", n);
    scratch = q;
    scratch_cap = n;
}

static void op_malloc(fz_model *m, unsigned i, size_t n) {
    fz_release(m, i);
    void *p = ta_malloc(n);
    FZ_REQUIRE(m, p != NULL, "ta_malloc(%zu) failed", n);
    check_usable(m, p, n, fz_usable_max(n), "ta_malloc");
    fz_install(m, i, p);
}

static void op_calloc(fz_model *m, unsigned i, unsigned count, size_t size) {
    fz_release(m, i);
    size_t total;
    if (__builtin_mul_overflow((size_t)count, size, &total)) total = SIZE_MAX;
    unsigned char *p = ta_calloc(count, size);
    FZ_REQUIRE(m, p != NULL, "ta_calloc(%u, %zu) failed", count, size);
    for (size_t k = 0; k < total; k++) FZ_REQUIRE(m, p[k] == 0, "ta_calloc(%u, %zu): byte %zu is %d", count, size, k, p[k]);
    check_usable(m, p, total, fz_usable_max(total), "ta_calloc");
    fz_install(m, i, p);
}

/* ta_realloc (reallocarray when count != 0) of slot i to n bytes. */
static void op_realloc(fz_model *m, unsigned i, size_t n, unsigned count, size_t each) {
    fz_slot *s = &m->slot[i];
    unsigned char *old = s->p;
    size_t keep = 0, old_len = s->len;
    if (old) {
        fz_verify(m, i, "before realloc");
        keep = old_len < n ? old_len : n;
        scratch_reserve(m, keep);
        if (keep) memcpy(scratch, old, keep);
    }
    unsigned char *q = count ? ta_reallocarray(old, count, each) : ta_realloc(old, n);
    if (old && n == 0) {   /* frees, returns NULL (glibc's behaviour) */
        FZ_REQUIRE(m, q == NULL, "ta_realloc(p, 0) returned %p", (void *)q);
        fz_forget(m, i);
        return;
    }
    FZ_REQUIRE(m, q != NULL, "ta_realloc(%p, %zu) failed", (void *)old, n);
    FZ_REQUIRE(m, keep == 0 || memcmp(q, scratch, keep) == 0, "ta_realloc(%p, %zu) -> %p lost the first %zu bytes",
               (void *)old, n, (void *)q, keep);
    size_t max = fz_usable_max(n);
    if (q == old && old_len > max) max = old_len;   /* kept in place: the old block may be bigger */
    check_usable(m, q, n, max, "ta_realloc");
    if (old) fz_forget(m, i);
    fz_install(m, i, q);
}

static void op_aligned(fz_model *m, unsigned i, uint8_t b, size_t n) {
    fz_release(m, i);
    size_t align = (size_t)1 << (b % 21);   /* 1 .. 1 MiB */
    unsigned kind = (b / 21) % 3;
    void *p = NULL;
    if (kind == 0) {
        if (align < sizeof(void *)) align = sizeof(void *);
        void *out = (void *)&out;   /* must stay untouched on error */
        int rc = ta_posix_memalign(&out, align, n);
        FZ_REQUIRE(m, rc == 0, "ta_posix_memalign(%zu, %zu) = %d", align, n, rc);
        p = out;
    } else if (kind == 1) {
        p = ta_aligned_alloc(align, n);
    } else {
        size_t ask = align;
        if ((b & 0x80) && align >= 4) ask = align - align / 4;   /* not a power of two: rounded up */
        p = ta_memalign(ask, n);
    }
    FZ_REQUIRE(m, p != NULL, "aligned kind %u (%zu, %zu) failed", kind, align, n);
    FZ_REQUIRE(m, ((uintptr_t)p & (align - 1)) == 0, "aligned kind %u: %p not %zu-aligned", kind, p, align);
    check_usable(m, p, n, fz_usable_max(n), "aligned");
    fz_install(m, i, p);
}

static void op_impossible(fz_model *m, unsigned i, uint8_t v) {
    size_t huge = SIZE_MAX - (size_t)(v >> 3) * 4096;   /* > SIZE_MAX / 2: can never be mapped */
    fz_slot *s = &m->slot[i];
    void *out = (void *)&out;
    errno = 0;
    switch (v & 7) {
    case 0:
        FZ_REQUIRE(m, ta_malloc(huge) == NULL && errno == ENOMEM, "ta_malloc(%zu): errno %d", huge, errno);
        break;
    case 1:
        FZ_REQUIRE(m, ta_calloc(((size_t)1 << 33) + v, (size_t)1 << 31) == NULL && errno == ENOMEM,
                   "ta_calloc overflow: errno %d", errno);
        break;
    case 2:
    case 3: {   /* the block stays as it was */
        void *q = (v & 1) ? ta_reallocarray(s->p, (size_t)1 << 40, (size_t)1 << 30) : ta_realloc(s->p, huge);
        FZ_REQUIRE(m, q == NULL && errno == ENOMEM, "impossible realloc of %p: %p, errno %d", (void *)s->p, q, errno);
        if (s->p) {
            fz_verify(m, i, "after a failed realloc");
            FZ_REQUIRE(m, ta_usable_size(s->p) == s->len, "failed realloc changed the usable size");
        }
        break;
    }
    case 4:
        FZ_REQUIRE(m, ta_aligned_alloc(48 + (size_t)(v >> 3) * 64, 64) == NULL && errno == EINVAL,
                   "ta_aligned_alloc with a non-power-of-two alignment: errno %d", errno);
        break;
    case 5: {
        size_t bad_align = (v & 8) ? 4 : 24;   /* below sizeof(void *), or not a power of two */
        FZ_REQUIRE(m, ta_posix_memalign(&out, bad_align, 64) == EINVAL && out == (void *)&out,
                   "ta_posix_memalign(%zu) did not give EINVAL with *out untouched", bad_align);
        break;
    }
    case 6:
        FZ_REQUIRE(m, ta_aligned_alloc((size_t)1 << 63, 16) == NULL && errno == ENOMEM,
                   "ta_aligned_alloc(2^63): errno %d", errno);
        break;
    default:
        FZ_REQUIRE(m, ta_posix_memalign(&out, 64, huge) == ENOMEM && out == (void *)&out,
                   "ta_posix_memalign(64, %zu) did not give ENOMEM with *out untouched", huge);
        break;
    }
}

void fz_do(fz_model *m, enum fz_op op, fz_in *in) {
    unsigned i = fz_u8(in) % FZ_SLOTS;
    fz_slot *s = &m->slot[i];
    switch (op) {
    case FZ_MALLOC: op_malloc(m, i, fz_size(in)); break;
    case FZ_CALLOC: {
        unsigned count = fz_u8(in) % 17;
        size_t size = fz_size(in);
        op_calloc(m, i, count, count ? size / count : size);
        break;
    }
    case FZ_REALLOC: op_realloc(m, i, fz_size(in), 0, 0); break;
    case FZ_REALLOCARRAY: {
        unsigned count = 1 + fz_u8(in) % 16;
        size_t each = fz_size(in) / count;
        op_realloc(m, i, count * each, count, each);
        break;
    }
    case FZ_ALIGNED: {
        uint8_t b = fz_u8(in);
        op_aligned(m, i, b, fz_size(in));
        break;
    }
    case FZ_FREE: fz_release(m, i); break;
    case FZ_USABLE:
        if (s->p) FZ_REQUIRE(m, ta_usable_size(s->p) == s->len, "usable size of %p changed", (void *)s->p);
        else FZ_REQUIRE(m, ta_usable_size(NULL) == 0, "ta_usable_size(NULL) != 0");
        break;
    case FZ_REFILL:
        if (s->p) {
            fz_verify(m, i, "before refill");
            s->tag = m->next_tag++;
            pattern_fill(s->p, s->len, s->tag);
        }
        break;
    case FZ_VERIFY_ALL:
        for (unsigned k = 0; k < FZ_SLOTS; k++) fz_verify(m, k, "in verify_all");
        break;
    case FZ_IMPOSSIBLE: op_impossible(m, i, fz_u8(in)); break;
    case FZ_COLLECT: ta_collect(); break;
    default: break;
    }
    m->ops++;
    fz_check_heap(m, fz_op_name(op));
    fz_check_stats(m, fz_op_name(op));
}

void fz_step(fz_model *m, fz_in *in) { fz_do(m, fz_op_of(fz_u8(in)), in); }
