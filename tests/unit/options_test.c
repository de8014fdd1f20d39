/* options_test.c - the pure option parsers: sizes with K/M/G suffixes, range limits, garbage and
 * overflow; the TAMALLOC_STATS words; "%p" in TAMALLOC_TRACE / TAMALLOC_STATS_FILE paths. No
 * environment is read. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "alloc/config.h"
#include "alloc/options.h"

#define UNTOUCHED ((size_t)0xabcdef)

/* Parses s in [min, max]; returns the value, or UNTOUCHED if parsing failed (and checks that a
 * failure leaves *out alone). */
static size_t parse(const char *s, size_t min, size_t max) {
    size_t out = UNTOUCHED;
    int rc = ta_options_parse_size(s, min, max, &out);
    if (rc != 0) {
        assert_int_equal(rc, -1);
        assert_int_equal(out, UNTOUCHED);
    }
    return out;
}
#define ANY 0, SIZE_MAX

static void test_plain_numbers(void **state) {
    (void)state;
    assert_int_equal(parse("0", ANY), 0);
    assert_int_equal(parse("1", ANY), 1);
    assert_int_equal(parse("4096", ANY), 4096);
    assert_int_equal(parse("000123", ANY), 123);
    assert_int_equal(parse("18446744073709551615", ANY), SIZE_MAX);
}

static void test_suffixes(void **state) {
    (void)state;
    assert_int_equal(parse("4K", ANY), 4096);
    assert_int_equal(parse("4k", ANY), 4096);
    assert_int_equal(parse("128K", ANY), 128 * 1024);
    assert_int_equal(parse("1M", ANY), 1 << 20);
    assert_int_equal(parse("3m", ANY), 3 << 20);
    assert_int_equal(parse("2G", ANY), (size_t)2 << 30);
    assert_int_equal(parse("1g", ANY), (size_t)1 << 30);
    assert_int_equal(parse("0K", ANY), 0);
    /* The largest G value that fits, and one more. */
    assert_int_equal(parse("17179869183G", ANY), (size_t)17179869183 << 30);
    assert_int_equal(parse("17179869184G", ANY), UNTOUCHED);
    assert_int_equal(parse("17592186044416M", ANY), UNTOUCHED);   /* 2^44 M = 2^64 */
    assert_int_equal(parse("18014398509481984K", ANY), UNTOUCHED); /* 2^54 K = 2^64 */
}

static void test_range_limits(void **state) {
    (void)state;
    /* TAMALLOC_MMAP_THRESHOLD's range: 4K..1M inclusive. */
    assert_int_equal(parse("4K", TA_MMAP_THRESHOLD_MIN, TA_MMAP_THRESHOLD_MAX), 4096);
    assert_int_equal(parse("4096", TA_MMAP_THRESHOLD_MIN, TA_MMAP_THRESHOLD_MAX), 4096);
    assert_int_equal(parse("1M", TA_MMAP_THRESHOLD_MIN, TA_MMAP_THRESHOLD_MAX), 1 << 20);
    assert_int_equal(parse("1024K", TA_MMAP_THRESHOLD_MIN, TA_MMAP_THRESHOLD_MAX), 1 << 20);
    assert_int_equal(parse("4095", TA_MMAP_THRESHOLD_MIN, TA_MMAP_THRESHOLD_MAX), UNTOUCHED);
    assert_int_equal(parse("3K", TA_MMAP_THRESHOLD_MIN, TA_MMAP_THRESHOLD_MAX), UNTOUCHED);
    assert_int_equal(parse("1025K", TA_MMAP_THRESHOLD_MIN, TA_MMAP_THRESHOLD_MAX), UNTOUCHED);
    assert_int_equal(parse("1048577", TA_MMAP_THRESHOLD_MIN, TA_MMAP_THRESHOLD_MAX), UNTOUCHED);
    assert_int_equal(parse("1G", TA_MMAP_THRESHOLD_MIN, TA_MMAP_THRESHOLD_MAX), UNTOUCHED);
    assert_int_equal(parse("0", TA_MMAP_THRESHOLD_MIN, TA_MMAP_THRESHOLD_MAX), UNTOUCHED);
    /* TAMALLOC_ARENAS' range: 1..256. */
    assert_int_equal(parse("1", 1, TA_MAX_ARENAS), 1);
    assert_int_equal(parse("256", 1, TA_MAX_ARENAS), 256);
    assert_int_equal(parse("257", 1, TA_MAX_ARENAS), UNTOUCHED);
    assert_int_equal(parse("0", 1, TA_MAX_ARENAS), UNTOUCHED);
    /* TAMALLOC_CHECK's range: 0..2. */
    assert_int_equal(parse("2", 0, 2), 2);
    assert_int_equal(parse("3", 0, 2), UNTOUCHED);
}

static void test_garbage(void **state) {
    (void)state;
    const char *bad[] = {
        "", "K", "abc", "-1", "+5", " 5", "5 ", "5\n", "5KB", "5X", "5KK", "1.5M", "0x10", "1e3",
        "12a", "--", "4K4", "M1",
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t out = UNTOUCHED;
        if (ta_options_parse_size(bad[i], ANY, &out) != -1) fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(out, UNTOUCHED);
    }
    size_t out = UNTOUCHED;
    assert_int_equal(ta_options_parse_size(NULL, ANY, &out), -1);
    assert_int_equal(out, UNTOUCHED);
}

static void test_overflow(void **state) {
    (void)state;
    assert_int_equal(parse("18446744073709551616", ANY), UNTOUCHED);    /* SIZE_MAX + 1 */
    assert_int_equal(parse("18446744073709551620", ANY), UNTOUCHED);
    assert_int_equal(parse("99999999999999999999999", ANY), UNTOUCHED);
    assert_int_equal(parse("184467440737095516150", ANY), UNTOUCHED);  /* 10 x SIZE_MAX */
}

static void test_stats_words(void **state) {
    (void)state;
    assert_int_equal(ta_options_parse_stats("0"), TA_STATS_OFF);
    assert_int_equal(ta_options_parse_stats("off"), TA_STATS_OFF);
    assert_int_equal(ta_options_parse_stats("1"), TA_STATS_TEXT);
    assert_int_equal(ta_options_parse_stats("text"), TA_STATS_TEXT);
    assert_int_equal(ta_options_parse_stats("json"), TA_STATS_JSON);
    const char *bad[] = {"", "2", "-1", "of", "offf", "tex", "texts", "jso", "json ", " json", "01", "yes"};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (ta_options_parse_stats(bad[i]) != -1) fail_msg("accepted \"%s\"", bad[i]);
    assert_int_equal(ta_options_parse_stats(NULL), -1);
}

static void test_expand_path(void **state) {
    (void)state;
    char out[64];
    assert_int_equal(ta_options_expand_path("/tmp/trace.%p", 1234, out, sizeof out), 0);
    assert_string_equal(out, "/tmp/trace.1234");
    assert_int_equal(ta_options_expand_path("%p/%p.%p", 7, out, sizeof out), 0);
    assert_string_equal(out, "7/7.7");
    assert_int_equal(ta_options_expand_path("no-pid", 99, out, sizeof out), 0);
    assert_string_equal(out, "no-pid");
    assert_int_equal(ta_options_expand_path("end%", 5, out, sizeof out), 0);   /* a lone % stays */
    assert_string_equal(out, "end%");
    assert_int_equal(ta_options_expand_path("%%p%P", 42, out, sizeof out), 0);
    assert_string_equal(out, "%42%P");
    assert_int_equal(ta_options_expand_path("x.%p", 4194304, out, sizeof out), 0);
    assert_string_equal(out, "x.4194304");
    assert_int_equal(ta_options_expand_path("%p", 0, out, sizeof out), 0);
    assert_string_equal(out, "0");
    /* Exactly full (9 characters and the NUL in 10 bytes), then one byte short: cut, NUL-terminated. */
    assert_int_equal(ta_options_expand_path("abc.%p", 123456, out, 10), -1);
    assert_string_equal(out, "abc.12345");
    assert_int_equal(ta_options_expand_path("ab.%p", 123456, out, 10), 0);
    assert_string_equal(out, "ab.123456");
    assert_int_equal(ta_options_expand_path("abcdef", 1, out, 4), -1);
    assert_string_equal(out, "abc");
    assert_int_equal(ta_options_expand_path("", 1, out, 1), 0);
    assert_string_equal(out, "");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_numbers),
        cmocka_unit_test(test_suffixes),
        cmocka_unit_test(test_range_limits),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_stats_words),
        cmocka_unit_test(test_expand_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
