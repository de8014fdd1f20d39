/* check.h - CHECK(cond, fmt, ...) for test programs that are not cmocka tests (a preloaded program,
 * a statically linked override): each CHECK counts in `checks`; a failed one prints
 * "file:line: CHECK failed: cond: message" to stderr and exits 1. */
#ifndef TA_TESTS_TESTLIB_CHECK_H
#define TA_TESTS_TESTLIB_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int checks __attribute__((unused));   /* CHECKs made so far in this file */

#define CHECK(cond, ...)                                                              \
    do {                                                                              \
        checks++;                                                                     \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                      \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

#endif
