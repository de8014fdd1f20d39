/* ops_fuzzer.c - libFuzzer target: the input is a sequence of allocator operations (malloc, calloc,
 * realloc, reallocarray, the aligned functions, free, usable_size, impossible requests, collect)
 * over 48 slots, with sizes from 0 to past the mmap threshold, run on one thread against the model
 * of fuzz_model.h: every live block holds a pattern that is verified before it is freed or resized,
 * ta_check() == 0 and ta_get_stats().allocated == the model's live bytes after every operation.
 * The input ends with every block freed, so each input starts from an empty heap of its own. */
#include <stddef.h>
#include <stdint.h>

#include "tests/fuzz/fuzz_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static fz_model m;
    fz_model_init(&m, 1);
    fz_in in = {data, size, 0};
    while (fz_more(&in)) fz_step(&m, &in);
    fz_release_all(&m);
    return 0;
}
