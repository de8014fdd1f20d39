/* options.c - parse TAMALLOC_* environment variables once; report and ignore invalid values. */
#include "alloc/options.h"

#include <stdint.h>

#include "alloc/config.h"
#include "alloc/platform/os.h"

ta_options ta_opt = {
    .arenas = 0,
    .mmap_threshold = TA_MMAP_THRESHOLD_DEFAULT,
    .stats = TA_STATS_OFF,
    .check = 1,
    .cache = 1,
    .cache_bytes = TA_CACHE_BYTES_DEFAULT,
    .decay_ms = TA_DECAY_MS_DEFAULT,
    .prof_sample = TA_PROF_SAMPLE_DEFAULT,
};

static int opt_streq(const char *a, const char *b) {
    while (*a && *a == *b) { a++; b++; }
    return *a == *b;
}

int ta_options_parse_size(const char *s, size_t min, size_t max, size_t *out) {
    if (!s || *s < '0' || *s > '9') return -1;
    size_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        size_t d = (size_t)(*s - '0');
        if (v > (SIZE_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    unsigned shift = 0;
    if (*s == 'k' || *s == 'K') shift = 10;
    else if (*s == 'm' || *s == 'M') shift = 20;
    else if (*s == 'g' || *s == 'G') shift = 30;
    if (shift) {
        s++;
        if (v > (SIZE_MAX >> shift)) return -1;
        v <<= shift;
    }
    if (*s != 0 || v < min || v > max) return -1;
    *out = v;
    return 0;
}

int ta_options_parse_stats(const char *s) {
    if (!s) return -1;
    if (opt_streq(s, "0") || opt_streq(s, "off")) return TA_STATS_OFF;
    if (opt_streq(s, "1") || opt_streq(s, "text")) return TA_STATS_TEXT;
    if (opt_streq(s, "json")) return TA_STATS_JSON;
    return -1;
}

int ta_options_parse_path(const char *s, char *out) {
    if (!s || !*s) return -1;
    size_t n = 0;
    while (s[n] && n < TA_OPT_PATH_MAX) n++;
    if (n >= TA_OPT_PATH_MAX) return -1;
    for (size_t i = 0; i <= n; i++) out[i] = s[i];
    return 0;
}

int ta_options_expand_path(const char *path, long pid, char *out, size_t cap) {
    size_t n = 0;
    int fits = 1;
    for (; *path; path++) {
        char digits[24];
        unsigned k = 0;
        if (path[0] == '%' && path[1] == 'p') {
            unsigned long v = pid > 0 ? (unsigned long)pid : 0;
            do { digits[k++] = (char)('0' + v % 10); v /= 10; } while (v);
            path++;
        } else {
            digits[k++] = *path;
        }
        while (k) {
            if (n + 1 >= cap) { fits = 0; break; }
            out[n++] = digits[--k];
        }
    }
    out[n] = 0;
    return fits ? 0 : -1;
}

static void opt_report(const char *name, const char *value, const char *expected) {
    const char *parts[] = {"tamalloc: ignoring ", name, "=", value, " (expected ", expected, "); using the default\n"};
    for (unsigned i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        size_t n = 0;
        while (parts[i][n]) n++;
        ta_os_write_stderr(parts[i], n);
    }
}

void ta_options_load(void) {
    const char *v;
    size_t n;
    if ((v = ta_os_getenv("TAMALLOC_ARENAS")) != NULL) {
        if (ta_options_parse_size(v, 1, TA_MAX_ARENAS, &n) == 0) ta_opt.arenas = (unsigned)n;
        else opt_report("TAMALLOC_ARENAS", v, "a count from 1 to 256");
    }
    if ((v = ta_os_getenv("TAMALLOC_MMAP_THRESHOLD")) != NULL) {
        if (ta_options_parse_size(v, TA_MMAP_THRESHOLD_MIN, TA_MMAP_THRESHOLD_MAX, &n) == 0) {
            ta_opt.mmap_threshold = n;
            ta_opt.mmap_threshold_fixed = 1;
        } else opt_report("TAMALLOC_MMAP_THRESHOLD", v, "bytes from 4K to 1M, suffix K or M allowed");
    }
    if ((v = ta_os_getenv("TAMALLOC_STATS")) != NULL) {
        int m = ta_options_parse_stats(v);
        if (m >= 0) ta_opt.stats = m;
        else opt_report("TAMALLOC_STATS", v, "0, 1 or json");
    }
    if ((v = ta_os_getenv("TAMALLOC_CHECK")) != NULL) {
        if (ta_options_parse_size(v, 0, 2, &n) == 0) ta_opt.check = (int)n;
        else opt_report("TAMALLOC_CHECK", v, "0, 1 or 2");
    }
    if ((v = ta_os_getenv("TAMALLOC_CACHE")) != NULL) {
        if (ta_options_parse_size(v, 0, 1, &n) == 0) ta_opt.cache = (int)n;
        else opt_report("TAMALLOC_CACHE", v, "0 or 1");
    }
    if ((v = ta_os_getenv("TAMALLOC_BACKGROUND")) != NULL) {
        if (ta_options_parse_size(v, 0, 1, &n) == 0) ta_opt.background = (int)n;
        else opt_report("TAMALLOC_BACKGROUND", v, "0 or 1");
    }
    if ((v = ta_os_getenv("TAMALLOC_DECAY_MS")) != NULL) {
        if (ta_options_parse_size(v, 0, TA_DECAY_MS_MAX, &n) == 0) ta_opt.decay_ms = (unsigned)n;
        else opt_report("TAMALLOC_DECAY_MS", v, "milliseconds from 0 to 3600000");
    }
    if ((v = ta_os_getenv("TAMALLOC_CACHE_BYTES")) != NULL) {
        if (ta_options_parse_size(v, TA_CACHE_BYTES_MIN, TA_CACHE_BYTES_MAX, &n) == 0) ta_opt.cache_bytes = n;
        else opt_report("TAMALLOC_CACHE_BYTES", v, "bytes from 0 to 64M, suffix K or M allowed");
    }
    if (ta_opt.check >= 2) ta_opt.cache = 0;
    if ((v = ta_os_getenv("TAMALLOC_HEAP_MAP")) != NULL && ta_options_parse_path(v, ta_opt.heap_map) != 0)
        opt_report("TAMALLOC_HEAP_MAP", v, "a file path shorter than 1024 bytes");
    if ((v = ta_os_getenv("TAMALLOC_TRACE")) != NULL && ta_options_parse_path(v, ta_opt.trace) != 0)
        opt_report("TAMALLOC_TRACE", v, "a file path shorter than 1024 bytes");
    if ((v = ta_os_getenv("TAMALLOC_PROF")) != NULL && ta_options_parse_path(v, ta_opt.prof) != 0)
        opt_report("TAMALLOC_PROF", v, "a file path shorter than 1024 bytes");
    if ((v = ta_os_getenv("TAMALLOC_PROF_SAMPLE")) != NULL) {
        if (ta_options_parse_size(v, 1, TA_PROF_SAMPLE_MAX, &n) == 0) {
            ta_opt.prof_sample = n;
            ta_opt.prof_sample_set = 1;
        } else opt_report("TAMALLOC_PROF_SAMPLE", v, "bytes from 1 to 1G, suffix K, M or G allowed");
    }
    if ((v = ta_os_getenv("TAMALLOC_PROF_LEAKS")) != NULL) {
        if (ta_options_parse_size(v, 0, 1, &n) == 0) ta_opt.prof_leaks = (int)n;
        else opt_report("TAMALLOC_PROF_LEAKS", v, "0 or 1");
    }
    if ((v = ta_os_getenv("TAMALLOC_PROF_SIGNAL")) != NULL) {
        if (ta_options_parse_size(v, 0, 1, &n) == 0) ta_opt.prof_signal = (int)n;
        else opt_report("TAMALLOC_PROF_SIGNAL", v, "0 or 1");
        if (ta_opt.prof_signal && !ta_opt.prof[0]) {
            static const char msg[] = "tamalloc: TAMALLOC_PROF_SIGNAL=1 needs TAMALLOC_PROF (the path the profiles go to); ignored\n";
            ta_os_write_stderr(msg, sizeof msg - 1);
            ta_opt.prof_signal = 0;
        }
    }
    if ((v = ta_os_getenv("TAMALLOC_STATS_FILE")) != NULL) {
        if (ta_options_parse_path(v, ta_opt.stats_file) != 0)
            opt_report("TAMALLOC_STATS_FILE", v, "a file path shorter than 1024 bytes");
        else if (!ta_os_getenv("TAMALLOC_STATS"))
            ta_opt.stats = TA_STATS_TEXT;   /* the file alone asks for the text report */
    }
}
