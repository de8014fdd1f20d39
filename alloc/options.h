/* options.h - the environment knobs, read once at init into read-only globals.
 * Contract: parsers are pure functions of a string (unit-testable without getenv); an invalid
 * value is reported on stderr ("tamalloc: ignoring ...") and the default is kept. */
#ifndef TA_OPTIONS_H
#define TA_OPTIONS_H

#include <stddef.h>
#include "alloc/platform/compiler.h"

/* Longest path kept from TAMALLOC_HEAP_MAP / TAMALLOC_TRACE / TAMALLOC_STATS_FILE (copied: the
 * program may change its environment later). */
#define TA_OPT_PATH_MAX 1024

enum ta_stats_mode { TA_STATS_OFF = 0, TA_STATS_TEXT = 1, TA_STATS_JSON = 2 };

typedef struct ta_options {
    unsigned arenas;          /* TAMALLOC_ARENAS: 1..TA_MAX_ARENAS; 0 = TA_ARENAS_PER_CPU x CPUs */
    size_t mmap_threshold;    /* TAMALLOC_MMAP_THRESHOLD: requests >= this get their own mapping */
    int mmap_threshold_fixed; /* 1 when TAMALLOC_MMAP_THRESHOLD was given: the threshold stays
                                 (else it follows the mapped blocks freed: ta_small_limit_follow) */
    int stats;                /* TAMALLOC_STATS: enum ta_stats_mode, printed at exit */
    int check;                /* TAMALLOC_CHECK: 0, 1 (default) or 2 */
    int cache;                /* TAMALLOC_CACHE: 1 (default) per-thread caches on, 0 off (forced off
                                 at TAMALLOC_CHECK=2, where every free is checked at once) */
    size_t cache_bytes;       /* TAMALLOC_CACHE_BYTES: bound on the bytes one thread caches */
    int background;           /* TAMALLOC_BACKGROUND: 1 starts the background purge thread at init */
    unsigned decay_ms;        /* TAMALLOC_DECAY_MS: free memory unused this long goes back to the
                                 OS (0: at the arena's next operations) */
    char heap_map[TA_OPT_PATH_MAX];  /* TAMALLOC_HEAP_MAP: file for the JSON heap map; "" = off */
    char trace[TA_OPT_PATH_MAX];     /* TAMALLOC_TRACE: file for the binary trace; "" = off */
    char prof[TA_OPT_PATH_MAX];      /* TAMALLOC_PROF: heap profile written at exit ("%p" = pid);
                                        "" = none */
    size_t prof_sample;       /* TAMALLOC_PROF_SAMPLE: mean bytes between samples (512 KiB) */
    int prof_sample_set;      /* 1 when TAMALLOC_PROF_SAMPLE was given: profiling is on (for
                                 ta_prof_dump) even without TAMALLOC_PROF */
    int prof_leaks;           /* TAMALLOC_PROF_LEAKS: 1 = leak report at exit (profiling on) */
    int prof_signal;          /* TAMALLOC_PROF_SIGNAL: 1 = SIGUSR2 writes a profile (drop-in) */
    char stats_file[TA_OPT_PATH_MAX];   /* TAMALLOC_STATS_FILE: the stats report goes to this file
                                           (%p = pid), opened at exit, instead of stderr; "" = off.
                                           Set alone, it turns the text report on. */
} ta_options;

extern ta_options ta_opt TA_HIDDEN;

/* Reads every TAMALLOC_* variable; reports invalid ones. Called once by init. */
TA_HIDDEN void ta_options_load(void);

/* Parses a decimal count with an optional K/M/G suffix (powers of 1024). Returns 0 and sets *out
 * when s is well-formed and within [min, max]; -1 otherwise. */
TA_HIDDEN int ta_options_parse_size(const char *s, size_t min, size_t max, size_t *out);
/* "0"/"off"/"1"/"text"/"json" -> enum ta_stats_mode; -1 when not recognised. */
TA_HIDDEN int ta_options_parse_stats(const char *s);
/* Copies a non-empty path shorter than TA_OPT_PATH_MAX into out (TA_OPT_PATH_MAX bytes); 0, or -1. */
TA_HIDDEN int ta_options_parse_path(const char *s, char *out);
/* Copies path into out (cap bytes, cap >= 1) with each "%p" replaced by pid (TAMALLOC_TRACE,
 * TAMALLOC_STATS_FILE). Returns 0, or -1 when the result does not fit (out is then cut short);
 * out is always NUL-terminated. */
TA_HIDDEN int ta_options_expand_path(const char *path, long pid, char *out, size_t cap);

#endif
