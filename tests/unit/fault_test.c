/* fault_test.c - the fault report: its text for every enum ta_fault value, truncation, the test
 * handler (ta_fault longjmps back instead of aborting), ta_fault_assert, and - in a child process -
 * that without a handler the message reaches stderr and the process aborts. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc/assert.h"
#include "alloc/fault.h"
#include "tests/unit/unit_support.h"

#define ADDR ((const void *)(uintptr_t)0x7f12deadbee0ULL)

static int starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

static void test_every_fault_is_named(void **state) {
    (void)state;
    for (int f = 1; f < TA_FAULT_COUNT_; f++) {
        const char *name = ta_fault_name((enum ta_fault)f);
        assert_non_null(name);
        assert_true(strlen(name) > 4);
        assert_string_not_equal(name, "unknown fault");
        for (int g = 1; g < f; g++) assert_string_not_equal(name, ta_fault_name((enum ta_fault)g));
    }
    assert_string_equal(ta_fault_name((enum ta_fault)0), "unknown fault");
    assert_string_equal(ta_fault_name(TA_FAULT_COUNT_), "unknown fault");
    assert_string_equal(ta_fault_name((enum ta_fault)-3), "unknown fault");
}

/* The name says what happened (the misuse tests grep stderr for these words). */
static void test_names_describe_the_fault(void **state) {
    (void)state;
    static const struct { enum ta_fault f; const char *word; } words[] = {
        {TA_FAULT_DOUBLE_FREE, "double free"},
        {TA_FAULT_INVALID_POINTER, "invalid pointer"},
        {TA_FAULT_MISALIGNED_POINTER, "misaligned"},
        {TA_FAULT_INTERIOR_POINTER, "interior"},
        {TA_FAULT_CORRUPT_HEADER, "header"},
        {TA_FAULT_USE_AFTER_FREE, "use after free"},
        {TA_FAULT_OVERFLOW, "overflow"},
        {TA_FAULT_CORRUPT_LINK, "link"},
        {TA_FAULT_REENTRY, "re-entered"},
        {TA_FAULT_HEAP_CHECK, "heap check"},
        {TA_FAULT_INTERNAL, "internal"},
        {TA_FAULT_LOCK_RANK, "lock rank"},
        {TA_FAULT_INVALID_HEAP, "invalid heap"},
        {TA_FAULT_HEAP_MISMATCH, "another heap"},
    };
    for (unsigned i = 0; i < sizeof words / sizeof words[0]; i++)
        if (!strstr(ta_fault_name(words[i].f), words[i].word))
            fail_msg("fault %d is named \"%s\"", words[i].f, ta_fault_name(words[i].f));
}

static void test_format_every_fault(void **state) {
    (void)state;
    for (int f = 1; f < TA_FAULT_COUNT_; f++) {
        char buf[256], want[256];
        unsigned len = ta_fault_format(buf, sizeof buf, (enum ta_fault)f, ADDR, "while freeing");
        assert_int_equal(len, strlen(buf));
        assert_true(starts_with(buf, "tamalloc: "));
        assert_non_null(strstr(buf, ta_fault_name((enum ta_fault)f)));
        assert_non_null(strstr(buf, "0x7f12deadbee0"));
        snprintf(want, sizeof want, "tamalloc: %s at 0x7f12deadbee0: while freeing\n", ta_fault_name((enum ta_fault)f));
        assert_string_equal(buf, want);
    }
}

static void test_format_details(void **state) {
    (void)state;
    char buf[256];
    /* No detail: no trailing ": ". */
    ta_fault_format(buf, sizeof buf, TA_FAULT_DOUBLE_FREE, ADDR, NULL);
    assert_string_equal(buf, "tamalloc: double free at 0x7f12deadbee0\n");
    ta_fault_format(buf, sizeof buf, TA_FAULT_DOUBLE_FREE, ADDR, "");
    assert_string_equal(buf, "tamalloc: double free at 0x7f12deadbee0\n");
    /* Address 0 and the largest address. */
    ta_fault_format(buf, sizeof buf, TA_FAULT_INTERNAL, NULL, "x");
    assert_non_null(strstr(buf, " at 0x0: x\n"));
    ta_fault_format(buf, sizeof buf, TA_FAULT_INVALID_POINTER, (const void *)UINTPTR_MAX, NULL);
    assert_non_null(strstr(buf, " at 0xffffffffffffffff\n"));
    /* An out-of-range code still formats. */
    ta_fault_format(buf, sizeof buf, (enum ta_fault)99, ADDR, NULL);
    assert_string_equal(buf, "tamalloc: unknown fault at 0x7f12deadbee0\n");
}

static void test_format_truncates(void **state) {
    (void)state;
    char full[256], buf[64];
    unsigned full_len = ta_fault_format(full, sizeof full, TA_FAULT_OVERFLOW, ADDR, "a fairly long detail string");
    for (unsigned cap = 1; cap <= sizeof buf; cap++) {
        memset(buf, 'Z', sizeof buf);
        unsigned len = ta_fault_format(buf, cap, TA_FAULT_OVERFLOW, ADDR, "a fairly long detail string");
        assert_true(len < cap);
        assert_int_equal(buf[len], 0);
        assert_int_equal(strlen(buf), len);
        assert_memory_equal(buf, full, len);   /* a prefix of the full message */
        if (cap < sizeof buf) assert_int_equal(buf[cap], 'Z');   /* nothing written past cap */
        if (cap > full_len) assert_int_equal(len, full_len);
    }
}

static void test_fault_calls_handler(void **state) {
    (void)state;
    for (int f = 1; f < TA_FAULT_COUNT_; f++) {
        EXPECT_FAULT(ta_fault((enum ta_fault)f, ADDR, "detail"));
        assert_int_equal(the_trap.fault, f);
        assert_ptr_equal(the_trap.addr, ADDR);
        assert_int_equal(the_trap.hits, 1);
        char want[256];
        ta_fault_format(want, sizeof want, (enum ta_fault)f, ADDR, "detail");
        assert_string_equal(the_trap.msg, want);
    }
}

static void test_fault_assert_reports_internal(void **state) {
    (void)state;
    EXPECT_FAULT(ta_fault_assert("x < y", "alloc/demo.c", 1234));
    assert_int_equal(the_trap.fault, TA_FAULT_INTERNAL);
    assert_null(the_trap.addr);
    assert_true(starts_with(the_trap.msg, "tamalloc: internal assertion failed at 0x0: "));
    assert_non_null(strstr(the_trap.msg, "x < y (alloc/demo.c:1234)"));
    /* TA_ASSERT_LEVEL at level 0 is always compiled in: a false condition reaches the same path. */
    EXPECT_FAULT(TA_ASSERT_LEVEL(0, 1 == 2));
    assert_int_equal(the_trap.fault, TA_FAULT_INTERNAL);
    assert_non_null(strstr(the_trap.msg, "1 == 2 (tests/unit/fault_test.c:"));
}

/* Without a handler the message goes to stderr and the process aborts; a handler that returns
 * is followed by abort() too. Each case runs in a child with stderr on a pipe. */
static void handler_returns(enum ta_fault f, const void *addr, const char *msg) { (void)f; (void)addr; (void)msg; }

static void run_child(int with_handler, int *sig, char *out, size_t cap) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        signal(SIGABRT, SIG_DFL);
        ta_fault_set_handler(with_handler ? handler_returns : NULL);
        ta_fault(TA_FAULT_DOUBLE_FREE, ADDR, "child");
        _exit(0);   /* not reached */
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t n;
    while (got + 1 < cap && (n = read(fds[0], out + got, cap - 1 - got)) > 0) got += (size_t)n;
    out[got] = 0;
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    *sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static void test_fault_without_handler_aborts(void **state) {
    (void)state;
    char out[512];
    int sig;
    run_child(0, &sig, out, sizeof out);
    assert_int_equal(sig, SIGABRT);
    assert_true(starts_with(out, "tamalloc: double free at 0x7f12deadbee0: child\n"));
    run_child(1, &sig, out, sizeof out);
    assert_int_equal(sig, SIGABRT);
    assert_null(strstr(out, "tamalloc:"));   /* the handler took the message instead */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_fault_is_named),
        cmocka_unit_test(test_names_describe_the_fault),
        cmocka_unit_test(test_format_every_fault),
        cmocka_unit_test(test_format_details),
        cmocka_unit_test(test_format_truncates),
        cmocka_unit_test(test_fault_calls_handler),
        cmocka_unit_test(test_fault_assert_reports_internal),
        cmocka_unit_test(test_fault_without_handler_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
