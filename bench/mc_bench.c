/* Workload 7, a real server: starts memcached on 127.0.0.1 (a free port, UDP off, THREADS worker
 * threads, 64 MiB cache) with the allocator under test preloaded into the server only
 * (BENCH_SERVER_PRELOAD=path, empty or unset for the C library's malloc), then drives it from one
 * client thread over CONNS connections, each with one request outstanding: 90% get, 10% set of
 * values of 32..4096 bytes over KEYS keys, all set before the clock starts so every get hits.
 * Reports requests/s, latency percentiles, the server's peak RSS (VmHWM) and the server's CPU
 * times and page faults: server_utime_s, server_stime_s, server_minflt, server_majflt, the rusage
 * wait4 returns for it once it is killed, i.e. its whole life (start-up and the untimed fill
 * included). The result line's own utime_s, stime_s, minflt and majflt (bench/common.h) are this
 * client's, whose malloc is not the one under test.
 * Usage: mc_bench THREADS SCALE — SCALE thousand timed requests. MEMCACHED=path overrides
 * /usr/bin/memcached.
 * Determinism: key k is only ever used by connection k % CONNS, whose requests are sequential, so
 * every get must return exactly the value that connection last set; the checksum sums the values
 * verified, and depends only on SCALE. The server's own memory is not checked beyond that. */
#include "bench/common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define CONNS 16
#define KEYS 4096
#define MIN_VAL 32
#define MAX_VAL 4096
#define SET_PCT 10
#define BUF (MAX_VAL + 256)

typedef struct {
    int fd;               /* socket */
    bench_rng rng;        /* this connection's request sequence */
    long left;            /* timed requests still to send */
    int is_get;           /* the outstanding request is a get */
    int key;              /* its key */
    double sent;          /* when it was sent */
    size_t have;          /* bytes in buf */
    char buf[2 * BUF];    /* response bytes */
} conn;

static uint32_t g_ver[KEYS];  /* version of each key's current value */
static uint32_t g_len[KEYS];  /* its length */
static uint64_t g_sum, g_bad; /* checksum of verified values; failed requests */

static void die(const char *what) {
    fprintf(stderr, "mc_bench: %s: %s\n", what, strerror(errno));
    exit(3);
}

/* The value of key k at version v: len bytes from a keyed sequence. */
static void value_fill(char *out, int k, uint32_t v, size_t len) {
    uint64_t seed = ((uint64_t)k << 32 | v) * 0x9e3779b97f4a7c15ull;
    for (size_t j = 0; j < len; j += 8) {
        uint64_t w = bench_mix(seed + j);
        memcpy(out + j, &w, len - j < 8 ? len - j : 8);
    }
}

static void send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            die("send");
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Writes a set of key (next version, len bytes) into out (BUF bytes); returns its length. */
static size_t set_request(char *out, int key, size_t len) {
    g_ver[key]++;
    g_len[key] = (uint32_t)len;
    int h = snprintf(out, BUF, "set k%05d 0 0 %zu\r\n", key, len);
    value_fill(out + h, key, g_ver[key], len);
    memcpy(out + h + len, "\r\n", 2);
    return (size_t)h + len + 2;
}

static void request(conn *c, int is_get, int key, size_t len) {
    char req[BUF];
    size_t n;
    if (is_get)
        n = (size_t)snprintf(req, sizeof req, "get k%05d\r\n", key);
    else
        n = set_request(req, key, len);
    c->is_get = is_get;
    c->key = key;
    c->have = 0;
    c->sent = bench_now();
    send_all(c->fd, req, n);
}

/* Length of the complete response at the front of c->buf, 0 if more bytes are needed; verifies it
 * (updating g_sum or g_bad) when complete. */
static size_t response(conn *c) {
    char *eol = memmem(c->buf, c->have, "\r\n", 2);
    if (!eol)
        return 0;
    size_t line = (size_t)(eol - c->buf) + 2;
    if (!c->is_get) {
        if (line != 8 || memcmp(c->buf, "STORED", 6) != 0)
            g_bad++;
        return line;
    }
    if (line == 5 && memcmp(c->buf, "END", 3) == 0) { /* a miss: never expected */
        g_bad++;
        return line;
    }
    unsigned flags;
    size_t len;
    char key[16];
    if (sscanf(c->buf, "VALUE %15s %u %zu", key, &flags, &len) != 3 || len > MAX_VAL) {
        g_bad++;
        return c->have; /* unparseable: drop what we have */
    }
    size_t total = line + len + 2 + 5;
    if (c->have < total)
        return 0;
    char want[MAX_VAL];
    value_fill(want, c->key, g_ver[c->key], g_len[c->key]);
    if (len != g_len[c->key] || memcmp(c->buf + line, want, len) != 0 ||
        memcmp(c->buf + line + len, "\r\nEND\r\n", 7) != 0)
        g_bad++;
    else
        g_sum += bench_mix(((uint64_t)c->key << 32 | g_ver[c->key]) ^ len);
    return total;
}

/* Sends connection i's next timed request: a key of its own, get or set by SET_PCT. */
static void next_request(conn *c, int i) {
    int key = i + CONNS * (int)(bench_next(&c->rng) % (KEYS / CONNS));
    int set = bench_next(&c->rng) % 100 < SET_PCT;
    request(c, !set, key, bench_range(&c->rng, MIN_VAL, MAX_VAL));
    c->left--;
}

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0)
        die("bind");
    socklen_t n = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &n);
    close(fd);
    return ntohs(a.sin_port);
}

static pid_t start_server(const char *bin, int port, int threads) {
    char p[16], t[16];
    snprintf(p, sizeof p, "%d", port);
    snprintf(t, sizeof t, "%d", threads);
    const char *preload = getenv("BENCH_SERVER_PRELOAD");
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        if (preload && *preload)
            setenv("LD_PRELOAD", preload, 1);
        else
            unsetenv("LD_PRELOAD");
        const char *argv[] = {bin, "-l", "127.0.0.1", "-p", p, "-U", "0", "-t", t, "-m", "64",
                              "-c", "256", geteuid() == 0 ? "-u" : NULL, "root", NULL};
        execv(bin, (char *const *)argv);
        fprintf(stderr, "mc_bench: cannot run %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    return pid;
}

static int connect_retry(int port, pid_t server) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    double deadline = bench_now() + 10;
    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            die("socket");
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            return fd;
        }
        close(fd);
        int st;
        if (waitpid(server, &st, WNOHANG) == server) {
            fprintf(stderr, "mc_bench: memcached exited (status %d)\n", st);
            exit(3);
        }
        if (bench_now() > deadline) {
            fprintf(stderr, "mc_bench: memcached did not listen on port %d\n", port);
            kill(server, SIGKILL);
            exit(3);
        }
        usleep(10000);
    }
}

static long server_hwm_kb(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    return bench_vmhwm_kb(path);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int threads;
    long scale;
    bench_args(argc, argv, "THREADS(server threads) SCALE(thousand requests)", &threads, &scale);
    signal(SIGPIPE, SIG_IGN);
    const char *bin = getenv("MEMCACHED") ? getenv("MEMCACHED") : "/usr/bin/memcached";
    int port = free_port();
    pid_t server = start_server(bin, port, threads);
    conn *cs = calloc(CONNS, sizeof(conn));
    for (int i = 0; i < CONNS; i++) {
        cs[i].fd = connect_retry(port, server);
        cs[i].rng.s = 0x3c3c0000ull + (uint64_t)i;
    }
    /* Every key gets a value before the clock starts: each connection sends the sets of its keys
     * in one pipelined stream (the 8-byte replies cannot fill a socket buffer), then reads the
     * replies. */
    double w0 = bench_now();
    bench_rng fill = {0x7777};
    uint64_t warm_bad = 0;
    char *req = bench_xmalloc((size_t)(KEYS / CONNS) * BUF);
    for (int i = 0; i < CONNS; i++) {
        size_t n = 0;
        for (int k = i; k < KEYS; k += CONNS)
            n += set_request(req + n, k, bench_range(&fill, MIN_VAL, MAX_VAL));
        send_all(cs[i].fd, req, n);
    }
    for (int i = 0; i < CONNS; i++) {
        size_t want = 8 * (KEYS / CONNS), have = 0;
        while (have < want) {
            ssize_t r = recv(cs[i].fd, req + have, want - have, 0);
            if (r <= 0)
                die("recv (server gone?)");
            have += (size_t)r;
        }
        for (size_t j = 0; j < want; j += 8)
            warm_bad += memcmp(req + j, "STORED\r\n", 8) != 0;
    }
    free(req);
    double warm = bench_now() - w0;

    long total = scale * 1000;
    double *lat = bench_xmalloc(sizeof(double) * (size_t)total);
    long done = 0;
    struct pollfd pf[CONNS];
    for (int i = 0; i < CONNS; i++) {
        cs[i].left = total / CONNS + (i < total % CONNS);
        pf[i].fd = cs[i].fd;
        pf[i].events = POLLIN;
    }
    double t0 = bench_now();
    int active = 0;
    for (int i = 0; i < CONNS; i++) {
        conn *c = &cs[i];
        if (c->left == 0) {
            pf[i].fd = -1;
            continue;
        }
        next_request(c, i);
        active++;
    }
    while (active > 0) {
        if (poll(pf, CONNS, 10000) <= 0)
            die("poll (server stalled?)");
        for (int i = 0; i < CONNS; i++) {
            if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLERR | POLLHUP)))
                continue;
            conn *c = &cs[i];
            ssize_t r = recv(c->fd, c->buf + c->have, sizeof c->buf - c->have, MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
                die("recv (server gone?)");
            if (r < 0)
                continue;
            c->have += (size_t)r;
            if (!response(c))
                continue;
            lat[done++] = bench_now() - c->sent;
            if (c->left == 0) {
                pf[i].fd = -1;
                active--;
                continue;
            }
            next_request(c, i);
        }
    }
    double secs = bench_now() - t0;
    long rss = server_hwm_kb(server);
    kill(server, SIGKILL); /* SIGTERM makes memcached 1.6 linger up to a second */
    struct rusage sru;
    char susage[160];
    if (wait4(server, NULL, 0, &sru) != server)
        die("wait4 (memcached)");
    bench_usage_fields(susage, sizeof susage, "server_", &sru);

    qsort(lat, (size_t)done, sizeof(double), cmp_double);
    double p50 = lat[done / 2] * 1e6, p99 = lat[done * 99 / 100] * 1e6;
    char extra[320];
    snprintf(extra, sizeof extra,
             "conns=%d p50_us=%.1f p99_us=%.1f server_rss_kb=%ld%s fill_secs=%.3f bad=%" PRIu64,
             CONNS, p50, p99, rss, susage, warm, g_bad);
    int ok = g_bad == 0 && warm_bad == 0 && done == total && rss > 0;
    bench_report("memcached", threads, (uint64_t)done, secs, g_sum, ok, extra);
    for (int i = 0; i < CONNS; i++)
        close(cs[i].fd);
    free(cs);
    free(lat);
    return ok ? 0 : 1;
}
