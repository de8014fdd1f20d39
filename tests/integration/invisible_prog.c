/* invisible_prog.c - prints what a process can see of its malloc, for preload_invisible_test.sh to
 * compare with and without LD_PRELOAD=libtamalloc.so. First it allocates (small, cached, large,
 * aligned and realloc'd blocks; a thread that allocates, frees the main thread's blocks and
 * exits), then it prints, one fact a line, each line starting with WHO ("self" or "child"):
 *   first_open N              the descriptor its first open() gets
 *   fd N cloexec=C            every entry of /proc/self/fd (the directory's own included), with
 *                             its close-on-exec flag
 *   sig N DISPOSITION         every signal's handler (dfl, ign or handler), flags and mask; the two
 *                             signals glibc keeps for itself print "reserved"
 *   blocked N...              the signal mask
 *   threads N                 from /proc/self/status
 *   env NAME=VALUE            environ, in order
 *   tamalloc_mapped yes|no    whether libtamalloc is in /proc/self/maps (the test filters it)
 * Usage: invisible_prog self   the report only
 *        invisible_prog exec   the report, then fork + exec of itself ("child"), which prints its own
 *        invisible_prog fault  a double free (tamalloc reports it on stderr and aborts)
 *        invisible_prog fault-closed  the same after close(2): the report goes to the terminal */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void *volatile sink;

static void *worker(void *arg) {
    void **blocks = arg;
    for (int i = 0; i < 64; i++) free(blocks[i]);   /* blocks of the main thread: remote frees */
    for (int i = 0; i < 1000; i++) {
        char *p = malloc((size_t)(16 + i % 900));
        memset(p, 1, 16);
        free(p);
    }
    sink = malloc(100);
    return NULL;
}

static void allocate(void) {
    static void *blocks[64];
    for (int i = 0; i < 64; i++) blocks[i] = malloc((size_t)(24 + 40 * i));
    char *big = malloc(1 << 20);   /* its own mapping */
    memset(big, 2, 4096);
    char *grown = realloc(calloc(10, 10), 5000);
    void *aligned = NULL;
    if (posix_memalign(&aligned, 4096, 300) != 0) exit(3);
    pthread_t t;
    if (pthread_create(&t, NULL, worker, blocks) != 0 || pthread_join(t, NULL) != 0) exit(3);
    free(big);
    free(grown);
    free(aligned);
    free(sink);
}

static void report(const char *who) {
    int fd = open("/dev/null", O_RDONLY);
    printf("%s first_open %d\n", who, fd);
    close(fd);

    DIR *d = opendir("/proc/self/fd");
    if (!d) exit(4);
    int nums[4096], n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 4096)
        if (e->d_name[0] != '.') nums[n++] = atoi(e->d_name);
    for (int i = 0; i < n; i++)   /* sorted, so the listing's order does not matter */
        for (int j = i + 1; j < n; j++)
            if (nums[j] < nums[i]) { int t = nums[i]; nums[i] = nums[j]; nums[j] = t; }
    for (int i = 0; i < n; i++) {
        int flags = fcntl(nums[i], F_GETFD);
        printf("%s fd %d cloexec=%d\n", who, nums[i], flags >= 0 && (flags & FD_CLOEXEC) ? 1 : 0);
    }
    closedir(d);

    for (int s = 1; s < NSIG; s++) {
        struct sigaction sa;
        if (sigaction(s, NULL, &sa) != 0) {
            printf("%s sig %d reserved (%s)\n", who, s, strerror(errno));
            continue;
        }
        const char *h = sa.sa_handler == SIG_DFL ? "dfl" : sa.sa_handler == SIG_IGN ? "ign" : "handler";
        unsigned long mask = 0;
        for (int m = 1; m < 64 && m < NSIG; m++)
            if (sigismember(&sa.sa_mask, m) == 1) mask |= 1ul << (m - 1);
        printf("%s sig %d %s flags=%#x mask=%#lx\n", who, s, h, (unsigned)sa.sa_flags, mask);
    }
    sigset_t blocked;
    sigprocmask(SIG_BLOCK, NULL, &blocked);
    printf("%s blocked", who);
    for (int s = 1; s < NSIG; s++)
        if (sigismember(&blocked, s) == 1) printf(" %d", s);
    printf("\n");

    FILE *f = fopen("/proc/self/status", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "Threads:", 8) == 0) printf("%s threads %d\n", who, atoi(line + 8));
    if (f) fclose(f);

    for (char **v = environ; *v; v++) printf("%s env %s\n", who, *v);

    int mapped = 0;
    f = fopen("/proc/self/maps", "r");
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "libtamalloc")) mapped = 1;
    if (f) fclose(f);
    printf("%s tamalloc_mapped %s\n", who, mapped ? "yes" : "no");
    fflush(stdout);
}

int main(int argc, char **argv) {
    const char *mode = argc == 2 ? argv[1] : "";
    if (strncmp(mode, "fault", 5) == 0) {
        char *p = malloc(2000);
        char *volatile again = p;   /* hides the double free from the compiler */
        free(p);
        if (strcmp(mode, "fault-closed") == 0) close(2);
        free(again);   /* double free: tamalloc aborts here */
        return 0;
    }
    allocate();
    if (strcmp(mode, "child") == 0) {
        report("child");
        return 0;
    }
    if (strcmp(mode, "self") != 0 && strcmp(mode, "exec") != 0) return 2;
    report("self");
    if (strcmp(mode, "exec") == 0) {
        pid_t pid = fork();
        if (pid < 0) return 5;
        if (pid == 0) {
            execl("/proc/self/exe", argv[0], "child", (char *)NULL);
            _exit(127);
        }
        int st;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return 6;
    }
    return 0;
}
