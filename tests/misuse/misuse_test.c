/* misuse_test.c - runs every misuse case (one small program each, see misuse.h) as a child process
 * and checks that tamalloc reported it: the child died by SIGABRT (a watchdog alarm turns a hang
 * into SIGALRM, a crash into SIGSEGV, silence into a normal exit: all failures), its stderr has a
 * line starting "tamalloc: <expected fault name> at <address>", the address is the one the case
 * announced on stdout ("expect 0x..."), and the detail text matches where the table gives one.
 * Prints "| case | message |" rows (the table in the hardening issue's note). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DOUBLE_FREE "double free"
#define INVALID "invalid pointer (not allocated by tamalloc)"
#define MISALIGNED "misaligned pointer (not allocated by tamalloc)"
#define INTERIOR "interior pointer (not the start of a block)"
#define HEADER "corrupted block header"
#define UAF "use after free"
#define OVERFLOW "heap overflow into the next block"
#define LINK "corrupted free-list link"
#define REENTRY "allocator re-entered while it held a lock"
#define HEAP_CHECK "heap check failed"
#define INVALID_HEAP "invalid heap (destroyed, or not a ta_heap)"
#define HEAP_MISMATCH "block of another heap"

/* addr: 1 when the case announces the address the report must name; 0 when the report names an
 * internal address (a lock, an arena) that the case cannot know. */
static const struct misuse_case {
    const char *name, *fault, *detail, *env;
    int addr;
} cases[] = {
    {"df_immediate", DOUBLE_FREE, ": free", NULL, 1},
    {"df_after_other_frees", DOUBLE_FREE, NULL, NULL, 1},
    {"df_medium", DOUBLE_FREE, NULL, NULL, 1},
    {"df_large_unmapped", DOUBLE_FREE, "unmapped large block", NULL, 1},
    {"df_aligned", DOUBLE_FREE, NULL, NULL, 1},
    {"df_merged", DOUBLE_FREE, NULL, NULL, 1},
    {"df_merged", DOUBLE_FREE, NULL, "TAMALLOC_CHECK=2", 1},   /* merged headers are poisoned at 2 */
    {"df_remote_first_alive", DOUBLE_FREE, NULL, NULL, 1},
    {"df_sampled", DOUBLE_FREE, NULL, "TAMALLOC_PROF_SAMPLE=1", 1},   /* a heap-profile sample */
    {"df_remote_first_exited", DOUBLE_FREE, NULL, NULL, 1},
    {"df_owner_exited", DOUBLE_FREE, NULL, NULL, 1},
    {"free_stack", INVALID, NULL, NULL, 1},
    {"free_static", INVALID, NULL, NULL, 1},
    {"free_libc_malloc", INVALID, NULL, NULL, 1},
    {"free_foreign_mmap", INVALID, NULL, NULL, 1},
    {"free_foreign_mmap_near_large", INVALID, NULL, NULL, 1},
    {"free_wild_one", MISALIGNED, NULL, NULL, 1},
    {"free_wild_aligned", INVALID, NULL, NULL, 1},
    {"free_wild_high", INVALID, NULL, NULL, 1},
    {"free_interior_16", INTERIOR, NULL, NULL, 1},
    {"free_interior_32", INTERIOR, NULL, NULL, 1},
    {"free_interior_large", INTERIOR, NULL, NULL, 1},
    {"free_interior_sampled", INTERIOR, NULL, "TAMALLOC_PROF_SAMPLE=1", 1},
    {"free_misaligned_1", MISALIGNED, NULL, NULL, 1},
    {"free_misaligned_8", MISALIGNED, NULL, NULL, 1},
    {"free_segment_metadata", INVALID, NULL, NULL, 1},
    {"free_never_allocated", INVALID, NULL, NULL, 1},
    {"realloc_freed", UAF, "realloc", NULL, 1},
    {"realloc_freed_large", UAF, "realloc", NULL, 1},
    {"realloc_foreign", INVALID, "realloc", NULL, 1},
    {"usable_size_freed", UAF, "usable size", NULL, 1},
    {"usable_size_stack", INVALID, "usable size", NULL, 1},
    {"free_after_realloc_moved", DOUBLE_FREE, NULL, NULL, 1},
    {"corrupt_tag", HEADER, "tag does not verify", NULL, 1},
    {"corrupt_sampled_tag", HEADER, "tag does not verify", "TAMALLOC_PROF_SAMPLE=1", 1},
    {"corrupt_size", HEADER, "tag does not verify", NULL, 1},
    {"corrupt_size_forged_larger", HEADER, "tag does not verify", NULL, 1},
    {"corrupt_size_huge", HEADER, "size out of range", NULL, 1},
    {"corrupt_state_invalid", HEADER, "unexpected block state", NULL, 1},
    {"corrupt_state_free", HEADER, NULL, NULL, 1},
    {"corrupt_large_header", HEADER, NULL, NULL, 1},
    {"overflow_one_byte", OVERFLOW, NULL, "TAMALLOC_CACHE=0", 1},   /* checked at the free itself */
    {"overflow_cached", OVERFLOW, NULL, NULL, 1},                    /* checked when the cache flushes */
    {"overflow_large_canary", OVERFLOW, "canary", NULL, 1},
    /* the arena's free list and remote queue, reached at once with the thread caches off */
    {"corrupt_free_link_alloc", LINK, "next link", "TAMALLOC_CACHE=0", 1},
    {"corrupt_free_link_free", LINK, "next link", "TAMALLOC_CACHE=0", 1},
    {"corrupt_fit_index", LINK, "free-block index: segment link", NULL, 1},
    {"corrupt_remote_link", LINK, "remote free queue link written after free", "TAMALLOC_CACHE=0", 1},
    /* the thread cache: its bins and its batches of remote frees */
    {"df_cached", DOUBLE_FREE, ": free", NULL, 1},
    {"uaf_cached_link", LINK, "thread cache link written after free", NULL, 1},
    {"corrupt_cached_header", HEADER, "size out of range", NULL, 1},   /* at its free (the pop flips the state only) */
    {"corrupt_outbox_link", LINK, "remote free queue link written after free", NULL, 1},
    {"check2_write_freed_next_op", HEAP_CHECK, "freed memory was written", "TAMALLOC_CHECK=2", 0},
    {"check2_write_freed_reuse", UAF, "freed memory was written", "TAMALLOC_CHECK=2", 1},
    {"check2_write_absorbed", UAF, "freed memory was written", "TAMALLOC_CHECK=2", 1},
    {"reentry_walk_malloc", REENTRY, NULL, NULL, 0},
    /* a free the thread cache takes needs no lock: re-entry shows where a call reaches the arena */
    {"reentry_walk_free", REENTRY, NULL, "TAMALLOC_CACHE=0", 0},
    {"reentry_signal", REENTRY, NULL, NULL, 0},
    /* first-class heaps (ta_heap_*) */
    {"free_after_heap_destroy", INVALID, "destroyed heap", NULL, 1},
    {"free_after_heap_destroy_large", INVALID, "destroyed heap", NULL, 1},
    {"double_heap_destroy", INVALID_HEAP, "ta_heap_destroy", NULL, 1},
    {"heap_destroy_foreign", INVALID_HEAP, "ta_heap_destroy", NULL, 1},
    {"heap_realloc_foreign", HEAP_MISMATCH, "ta_heap_realloc", NULL, 1},
    {"heap_realloc_arena_block", HEAP_MISMATCH, "ta_heap_realloc", NULL, 1},
};

#define WATCHDOG_SECONDS 20

static char *read_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return strdup("");
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* Runs one case; returns its wait status and fills the captured stdout and stderr. */
static int run_case(const struct misuse_case *c, char **out, char **err) {
    const char *tmp = getenv("TEST_TMPDIR");
    char out_path[4096], err_path[4096], exe[512];
    snprintf(out_path, sizeof out_path, "%s/%s.out", tmp ? tmp : "/tmp", c->name);
    snprintf(err_path, sizeof err_path, "%s/%s.err", tmp ? tmp : "/tmp", c->name);
    snprintf(exe, sizeof exe, "tests/misuse/%s", c->name);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); exit(2); }
    if (pid == 0) {
        int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0) _exit(120);
        dup2(fo, 1);
        dup2(fe, 2);
        if (c->env) putenv((char *)c->env);
        signal(SIGABRT, SIG_DFL);
        alarm(WATCHDOG_SECONDS);   /* survives exec: a hang ends in SIGALRM */
        execl(exe, exe, (char *)NULL);
        _exit(121);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    *out = read_file(out_path);
    *err = read_file(err_path);
    return status;
}

/* The first line of s that starts with prefix (copied into line), or 0. */
static int find_line(const char *s, const char *prefix, char *line, size_t cap) {
    for (const char *at = s; at && *at; at = strchr(at, '\n'), at = at ? at + 1 : NULL) {
        if (strncmp(at, prefix, strlen(prefix)) == 0) {
            size_t n = strcspn(at, "\n");
            if (n >= cap) n = cap - 1;
            memcpy(line, at, n);
            line[n] = 0;
            return 1;
        }
    }
    return 0;
}

static int check_case(const struct misuse_case *c) {
    char *out, *err;
    int status = run_case(c, &out, &err);
    char report[512] = "", expect[128] = "", want[256];
    int ok = 1;
    const char *why = "";
    int has_report = find_line(err, "tamalloc: ", report, sizeof report);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT) {
        ok = 0;
        why = WIFSIGNALED(status) ? (WTERMSIG(status) == SIGALRM ? "hung (watchdog)" : "killed by a signal other than SIGABRT")
                                  : "exited normally: the misuse went unreported";
    } else if (!has_report) {
        ok = 0;
        why = "no \"tamalloc: \" line on stderr";
    } else {
        snprintf(want, sizeof want, "tamalloc: %s at 0x", c->fault);
        if (strncmp(report, want, strlen(want)) != 0) { ok = 0; why = "wrong fault name"; }
        if (ok && c->detail && !strstr(report, c->detail)) { ok = 0; why = "detail text missing"; }
        if (ok && c->addr) {
            if (!find_line(out, "expect ", expect, sizeof expect)) { ok = 0; why = "case announced no address"; }
            else {
                snprintf(want, sizeof want, " at %s", expect + strlen("expect "));
                size_t n = strlen(want);
                const char *hit = strstr(report, want);
                if (!hit || (hit[n] != ':' && hit[n] != 0)) { ok = 0; why = "wrong address"; }
            }
        }
    }
    printf("| %s%s%s%s | %s |\n", c->name, c->env ? " (" : "", c->env ? c->env : "", c->env ? ")" : "",
           has_report ? report : "(none)");
    if (!ok) {
        printf("FAIL %s: %s (status 0x%x)\n  expected: tamalloc: %s at %s%s%s\n  stdout: %s\n  stderr: %s\n", c->name, why,
               status, c->fault, c->addr ? expect : "<any>", c->detail ? " ... " : "", c->detail ? c->detail : "", out, err);
    }
    free(out);
    free(err);
    return ok;
}

int main(int argc, char **argv) {
    int failed = 0, ran = 0;
    printf("| case | message |\n|---|---|\n");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (argc > 1) {   /* optional filter: run only the named cases */
            int want = 0;
            for (int k = 1; k < argc; k++) want |= strcmp(argv[k], cases[i].name) == 0;
            if (!want) continue;
        }
        ran++;
        if (!check_case(&cases[i])) failed++;
    }
    printf("%d of %d misuse cases reported correctly\n", ran - failed, ran);
    return failed == 0 && ran > 0 ? 0 : 1;
}
