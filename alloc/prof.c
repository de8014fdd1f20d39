/* prof.c - the sampling heap profiler's stack table, its sampling law and its profile writer.
 *
 * SYNCHRONIZATION: prof_lock (rank TA_RANK_PROF) guards adding a bucket to a chain and the bucket
 * pool; prof_live_lock (same rank, never held with prof_lock) the table of live sampled arena
 * blocks. Both are taken with no other lock held (from the allocation slow path, before the block is
 * allocated). Chain heads and bucket links are published with release stores and read with acquire
 * loads, so lookups and the writer walk the table without the lock. A bucket's counters are
 * relaxed atomics: the writer reads each one once, so a line may be off by the samples taken while
 * it was being written, never torn. */
#include "alloc/prof.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc/options.h"
#include "alloc/platform/atomic.h"
#include "alloc/platform/lock.h"
#include "alloc/platform/os.h"
#include "alloc/platform/symbolize.h"

#define PROF_CHAINS 4096u                  /* hash chains (a power of two) */
#define PROF_LIVE_CHAINS 16384u            /* chains of the table of live sampled blocks */
#define PROF_POOL_CHUNK ((size_t)1 << 20)  /* bytes mapped at a time for buckets */

struct ta_prof_stack {
    _Atomic(struct ta_prof_stack *) a_next;   /* the next bucket on the chain; set before publishing */
    uint64_t hash;
    uint32_t depth;                           /* frames in pcs */
    ta_atomic_u64 a_alloc_n, a_alloc_bytes;   /* samples taken at this stack, and their bytes */
    ta_atomic_u64 a_free_n, a_free_bytes;     /* of those, freed */
    void *pcs[];                              /* return addresses, innermost first */
};

size_t ta_prof_rate;

static _Atomic(ta_prof_stack *) prof_chains[PROF_CHAINS];
static ta_lock prof_lock;

/* Live sampled arena blocks by address. All under prof_live_lock (rank TA_RANK_PROF, taken with no
 * other lock held, never with prof_lock): an entry is added per sample and removed per sampled
 * free, so the lock is taken once per sample, never by an unsampled call. */
typedef struct prof_live { struct prof_live *next; void *p; ta_prof_stack *st; size_t n; } prof_live;
static ta_lock prof_live_lock;
static prof_live **prof_live_chains;   /* PROF_LIVE_CHAINS heads, mapped at the first sample */
static prof_live *prof_live_free;      /* entries to reuse */

/* ---------------------------------------------------------------------------------------------
 * The sampling law.
 * ------------------------------------------------------------------------------------------- */

void ta_prof_init(void) {
    ta_lock_init(&prof_lock, TA_RANK_PROF);
    ta_lock_init(&prof_live_lock, TA_RANK_PROF);
    ta_prof_rate = ta_opt.prof[0] || ta_opt.prof_sample_set || ta_opt.prof_leaks ? ta_opt.prof_sample : 0;
}

static uint64_t prof_rand(uint64_t *s) {   /* xorshift64* */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* ln(u) for u in (0, 1]: u = m * 2^e with m in [1, 2), ln m = 2 atanh((m - 1) / (m + 1)) by its
 * series (t <= 1/3: the terms past t^9 / 9 add under 1e-6). No libm. */
static double prof_log(double u) {
    uint64_t bits;
    memcpy(&bits, &u, sizeof bits);
    int e = (int)((bits >> 52) & 0x7ff) - 1023;
    bits = (bits & ~((uint64_t)0x7ff << 52)) | ((uint64_t)1023 << 52);
    double m;
    memcpy(&m, &bits, sizeof m);
    double t = (m - 1) / (m + 1), t2 = t * t;
    double ln_m = 2 * t * (1 + t2 * (1.0 / 3 + t2 * (1.0 / 5 + t2 * (1.0 / 7 + t2 * (1.0 / 9)))));
    return e * 0.69314718055994530942 + ln_m;
}

/* e^-x for x >= 0: x = k ln 2 + r with r in [0, ln 2), e^-r by its series to r^9 (error under
 * 1e-8), then halved k times. No libm. */
static double prof_exp_neg(double x) {
    if (x > 700) return 0;
    int k = (int)(x / 0.69314718055994530942);
    double r = x - k * 0.69314718055994530942, term = 1, sum = 1;
    for (int i = 1; i <= 9; i++) {
        term *= -r / i;
        sum += term;
    }
    while (k-- > 0) sum *= 0.5;
    return sum;
}

/* What n samples of bytes stand for: each sample of mean size m was taken with probability
 * 1 - e^(-m / rate), so the counts are divided by it (pprof's heap_v2 adjustment). */
static double prof_scale(uint64_t n, uint64_t bytes) {
    if (n == 0) return 0;
    double p = 1 - prof_exp_neg((double)bytes / (double)n / (double)ta_prof_rate);
    return p > 0 ? 1 / p : 1;
}

int64_t ta_prof_next(uint64_t *rng) {
    if (ta_prof_rate == 0) return INT64_MAX;
    if (*rng == 0) *rng = ta_os_random_secret() | 1;
    /* u uniform in (0, 1]: 53 random bits, plus one so that it is never 0 */
    double u = (double)((prof_rand(rng) >> 11) + 1) * (1.0 / 9007199254740992.0);
    double x = -prof_log(u) * (double)ta_prof_rate;
    if (x < 1) return 1;
    if (x > 4e18) return (int64_t)4e18;
    return (int64_t)x;
}

/* ---------------------------------------------------------------------------------------------
 * The stack table.
 * ------------------------------------------------------------------------------------------- */

static uint64_t prof_hash(void *const *pcs, uint32_t depth) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ depth;
    for (uint32_t i = 0; i < depth; i++) {
        h ^= (uint64_t)(uintptr_t)pcs[i];
        h *= 0xFF51AFD7ED558CCDULL;
        h ^= h >> 32;
    }
    return h;
}

/* need bytes cut from the chunk *pool (*left bytes left), a new chunk mapped when it has too few
 * (the rest of the old one left unused); NULL when none can be mapped. Under the pool's lock. */
typedef struct prof_pool { char *next; size_t left; } prof_pool;

static void *prof_carve(prof_pool *pool, size_t need) {
    if (need > pool->left) {
        char *chunk = ta_os_map_aligned(PROF_POOL_CHUNK, ta_os_page_size());
        if (chunk == NULL) return NULL;
        pool->next = chunk;
        pool->left = PROF_POOL_CHUNK;
    }
    void *p = pool->next;
    pool->next += need;
    pool->left -= need;
    return p;
}

/* Every bucket, chain by chain, without the lock (writer and leak report): prof_first(&chain),
 * then prof_next(b, &chain) until NULL. */
static ta_prof_stack *prof_next(ta_prof_stack *b, unsigned *chain) {
    b = b ? ta_atomic_load_acquire(&b->a_next) : NULL;
    while (b == NULL && ++*chain < PROF_CHAINS) b = ta_atomic_load_acquire(&prof_chains[*chain]);
    return b;
}
static ta_prof_stack *prof_first(unsigned *chain) {
    *chain = 0;
    ta_prof_stack *b = ta_atomic_load_acquire(&prof_chains[0]);
    return b ? b : prof_next(NULL, chain);
}

static prof_pool prof_buckets;     /* buckets are cut from it; guarded by prof_lock */
static prof_pool prof_live_pool;   /* entries of the live table; guarded by prof_live_lock */

static ta_prof_stack *prof_find(ta_prof_stack *b, uint64_t h, void *const *pcs, uint32_t depth) {
    for (; b; b = ta_atomic_load_acquire(&b->a_next))
        if (b->hash == h && b->depth == depth && memcmp(b->pcs, pcs, depth * sizeof pcs[0]) == 0) return b;
    return NULL;
}

/* A new bucket for the stack, on chain c; under prof_lock. NULL when no memory can be mapped. */
static ta_prof_stack *prof_add(_Atomic(ta_prof_stack *) *c, uint64_t h, void *const *pcs, uint32_t depth)
    TA_REQUIRES(prof_lock) {
    ta_prof_stack *b = prof_carve(&prof_buckets, (sizeof(ta_prof_stack) + depth * sizeof pcs[0] + 15) & ~(size_t)15);
    if (b == NULL) return NULL;
    b->hash = h;
    b->depth = depth;
    memcpy(b->pcs, pcs, depth * sizeof pcs[0]);
    ta_atomic_store_relaxed(&b->a_next, ta_atomic_load_relaxed(c));
    ta_atomic_store_release(c, b);
    return b;
}

ta_prof_stack *ta_prof_record(size_t n, void *const *frames, int k, void *ra) {
    int from = 0;
    for (int i = 0; ra && i < k; i++)
        if (frames[i] == ra) { from = i; break; }
    uint32_t depth = (uint32_t)(k - from);
    if (depth > TA_PROF_MAX_FRAMES) depth = TA_PROF_MAX_FRAMES;
    void *const *pcs = frames + from;
    uint64_t h = prof_hash(pcs, depth);
    _Atomic(ta_prof_stack *) *c = &prof_chains[h & (PROF_CHAINS - 1)];
    ta_prof_stack *b = prof_find(ta_atomic_load_acquire(c), h, pcs, depth);
    if (b == NULL) {
        ta_lock_acquire(&prof_lock);
        b = prof_find(ta_atomic_load_acquire(c), h, pcs, depth);
        if (b == NULL) b = prof_add(c, h, pcs, depth);
        ta_lock_release(&prof_lock);
        if (b == NULL) return NULL;
    }
    ta_atomic_add_relaxed(&b->a_alloc_n, 1);
    ta_atomic_add_relaxed(&b->a_alloc_bytes, n);
    return b;
}

void ta_prof_unrecord(ta_prof_stack *st, size_t n) {
    ta_atomic_sub_relaxed(&st->a_alloc_n, 1);
    ta_atomic_sub_relaxed(&st->a_alloc_bytes, n);
}

void ta_prof_release(ta_prof_stack *st, size_t n) {
    ta_atomic_add_relaxed(&st->a_free_n, 1);
    ta_atomic_add_relaxed(&st->a_free_bytes, n);
}

static prof_live **prof_live_chain(const void *p) {
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ULL;
    return &prof_live_chains[h >> 50];   /* the top 14 bits: PROF_LIVE_CHAINS */
}
_Static_assert(PROF_LIVE_CHAINS == 1u << 14, "prof_live_chain takes 14 bits");

int ta_prof_track(void *p, ta_prof_stack *st, size_t n) {
    int rc = -1;
    ta_lock_acquire(&prof_live_lock);
    if (prof_live_chains == NULL)
        prof_live_chains = ta_os_map_aligned(PROF_LIVE_CHAINS * sizeof(prof_live *), ta_os_page_size());
    prof_live *e = prof_live_free;
    if (e) prof_live_free = e->next;
    else if (prof_live_chains) e = prof_carve(&prof_live_pool, sizeof(prof_live));
    if (e) {
        prof_live **c = prof_live_chain(p);
        e->p = p;
        e->st = st;
        e->n = n;
        e->next = *c;
        *c = e;
        rc = 0;
    }
    ta_lock_release(&prof_live_lock);
    return rc;
}

int ta_prof_untrack(void *p) {
    prof_live *e = NULL;
    ta_lock_acquire(&prof_live_lock);
    if (prof_live_chains) {
        prof_live **at = prof_live_chain(p);
        while (*at && (*at)->p != p) at = &(*at)->next;
        if ((e = *at) != NULL) {
            *at = e->next;
            e->next = prof_live_free;
            prof_live_free = e;
        }
    }
    ta_prof_stack *st = e ? e->st : NULL;
    size_t n = e ? e->n : 0;
    ta_lock_release(&prof_live_lock);
    if (!st) return -1;
    ta_prof_release(st, n);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * The profile (gperftools' heap-profile text, as google-pprof reads it):
 *   heap profile: <inuse n>: <inuse bytes> [<alloc n>: <alloc bytes>] @ heap_v2/<rate>
 *   <inuse n>: <inuse bytes> [<alloc n>: <alloc bytes>] @ 0x<pc> 0x<pc> ...      one per stack
 *   (blank line)
 *   MAPPED_LIBRARIES:
 *   <the contents of /proc/self/maps>
 * The counts are the samples' own; pprof scales each line by 1 / (1 - exp(-mean size / rate)).
 * ------------------------------------------------------------------------------------------- */

typedef struct prof_out { int fd, failed; size_t len; char buf[4096]; } prof_out;

static void prof_flush(prof_out *o) {
    if (o->len && ta_os_write_fd(o->fd, o->buf, o->len) != 0) o->failed = 1;
    o->len = 0;
}

static void prof_put(prof_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void prof_put(prof_out *o, const char *fmt, ...) {
    if (o->len > sizeof o->buf - 256) prof_flush(o);   /* every line piece is under 256 bytes */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, sizeof o->buf - o->len, fmt, ap);
    va_end(ap);
    if (n > 0) o->len += (size_t)n < sizeof o->buf - o->len ? (size_t)n : sizeof o->buf - o->len - 1;
}

typedef struct prof_counts { uint64_t in_n, in_bytes, alloc_n, alloc_bytes; } prof_counts;

static prof_counts prof_counts_of(ta_prof_stack *b) {
    prof_counts k;
    k.alloc_n = ta_atomic_load_relaxed(&b->a_alloc_n);
    k.alloc_bytes = ta_atomic_load_relaxed(&b->a_alloc_bytes);
    uint64_t fn = ta_atomic_load_relaxed(&b->a_free_n), fb = ta_atomic_load_relaxed(&b->a_free_bytes);
    k.in_n = fn < k.alloc_n ? k.alloc_n - fn : 0;   /* a free counted before its allocation was read */
    k.in_bytes = fb < k.alloc_bytes ? k.alloc_bytes - fb : 0;
    return k;
}

static void prof_write_fd(prof_out *o) {
    prof_counts total = {0, 0, 0, 0};
    unsigned chain;
    for (ta_prof_stack *b = prof_first(&chain); b; b = prof_next(b, &chain)) {
        prof_counts k = prof_counts_of(b);
        total.in_n += k.in_n;
        total.in_bytes += k.in_bytes;
        total.alloc_n += k.alloc_n;
        total.alloc_bytes += k.alloc_bytes;
    }
    prof_put(o, "heap profile: %llu: %llu [%llu: %llu] @ heap_v2/%zu\n", (unsigned long long)total.in_n,
             (unsigned long long)total.in_bytes, (unsigned long long)total.alloc_n,
             (unsigned long long)total.alloc_bytes, ta_prof_rate);
    for (ta_prof_stack *b = prof_first(&chain); b; b = prof_next(b, &chain)) {
        prof_counts k = prof_counts_of(b);
        if (k.alloc_n == 0) continue;
        prof_put(o, "%llu: %llu [%llu: %llu] @", (unsigned long long)k.in_n, (unsigned long long)k.in_bytes,
                 (unsigned long long)k.alloc_n, (unsigned long long)k.alloc_bytes);
        for (uint32_t f = 0; f < b->depth; f++) prof_put(o, " %p", b->pcs[f]);
        prof_put(o, "\n");
    }
    prof_put(o, "\nMAPPED_LIBRARIES:\n");
    prof_flush(o);
    if (!o->failed && ta_os_copy_file("/proc/self/maps", o->fd) != 0) o->failed = 1;
}

int ta_prof_write(const char *path) {
    if (ta_prof_rate == 0 || path == NULL || path[0] == 0) { errno = EINVAL; return -1; }
    char name[TA_OPT_PATH_MAX + 64];
    if (ta_options_expand_path(path, ta_os_pid(), name, sizeof name) != 0) { errno = ENAMETOOLONG; return -1; }
    int saved = errno, err;
    int fd = ta_os_open_write_err(name, &err);
    if (fd < 0) { errno = err; return -1; }
    prof_out o = {fd, 0, 0, {0}};
    prof_write_fd(&o);
    ta_os_close(fd);
    if (o.failed) { errno = EIO; return -1; }
    errno = saved;
    return 0;
}

static void prof_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void prof_say(const char *fmt, ...) {
    char msg[TA_OPT_PATH_MAX + 512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n > 0) ta_os_write_stderr(msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
}

int ta_prof_write_numbered(unsigned seq) {
    char name[TA_OPT_PATH_MAX + 32];
    int n = snprintf(name, sizeof name, "%s.%u", ta_opt.prof, seq);
    if (n < 0 || (size_t)n >= sizeof name) { errno = ENAMETOOLONG; return -1; }
    int rc = ta_prof_write(name);
    if (rc != 0) prof_say("tamalloc: cannot write the heap profile to %s (TAMALLOC_PROF_SIGNAL)\n", name);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * The leak report (TAMALLOC_PROF_LEAKS=1): the stacks of the samples still live at exit, the 20
 * that hold the most bytes with their frames named, on stderr.
 * ------------------------------------------------------------------------------------------- */

#define PROF_LEAK_TOP 20

typedef struct prof_leak { ta_prof_stack *b; double n, bytes; } prof_leak;

static void prof_leak_frames(const ta_prof_stack *b) {
    for (uint32_t f = 0; f < b->depth; f++) {
        ta_symbol sym;
        /* a return address is just past its call: name the byte before it (the first frame, the
         * program's return address from malloc, too) */
        const char *pc = (const char *)b->pcs[f] - 1;
        if (ta_os_symbolize(pc, &sym) == 0)
            prof_say("    #%u %p %s+%#lx (%s)\n", f, b->pcs[f], sym.name, (unsigned long)sym.offset + 1, sym.module);
        else
            prof_say("    #%u %p (%s)\n", f, b->pcs[f], sym.module[0] ? sym.module : "unknown");
    }
}

/* Returns the number of stacks with live samples. */
static size_t prof_leak_report(void) {
    prof_leak top[PROF_LEAK_TOP];
    size_t ntop = 0, stacks = 0;
    uint64_t samples = 0;
    double blocks = 0, bytes = 0;
    unsigned chain;
    for (ta_prof_stack *b = prof_first(&chain); b; b = prof_next(b, &chain)) {
        prof_counts k = prof_counts_of(b);
        if (k.in_n == 0) continue;
        double sc = prof_scale(k.in_n, k.in_bytes);
        prof_leak l = {b, (double)k.in_n * sc, (double)k.in_bytes * sc};
        stacks++;
        samples += k.in_n;
        blocks += l.n;
        bytes += l.bytes;
        size_t at = ntop < PROF_LEAK_TOP ? ntop++ : PROF_LEAK_TOP;   /* insertion into top, by bytes */
        while (at > 0 && top[at - 1].bytes < l.bytes) {
            if (at < PROF_LEAK_TOP) top[at] = top[at - 1];
            at--;
        }
        if (at < PROF_LEAK_TOP) top[at] = l;
    }
    if (stacks == 0) {
        prof_say("tamalloc: leak report: no sampled block is live at exit (a sample per %zu bytes)\n", ta_prof_rate);
        return 0;
    }
    prof_say("tamalloc: leak report: %.0f blocks (%.0f bytes) live at exit, from %zu stacks (%llu samples, a sample "
             "per %zu bytes%s); the %zu largest:\n",
             blocks, bytes, stacks, (unsigned long long)samples, ta_prof_rate,
             ta_prof_rate > 1 ? ": counts are estimates" : ": every block", ntop);
    for (size_t i = 0; i < ntop; i++) {
        prof_say("tamalloc: leak %zu of %zu: %.0f blocks, %.0f bytes, allocated at:\n", i + 1, stacks, top[i].n, top[i].bytes);
        prof_leak_frames(top[i].b);
    }
    return stacks;
}

void ta_prof_at_exit(void) {
    if (ta_prof_rate == 0) return;
    if (ta_opt.prof[0] && ta_prof_write(ta_opt.prof) != 0)
        prof_say("tamalloc: cannot write the heap profile to %s (TAMALLOC_PROF)\n", ta_opt.prof);
    if (ta_opt.prof_leaks && prof_leak_report() != 0) {
        prof_say("tamalloc: leaks found: exiting with status %d (TAMALLOC_PROF_LEAKS)\n", TA_PROF_LEAK_STATUS);
        ta_os_exit_now(TA_PROF_LEAK_STATUS);
    }
}

void ta_prof_fork_prepare(void) {
    ta_lock_fork_prepare(&prof_lock);
    ta_lock_fork_prepare(&prof_live_lock);
}
void ta_prof_fork_parent(void) {
    ta_lock_fork_release(&prof_live_lock);
    ta_lock_fork_release(&prof_lock);
}
void ta_prof_fork_child(void) {
    ta_lock_fork_release(&prof_live_lock);
    ta_lock_fork_release(&prof_lock);
}
