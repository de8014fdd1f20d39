/* replay_main.c - the driver that lets `bazel test` run a fuzz target's logic without libFuzzer
 * (so it also runs in the plain, tsan, asan and ubsan configurations): it feeds every file of the
 * corpus directories (or files) named on the command line to LLVMFuzzerTestOneInput, then
 * FZ_REPLAY_RANDOM (default 200) random inputs of 0..600 bytes from a seeded generator
 * (TAMALLOC_TEST_SEED replays a run; the seed is printed). A target may define fz_replay_done() to
 * assert something about the whole run. Fails if no corpus file was found. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/testlib/rng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);
__attribute__((weak)) void fz_replay_done(size_t corpus_files, size_t random_inputs);

static size_t run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "cannot open %s\n", path); exit(1); }
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    /* A copy of exactly n bytes, so reading past the input is an ASan error as under libFuzzer. */
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, buf, n);
    LLVMFuzzerTestOneInput(copy, n);
    free(copy);
    return 1;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static size_t run_path(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) { fprintf(stderr, "no such corpus: %s\n", path); exit(1); }
    if (!S_ISDIR(st.st_mode)) return run_file(path);
    DIR *d = opendir(path);
    if (!d) { fprintf(stderr, "cannot read %s\n", path); exit(1); }
    char *names[4096];
    size_t count = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && count < 4096;) {
        if (e->d_name[0] == '.') continue;
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        names[count] = malloc(len);
        snprintf(names[count], len, "%s/%s", path, e->d_name);
        count++;
    }
    closedir(d);
    qsort(names, count, sizeof names[0], by_name);
    size_t ran = 0;
    for (size_t i = 0; i < count; i++) {
        ran += run_file(names[i]);
        free(names[i]);
    }
    return ran;
}

int main(int argc, char **argv) {
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    size_t files = 0;
    for (int i = 1; i < argc; i++) files += run_path(argv[i]);
    if (files == 0) { fprintf(stderr, "FAIL: no corpus file replayed\n"); return 1; }
    const char *env = getenv("FZ_REPLAY_RANDOM");
    size_t nrandom = env ? strtoull(env, NULL, 0) : 200;
    uint64_t seed = rng_base_seed(0x7a6d616c6c6f63ULL);
    printf("replaying %zu corpus files, then %zu random inputs from seed 0x%llx (TAMALLOC_TEST_SEED)\n",
           files, nrandom, (unsigned long long)seed);
    fflush(stdout);
    rng r = rng_make(seed);
    uint8_t buf[600];
    for (size_t k = 0; k < nrandom; k++) {
        size_t n = rng_below(&r, sizeof buf + 1);
        for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)rng_next(&r);
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, buf, n);
        LLVMFuzzerTestOneInput(copy, n);
        free(copy);
    }
    if (fz_replay_done) fz_replay_done(files, nrandom);
    printf("PASS: %zu corpus files and %zu random inputs\n", files, nrandom);
    return 0;
}
