/* unwind.c - ta_os_backtrace_from: a walk by frame rules learned from libgcc, and libgcc's own
 * unwinder where a rule cannot be had (see unwind.h). */
#include "alloc/platform/unwind.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unwind.h>

#include "alloc/platform/atomic.h"

#if defined(__x86_64__)
#define WALK 1
#else
#define WALK 0
#endif

/* ---- The rules: a table of return address -> how to find its frame's caller --------------- */

/* A rule word: the kind (low 2 bits), whether the CFA is %rbp-based, the CFA's offset, where %rbp
 * was saved (0: not saved, still the caller's; k: at CFA - 8k), and 16 check bits of the return
 * address it belongs to (its two words are written apart: a word of another's fails the check). */
#define RULE_FRAME  1u   /* CFA = (%rsp or %rbp) + offset, return address at CFA - 8 */
#define RULE_END    2u   /* the outermost frame: its return address is undefined */
#define RULE_NEVER  3u   /* anything else (signal frames, CFA expressions): unwound by libgcc */
#define RULE_BP_CFA (1u << 2)
#define RULE_OFF_SHIFT 3
#define RULE_OFF_MAX ((1u << 29) - 1)
#define RULE_SAVE_SHIFT 32
#define RULE_CHECK_SHIFT 48

#define TABLE_BITS 13   /* 8192 rules (128 KiB), each within TABLE_PROBE slots of its hash */
#define TABLE_PROBE 16

typedef struct rule_slot { _Atomic uintptr_t ip; _Atomic uint64_t rule; } rule_slot;

static rule_slot rules[1u << TABLE_BITS];
static _Atomic uint64_t count_walked, count_unwound;

static uint64_t ip_hash(uintptr_t ip) { return ip * 0x9E3779B97F4A7C15ull; }
static uint64_t rule_check(uintptr_t ip) { return (ip_hash(ip) >> 48) << RULE_CHECK_SHIFT; }

/* ip's rule, or 0 when it has none yet. */
static uint64_t rule_get(uintptr_t ip) {
    uint64_t h = ip_hash(ip) >> (64 - TABLE_BITS);
    for (unsigned i = 0; i < TABLE_PROBE; i++) {
        rule_slot *s = &rules[(h + i) & ((1u << TABLE_BITS) - 1)];
        uintptr_t k = ta_atomic_load_acquire(&s->ip);
        if (k == ip) {
            uint64_t r = ta_atomic_load_relaxed(&s->rule);
            return (r & (0xFFFFull << RULE_CHECK_SHIFT)) == rule_check(ip) ? r : 0;
        }
        if (k == 0) return 0;
    }
    return 0;
}

/* Enters ip's rule r (a rule is a function of ip alone: rewriting it is harmless). */
static void rule_put(uintptr_t ip, uint64_t r) {
    uint64_t h = ip_hash(ip) >> (64 - TABLE_BITS);
    for (unsigned i = 0; i < TABLE_PROBE; i++) {
        rule_slot *s = &rules[(h + i) & ((1u << TABLE_BITS) - 1)];
        uintptr_t k = ta_atomic_load_acquire(&s->ip);
        if (k == 0) {
            ta_atomic_store_relaxed(&s->rule, r);
            uintptr_t empty = 0;
            if (atomic_compare_exchange_strong_explicit(&s->ip, &empty, ip, memory_order_release,
                                                        memory_order_acquire))
                return;
            k = empty;
        }
        if (k == ip) { ta_atomic_store_relaxed(&s->rule, r); return; }
    }
}

/* libgcc's frame state for a pc (__frame_state_for, kept for programs of GCC 2: its layout is
 * fixed, with 18 register columns on x86-64; the slack is room should a libgcc write more). It is
 * in libgcc_eh.a, not exported by libgcc_s.so: libtamalloc.so has it (-static-libgcc); a program
 * linked with the static archives and a shared libgcc has not, and the weak reference is then
 * NULL: no rules, every stack unwound by libgcc. */
struct gcc_frame_state {
    void *cfa;
    void *eh_ptr;
    long cfa_offset;
    long args_size;
    long reg_or_offset[18];
    unsigned short cfa_reg;
    unsigned short retaddr_column;
    char saved[18];
};
extern struct gcc_frame_state *__frame_state_for(void *pc, struct gcc_frame_state *fs) __attribute__((weak));

enum { DW_RBP = 6, DW_RSP = 7, DW_RA = 16, SAVED_NOT = 0, SAVED_OFFSET = 1, SAVED_UNDEFINED = 6 };

/* The rule of return address ip, from the CFI of the call before it. */
static uint64_t rule_learn(uintptr_t ip) {
    union { struct gcc_frame_state fs; char room[1024]; } u;
    memset(&u, 0, sizeof u);
    uint64_t r = RULE_NEVER;
    if (__frame_state_for != NULL && __frame_state_for((void *)(ip - 1), &u.fs) != NULL &&
        u.fs.retaddr_column == DW_RA) {
        const struct gcc_frame_state *fs = &u.fs;
        long off = fs->cfa_offset, bp = fs->reg_or_offset[DW_RBP];
        int cfa_ok = (fs->cfa_reg == DW_RSP || fs->cfa_reg == DW_RBP) && off >= 8 && off <= RULE_OFF_MAX;
        int bp_ok = fs->saved[DW_RBP] == SAVED_NOT ||
                    (fs->saved[DW_RBP] == SAVED_OFFSET && bp < 0 && bp % 8 == 0 && -bp / 8 <= 0xFFFF);
        if (fs->saved[DW_RA] == SAVED_UNDEFINED) {
            r = RULE_END;
        } else if (cfa_ok && bp_ok && fs->saved[DW_RA] == SAVED_OFFSET && fs->reg_or_offset[DW_RA] == -8) {
            r = RULE_FRAME | (fs->cfa_reg == DW_RBP ? RULE_BP_CFA : 0) | (uint64_t)off << RULE_OFF_SHIFT |
                (uint64_t)(fs->saved[DW_RBP] == SAVED_OFFSET ? -bp / 8 : 0) << RULE_SAVE_SHIFT;
        }
    }
    r |= rule_check(ip);
    rule_put(ip, r);
    return r;
}

/* ---- The thread's stack ------------------------------------------------------------------- */

/* Looked up once (pthread_getattr_np: for the main thread glibc reads /proc/self/maps, which may
 * allocate; the caller's allocations are not sampled meanwhile). */
static int stack_known(ta_os_stack *s) {
    if (s->known == 0) {
        pthread_attr_t attr;
        void *addr;
        size_t size;
        s->known = -1;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            if (pthread_attr_getstack(&attr, &addr, &size) == 0 && size > 0) {
                s->lo = (uintptr_t)addr;
                s->hi = (uintptr_t)addr + size;
                s->known = 1;
            }
            pthread_attr_destroy(&attr);
        }
    }
    return s->known > 0;
}

/* ---- The walk ----------------------------------------------------------------------------- */

#if WALK
/* regs[0] = the return address into the caller, regs[1] = the caller's %rsp at the call,
 * regs[2] = its %rbp: the registers a walk starts from, exactly. */
void ta_unwind_regs(uintptr_t regs[3]) TA_HIDDEN;
__asm__(".text\n"
        ".p2align 4\n"
        ".globl ta_unwind_regs\n"
        ".hidden ta_unwind_regs\n"
        ".type ta_unwind_regs, @function\n"
        "ta_unwind_regs:\n"
        ".cfi_startproc\n"
        "    movq (%rsp), %rax\n"
        "    movq %rax, (%rdi)\n"
        "    leaq 8(%rsp), %rax\n"
        "    movq %rax, 8(%rdi)\n"
        "    movq %rbp, 16(%rdi)\n"
        "    ret\n"
        ".cfi_endproc\n"
        ".size ta_unwind_regs, .-ta_unwind_regs\n");

/* Walks from this function's own frame up to the caller's (its callee's CFA: cfa), which it
 * skips, then stores up to max return addresses from the caller's caller on (whose return address
 * is ra). -1 when a frame has no rule, or leaves the stack s. */
__attribute__((no_sanitize_address)) static TA_NOINLINE int walk(void **pcs, int max, uintptr_t cfa,
                                                                 uintptr_t ra, const ta_os_stack *s) {
    uintptr_t regs[3];
    ta_unwind_regs(regs);
    uintptr_t ip = regs[0], sp = regs[1], bp = regs[2];
    int n = 0, own = 0;
    while (n < max) {
        if (n > 0 || sp == cfa) {
            if (n == 0 && ip != ra) return -1;
            pcs[n++] = (void *)ip;
        } else if (sp > cfa || ++own > 8) {
            return -1;   /* passed the caller's frame without meeting it */
        }
        uint64_t r = rule_get(ip);
        if (r == 0) r = rule_learn(ip);
        unsigned kind = (unsigned)(r & 3);
        if (kind == RULE_END && n > 0) break;
        if (kind != RULE_FRAME) return -1;
        uintptr_t next_cfa = ((r & RULE_BP_CFA) ? bp : sp) + ((r >> RULE_OFF_SHIFT) & RULE_OFF_MAX);
        unsigned save = (unsigned)((r >> RULE_SAVE_SHIFT) & 0xFFFF);
        if (next_cfa <= sp || next_cfa > s->hi || next_cfa - 8u * save < sp) return -1;
        if (save) bp = *(const uintptr_t *)(next_cfa - 8u * save);
        ip = *(const uintptr_t *)(next_cfa - 8);
        sp = next_cfa;
        if (ip == 0) break;
    }
    return n;
}
#endif

/* ---- libgcc's unwinder, where the walk cannot go ------------------------------------------ */

#define UNWIND_MAX 80   /* frames unwound: the caller's max plus the unwinder's own */

typedef struct unwound { uintptr_t ip[UNWIND_MAX], sp[UNWIND_MAX]; int n; } unwound;

static _Unwind_Reason_Code unwind_frame(struct _Unwind_Context *ctx, void *arg) {
    unwound *u = arg;
    if (u->n >= UNWIND_MAX) return _URC_END_OF_STACK;
    uintptr_t ip = _Unwind_GetIP(ctx);
    if (ip == 0) return _URC_END_OF_STACK;
    u->ip[u->n] = ip;
    u->sp[u->n] = _Unwind_GetCFA(ctx);   /* the frame's %rsp at its call: its callee's CFA */
    u->n++;
    return _URC_NO_REASON;
}

/* The frames from the one whose callee's CFA is cfa (the caller's caller). */
static TA_NOINLINE int unwind(void **pcs, int max, uintptr_t cfa) {
    unwound u;
    u.n = 0;
    _Unwind_Backtrace(unwind_frame, &u);
    int j = 2;   /* not found (another compiler's CFA): from the caller's own frame */
    for (int i = 0; i < u.n; i++)
        if (u.sp[i] == cfa) { j = i; break; }
    int n = 0;
    for (int i = j; i < u.n && n < max; i++) pcs[n++] = (void *)u.ip[i];
    return n;
}

int ta_os_backtrace_from(void **pcs, int max, uintptr_t cfa, uintptr_t ra, ta_os_stack *stack) {
    int saved = errno;
    int n = -1;
#if WALK
    if (stack_known(stack) && cfa >= stack->lo && cfa < stack->hi) n = walk(pcs, max, cfa, ra, stack);
#else
    (void)ra;
    (void)stack;
    (void)stack_known;
#endif
    if (n >= 0) {
        ta_atomic_add_relaxed(&count_walked, 1);
    } else {
        n = unwind(pcs, max, cfa);
        ta_atomic_add_relaxed(&count_unwound, 1);
    }
    errno = saved;
    return n;
}

ta_os_unwind_counts ta_os_unwind_counts_get(void) {
    ta_os_unwind_counts c = {ta_atomic_load_relaxed(&count_walked), ta_atomic_load_relaxed(&count_unwound)};
    return c;
}
