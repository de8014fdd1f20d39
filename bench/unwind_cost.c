/* unwind_cost - what a heap-profile sample's stack costs: ta_os_backtrace (the walk by learned
 * frame rules, alloc/platform/unwind.h) against libgcc's _Unwind_Backtrace, from stacks of D
 * frames, in nanoseconds a call (best of 5 rounds of N calls). Built -O2 -fomit-frame-pointer (GCC's
 * default) and, as :unwind_cost_fp, with frame pointers. Prints one line per depth:
 *   UNWIND depth=D frames=F walk_ns=W libgcc_ns=L walked=K
 * (frames: what ta_os_backtrace returned; walked: the calls the walk served, of 5 N). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unwind.h>

#include "alloc/platform/unwind.h"

#define NOINLINE __attribute__((noinline))
#define MAXF 72

static ta_os_stack stack_of_main;
static int use_walk;
static volatile uintptr_t sink;

static _Unwind_Reason_Code count_frame(struct _Unwind_Context *ctx, void *arg) {
    void **pcs = ((void ***)arg)[0];
    int *n = ((int **)arg)[1];
    if (*n >= MAXF) return _URC_END_OF_STACK;
    uintptr_t ip = _Unwind_GetIP(ctx);
    if (ip == 0) return _URC_END_OF_STACK;
    pcs[(*n)++] = (void *)ip;
    return _URC_NO_REASON;
}

static NOINLINE int leaf(void) {
    void *pcs[MAXF];
    int n = 0;
    if (use_walk) {
        n = ta_os_backtrace(pcs, MAXF, &stack_of_main);
    } else {
        void *arg[2] = {pcs, &n};
        _Unwind_Backtrace(count_frame, arg);
    }
    sink += (uintptr_t)pcs[n / 2];
    __asm__ volatile("" ::: "memory");
    return n;
}

static NOINLINE int nest(int d) {
    volatile int pad = d;
    int r = d > 1 ? nest(d - 1) : leaf();
    return r + pad - d;
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double per_call(int d, int walk, int n, int *frames) {
    use_walk = walk;
    double best = 1e30;
    for (int round = 0; round < 5; round++) {
        double t0 = now_ns();
        for (int i = 0; i < n; i++) *frames = nest(d);
        double t = (now_ns() - t0) / n;
        if (t < best) best = t;
    }
    return best;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    static const int depths[] = {4, 8, 16, 32, 64};
    for (unsigned k = 0; k < sizeof depths / sizeof depths[0]; k++) {
        int d = depths[k], frames = 0, lib_frames = 0;
        uint64_t before = ta_os_unwind_counts_get().walked;
        double w = per_call(d, 1, n, &frames);
        uint64_t walked = ta_os_unwind_counts_get().walked - before;
        double l = per_call(d, 0, n, &lib_frames);
        printf("UNWIND depth=%d frames=%d walk_ns=%.0f libgcc_ns=%.0f walked=%llu of=%d\n", d, frames, w, l,
               (unsigned long long)walked, 5 * n);
    }
    return 0;
}
