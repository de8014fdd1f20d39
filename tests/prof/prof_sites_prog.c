/* prof_sites_prog.c - the heap profiler's demo and test program (tests/prof, README): built with
 * -O2 -fomit-frame-pointer, as GCC builds by default, so its stacks must come from the unwind
 * tables. Three call sites: site_big keeps 100 MiB of 1 KiB blocks live, site_small 10 MiB,
 * site_churn allocates 50 MiB that it frees again. Under LD_PRELOAD=libtamalloc.so with
 * TAMALLOC_PROF set, the profile written at exit holds the first two as in use (100:10) and all
 * three in the allocated totals. When ta_prof_dump is there (preloaded), a profile is also written
 * to $1 after site_big, for google-pprof --base. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/prof/prof_prog.h"

static void *volatile sink;

NOIPA static void *site_big(size_t n) {
    char *p = malloc(n);
    if (p) memset(p, 1, 64);
    return p;
}

NOIPA static void *site_small(size_t n) {
    char *p = malloc(n);
    if (p) memset(p, 2, 64);
    return p;
}

NOIPA static void site_churn(size_t n) {
    char *p = malloc(n);
    if (p) memset(p, 3, 64);
    sink = p;
    free(p);
}

int main(int argc, char **argv) {
    enum { BIG = 100 * 1024, SMALL = 10 * 1024, CHURN = 50 * 1024 };
    void **keep = calloc(BIG + SMALL, sizeof *keep);
    if (!keep) return 1;
    size_t k = 0;
    for (int i = 0; i < BIG; i++)
        if (!(keep[k++] = site_big(1024))) return 1;
    int (*dump)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "ta_prof_dump");
    if (argc > 1 && dump && dump(argv[1]) != 0) { perror("ta_prof_dump"); return 1; }
    for (int i = 0; i < SMALL; i++)
        if (!(keep[k++] = site_small(1024))) return 1;
    for (int i = 0; i < CHURN; i++) site_churn(1024);
    printf("live blocks: %zu\n", k);
    return 0;   /* the blocks stay live: the exit profile shows them in use */
}
