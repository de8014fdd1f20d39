/* unwind_test - ta_os_backtrace (alloc/platform/unwind.h): the walk by the table of frame sizes
 * by the frame rules it learns gives the stack libgcc's unwinder gives, frame for frame: fixed
 * frames, frames that change size (alloca, frame-pointer code), deep stacks (cut at max): walked
 * once their return addresses are learned; realigned frames (a CFA expression), a coroutine's stack
 * (off the thread's), a signal handler's (the signal frame): unwound by libgcc; threads sharing
 * the rules. Built with -fomit-frame-pointer, GCC's -O2 default. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unwind.h>

#include <cmocka.h>

#include "alloc/platform/unwind.h"

#define MAXF 72

#define NOINLINE __attribute__((noinline))

static __thread ta_os_stack stack_of_thread;

typedef struct libgcc_frames { uintptr_t ip[MAXF + 4]; int n; } libgcc_frames;

static _Unwind_Reason_Code collect(struct _Unwind_Context *ctx, void *arg) {
    libgcc_frames *f = arg;
    if (f->n >= MAXF + 4) return _URC_END_OF_STACK;
    uintptr_t ip = _Unwind_GetIP(ctx);
    if (ip == 0) return _URC_END_OF_STACK;
    f->ip[f->n++] = ip;
    return _URC_NO_REASON;
}

/* Counts of probes whose stacks differed (must stay 0). */
static _Atomic int mismatches;

/* The probe: ta_os_backtrace from here against libgcc's unwinding from here (whose first frame is
 * this function's own, the rest its callers: ta_os_backtrace's). */
static NOINLINE int probe(void) {
    void *pcs[MAXF];
    int n = ta_os_backtrace(pcs, MAXF, &stack_of_thread);
    libgcc_frames f = {.n = 0};
    _Unwind_Backtrace(collect, &f);
    int want = f.n - 1 < MAXF ? f.n - 1 : MAXF;
    int ok = n == want;
    for (int i = 0; ok && i < n; i++) ok = (uintptr_t)pcs[i] == f.ip[i + 1];
    if (!ok) mismatches++;
    __asm__ volatile("" ::: "memory");   /* no tail call: probe keeps its frame */
    return n;
}

/* Fixed frames: recursion to depth d (not a loop: the volatile keeps each call). */
static NOINLINE int fixed(int d) {
    volatile char pad[48];
    pad[d % 48] = (char)d;
    int r = d > 0 ? fixed(d - 1) : probe();
    return r + pad[d % 48] - (char)d;
}

/* A frame whose size changes between calls: alloca of m bytes (the frame is addressed by %rbp). */
static NOINLINE int dynamic(int d, size_t m) {
    volatile char *a = __builtin_alloca(m);
    a[0] = 1;
    int r = d > 0 ? dynamic(d - 1, m + 48) : fixed(2);
    return r + a[0] - 1;
}

/* A frame realigned to 64 bytes: its distance from its caller's depends on where it is called. */
static NOINLINE int realigned(int d) {
    volatile char big[64] __attribute__((aligned(64)));
    big[0] = (char)d;
    int r = d > 0 ? realigned(d - 1) : probe();
    return r + big[0] - (char)d;
}

/* Frame-pointer code (GCC; clang has no per-function switch, and dynamic() is such code too). */
#if defined(__clang__)
#define FRAME_POINTER
#else
#define FRAME_POINTER __attribute__((optimize("no-omit-frame-pointer")))
#endif
FRAME_POINTER static NOINLINE int with_fp(int d) {
    volatile int x = d;
    int r = d > 0 ? with_fp(d - 1) : fixed(1);
    return r + x - d;
}

static uint64_t walked(void) { return ta_os_unwind_counts_get().walked; }

static void test_fixed_frames_are_walked(void **state) {
    (void)state;
    mismatches = 0;
    uint64_t before = 0;
    for (int rep = 0; rep < 4; rep++) {
        if (rep == 1) before = walked();   /* the first round learned each depth's frames */
        for (int d = 0; d < 12; d++) assert_true(fixed(d) >= d + 1);
    }
    assert_int_equal(mismatches, 0);
    assert_int_equal(walked() - before, 36);   /* every later one by the table */
}

static void test_deep_stack_is_cut_at_max(void **state) {
    (void)state;
    mismatches = 0;
    uint64_t before = 0;
    for (int rep = 0; rep < 2; rep++) {
        before = walked();
        assert_int_equal(fixed(100), MAXF);
    }
    assert_int_equal(mismatches, 0);
    assert_int_equal(walked() - before, 1);
}

static uint64_t unwound(void) { return ta_os_unwind_counts_get().unwound; }

static void test_changing_frames_are_walked(void **state) {
    (void)state;
    mismatches = 0;
    uint64_t before = 0, unwound_before = 0;
    for (int rep = 0; rep < 5; rep++) {
        if (rep == 1) { before = walked(); unwound_before = unwound(); }   /* round 0 learned */
        for (int d = 0; d < 6; d++) {
            dynamic(d, (size_t)(rep * 40 + 16));
            with_fp(d);
        }
        /* called from a frame that moves by 16 bytes a round */
        volatile char *shift = __builtin_alloca((size_t)rep * 16 + 1);
        shift[0] = 0;
        dynamic(2 + shift[0], 8);
    }
    assert_int_equal(mismatches, 0);
    assert_int_equal(walked() - before, 4 * 13);
    assert_int_equal(unwound() - unwound_before, 0);
}

/* A frame realigned by GCC through %r10 (its CFA a DWARF expression): unwound by libgcc. */
static void test_realigned_frames_match_the_unwinder(void **state) {
    (void)state;
    mismatches = 0;
    for (int rep = 0; rep < 4; rep++) {
        volatile char *shift = __builtin_alloca((size_t)rep * 16 + 1);
        shift[0] = 0;
        for (int d = 0; d < 4; d++) realigned(d + shift[0]);
    }
    assert_int_equal(mismatches, 0);
}

/* A coroutine on a stack of its own (not the thread's): unwound, never walked. */
static ucontext_t main_ctx, co_ctx;
static uint64_t co_walked;

static void coroutine(void) {
    uint64_t before = walked();
    for (int i = 0; i < 4; i++) fixed(3);
    co_walked = walked() - before;
}

static void test_coroutine_stack_is_not_walked(void **state) {
    (void)state;
    mismatches = 0;
    for (int i = 0; i < 4; i++) fixed(3);   /* the same frames learned on the thread's stack */
    size_t size = 256 * 1024;
    void *co_stack = malloc(size);
    assert_non_null(co_stack);
    assert_int_equal(getcontext(&co_ctx), 0);
    co_ctx.uc_stack.ss_sp = co_stack;
    co_ctx.uc_stack.ss_size = size;
    co_ctx.uc_link = &main_ctx;
    makecontext(&co_ctx, coroutine, 0);
    assert_int_equal(swapcontext(&main_ctx, &co_ctx), 0);
    free(co_stack);
    assert_int_equal(mismatches, 0);
    assert_int_equal(co_walked, 0);
}

static volatile sig_atomic_t in_handler;

static void handler(int sig) {
    (void)sig;
    in_handler = 1;
    fixed(2);
    fixed(2);
}

static void test_signal_handler_frames_match(void **state) {
    (void)state;
    mismatches = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
    for (int i = 0; i < 3; i++) raise(SIGUSR1);
    assert_true(in_handler);
    assert_int_equal(mismatches, 0);
}

static void *thread_main(void *arg) {
    int seed = (int)(intptr_t)arg;
    for (int i = 0; i < 400; i++) {
        int d = (i * 7 + seed) % 9;
        if (i % 3 == 0) fixed(d);
        else if (i % 3 == 1) dynamic(d % 4, (size_t)(i % 5) * 32 + 8);
        else realigned(d % 5);
    }
    return NULL;
}

static void test_threads_share_the_table(void **state) {
    (void)state;
    mismatches = 0;
    pthread_t t[4];
    for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&t[i], NULL, thread_main, (void *)(intptr_t)i), 0);
    for (int i = 0; i < 4; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(mismatches, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_frames_are_walked),
        cmocka_unit_test(test_deep_stack_is_cut_at_max),
        cmocka_unit_test(test_changing_frames_are_walked),
        cmocka_unit_test(test_realigned_frames_match_the_unwinder),
        cmocka_unit_test(test_coroutine_stack_is_not_walked),
        cmocka_unit_test(test_signal_handler_frames_match),
        cmocka_unit_test(test_threads_share_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
