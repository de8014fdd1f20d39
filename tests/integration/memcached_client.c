/* memcached_client.c - drives a memcached server over its text protocol from many connections at
 * once and verifies every value it reads back.
 *
 *   memcached_client free-port          prints a free TCP port on 127.0.0.1
 *   memcached_client wait PORT TRIES    exits 0 once PORT accepts a connection (TRIES attempts)
 *   memcached_client run PORT CONNS OPS SEED
 *       CONNS threads, one connection each, OPS operations per connection. Connection c owns the
 *       keys "c<c>k<i>" (i < KEYS), so it knows the exact expected state of each: a value of a
 *       length and content derived from (c, i, version). Operations: set (a new version), get (the
 *       value must be the last one set, byte for byte, or a miss if never set or deleted), delete
 *       (DELETED or NOT_FOUND as expected), and multi-get of 8 keys. Any lost, stale or corrupted
 *       value fails the run. Then "stats" checks the server's counters match ours, and prints a
 *       summary that depends only on the seed (the test compares it across runs).
 *   memcached_client shutdown PORT      sends "shutdown" (memcached -A) and waits for the close
 *
 * It runs under the C library's malloc: only the server is preloaded. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define KEYS 200
#define MAX_VALUE 8000

static int port;
static long ops_per_conn;
static uint64_t seed;

typedef struct conn_result {
    long sets, gets, hits, misses, deletes, mgets, bytes;
    int failed;
    char why[1024];
} conn_result;

static uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static int connect_to(int p) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { close(fd); return -1; }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* A small buffered reader over a socket. */
typedef struct reader { int fd; char buf[65536]; size_t start, end; } reader;

static int rd_fill(reader *r) {
    if (r->start > 0 && r->start == r->end) r->start = r->end = 0;
    if (r->end == sizeof r->buf) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    ssize_t n;
    do n = read(r->fd, r->buf + r->end, sizeof r->buf - r->end); while (n < 0 && errno == EINTR);
    if (n <= 0) return -1;
    r->end += (size_t)n;
    return 0;
}

/* Reads one line ending in \r\n into out (without it). */
static int rd_line(reader *r, char *out, size_t cap) {
    for (;;) {
        char *nl = memmem(r->buf + r->start, r->end - r->start, "\r\n", 2);
        if (nl) {
            size_t len = (size_t)(nl - (r->buf + r->start));
            if (len >= cap) return -1;
            memcpy(out, r->buf + r->start, len);
            out[len] = 0;
            r->start += len + 2;
            return 0;
        }
        if (rd_fill(r) != 0) return -1;
    }
}

static int rd_exact(reader *r, char *out, size_t n) {
    while (r->end - r->start < n) if (rd_fill(r) != 0) return -1;
    memcpy(out, r->buf + r->start, n);
    r->start += n;
    return 0;
}

static int send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Value of (conn, key, version): length 1..MAX_VALUE (skewed small), bytes from a keyed mix. */
static size_t value_of(unsigned c, unsigned k, unsigned ver, char *out) {
    uint64_t h = mix(seed ^ ((uint64_t)c << 40) ^ ((uint64_t)k << 20) ^ ver);
    size_t len = 1 + (h % 8 == 0 ? h % MAX_VALUE : h % 400);
    for (size_t i = 0; i < len; i++) {
        if (i % 8 == 0) h = mix(h);
        out[i] = (char)('!' + (h >> (8 * (i % 8))) % 90);
    }
    return len;
}

#define FAIL(res, ...) do { snprintf((res)->why, sizeof (res)->why, __VA_ARGS__); (res)->failed = 1; goto out; } while (0)

typedef struct conn_arg { unsigned id; conn_result res; } conn_arg;

static void *conn_main(void *arg) {
    conn_arg *ca = arg;
    conn_result *res = &ca->res;
    unsigned c = ca->id;
    unsigned version[KEYS] = {0};   /* 0 = absent; else the version stored */
    reader *rp = malloc(sizeof *rp);
    char *val = malloc(MAX_VALUE + 1), *got = malloc(MAX_VALUE + 3), *cmd = malloc(MAX_VALUE + 256);
    char line[512];
    uint64_t h = mix(seed + 1000003u * c);
    rp->fd = connect_to(port);
    rp->start = rp->end = 0;
    if (rp->fd < 0) FAIL(res, "conn %u: connect: %s", c, strerror(errno));
    for (long op = 0; op < ops_per_conn; op++) {
        h = mix(h);
        unsigned k = (unsigned)(h % KEYS), kind = (unsigned)((h >> 32) % 10);
        if (kind < 4) {   /* set */
            unsigned ver = version[k] + 1;
            size_t len = value_of(c, k, ver, val);
            int n = snprintf(cmd, 256, "set c%uk%u %u 0 %zu\r\n", c, k, ver, len);
            memcpy(cmd + n, val, len);
            memcpy(cmd + n + len, "\r\n", 2);
            if (send_all(rp->fd, cmd, (size_t)n + len + 2) != 0 || rd_line(rp, line, sizeof line) != 0) FAIL(res, "conn %u: set: connection lost", c);
            if (strcmp(line, "STORED") != 0) FAIL(res, "conn %u: set c%uk%u: %s", c, c, k, line);
            version[k] = ver;
            res->sets++;
            res->bytes += (long)len;
        } else if (kind < 8 || kind == 9) {   /* get of one key, or a multi-get of 8 */
            unsigned nk = kind == 9 ? 8 : 1, keys[8];
            int n = snprintf(cmd, 256, "get");
            for (unsigned j = 0; j < nk; j++) {
                keys[j] = (k + j * 17) % KEYS;
                n += snprintf(cmd + n, 256 - (size_t)n, " c%uk%u", c, keys[j]);
            }
            n += snprintf(cmd + n, 256 - (size_t)n, "\r\n");
            if (send_all(rp->fd, cmd, (size_t)n) != 0) FAIL(res, "conn %u: get: connection lost", c);
            for (unsigned j = 0; j < nk; j++) {
                unsigned kk = keys[j];
                if (version[kk] == 0) { res->misses++; continue; }
                if (rd_line(rp, line, sizeof line) != 0) FAIL(res, "conn %u: get: connection lost", c);
                unsigned rc, rk, flags;
                size_t len;
                if (sscanf(line, "VALUE c%uk%u %u %zu", &rc, &rk, &flags, &len) != 4 || rc != c || rk != kk)
                    FAIL(res, "conn %u: get c%uk%u (version %u): lost value, got \"%s\"", c, c, kk, version[kk], line);
                size_t want = value_of(c, kk, version[kk], val);
                if (len > MAX_VALUE || rd_exact(rp, got, len + 2) != 0) FAIL(res, "conn %u: get: bad length %zu", c, len);
                if (flags != version[kk] || len != want || memcmp(got, val, want) != 0 || memcmp(got + len, "\r\n", 2) != 0)
                    FAIL(res, "conn %u: get c%uk%u: corrupted or stale value (flags %u, want version %u, len %zu want %zu)",
                         c, c, kk, flags, version[kk], len, want);
                res->hits++;
            }
            if (rd_line(rp, line, sizeof line) != 0 || strcmp(line, "END") != 0) FAIL(res, "conn %u: get: expected END, got \"%s\"", c, line);
            res->gets += nk;
            if (nk > 1) res->mgets++;
        } else {   /* delete */
            int n = snprintf(cmd, 256, "delete c%uk%u\r\n", c, k);
            if (send_all(rp->fd, cmd, (size_t)n) != 0 || rd_line(rp, line, sizeof line) != 0) FAIL(res, "conn %u: delete: connection lost", c);
            const char *want = version[k] ? "DELETED" : "NOT_FOUND";
            if (strcmp(line, want) != 0) FAIL(res, "conn %u: delete c%uk%u: %s, expected %s", c, c, k, line, want);
            version[k] = 0;
            res->deletes++;
        }
    }
out:
    if (rp->fd >= 0) close(rp->fd);
    free(val);
    free(got);
    free(cmd);
    free(rp);
    return NULL;
}

/* Reads "STAT name value" lines of the stats command into the named counters. */
static int server_stats(long *cmd_get, long *cmd_set, long *get_hits, long *get_misses, long *delete_hits, long *curr_items) {
    static reader r;
    char line[512], name[128];
    long v;
    r.fd = connect_to(port);
    r.start = r.end = 0;
    if (r.fd < 0 || send_all(r.fd, "stats\r\n", 7) != 0) return -1;
    while (rd_line(&r, line, sizeof line) == 0 && strcmp(line, "END") != 0) {
        if (sscanf(line, "STAT %127s %ld", name, &v) != 2) continue;
        if (!strcmp(name, "cmd_get")) *cmd_get = v;
        else if (!strcmp(name, "cmd_set")) *cmd_set = v;
        else if (!strcmp(name, "get_hits")) *get_hits = v;
        else if (!strcmp(name, "get_misses")) *get_misses = v;
        else if (!strcmp(name, "delete_hits")) *delete_hits = v;
        else if (!strcmp(name, "curr_items")) *curr_items = v;
    }
    close(r.fd);
    return 0;
}

static int run(int nconns) {
    conn_arg *args = calloc((size_t)nconns, sizeof *args);
    pthread_t *t = calloc((size_t)nconns, sizeof *t);
    for (int i = 0; i < nconns; i++) {
        args[i].id = (unsigned)i;
        if (pthread_create(&t[i], NULL, conn_main, &args[i]) != 0) { fprintf(stderr, "pthread_create failed\n"); return 1; }
    }
    conn_result tot = {0};
    int failed = 0;
    for (int i = 0; i < nconns; i++) {
        pthread_join(t[i], NULL);
        conn_result *r = &args[i].res;
        if (r->failed) { fprintf(stderr, "FAIL: %s\n", r->why); failed = 1; }
        tot.sets += r->sets; tot.gets += r->gets; tot.hits += r->hits; tot.misses += r->misses;
        tot.deletes += r->deletes; tot.mgets += r->mgets; tot.bytes += r->bytes;
    }
    if (failed) return 1;
    long cmd_get = -1, cmd_set = -1, get_hits = -1, get_misses = -1, delete_hits = -1, curr_items = -1;
    if (server_stats(&cmd_get, &cmd_set, &get_hits, &get_misses, &delete_hits, &curr_items) != 0) {
        fprintf(stderr, "FAIL: stats command\n");
        return 1;
    }
    printf("connections %d, operations %ld: set %ld (%ld value bytes), get %ld keys (%ld multi-gets): hits %ld, misses %ld; delete %ld\n",
           nconns, (long)nconns * ops_per_conn, tot.sets, tot.bytes, tot.gets, tot.mgets, tot.hits, tot.misses, tot.deletes);
    printf("server: cmd_set %ld, cmd_get %ld, get_hits %ld, get_misses %ld, curr_items %ld\n", cmd_set, cmd_get, get_hits, get_misses, curr_items);
    if (cmd_set != tot.sets || cmd_get != tot.gets || get_hits != tot.hits || get_misses != tot.misses) {
        fprintf(stderr, "FAIL: the server's counters disagree with the client's\n");
        return 1;
    }
    (void)delete_hits;
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "free-port")) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0) return 1;
        printf("%d\n", ntohs(a.sin_port));
        close(fd);
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "wait")) {
        port = atoi(argv[2]);
        for (int i = atoi(argv[3]); i > 0; i--) {
            int fd = connect_to(port);
            if (fd >= 0) { close(fd); return 0; }
            usleep(100 * 1000);
        }
        return 1;
    }
    if (argc == 3 && !strcmp(argv[1], "shutdown")) {
        port = atoi(argv[2]);
        int fd = connect_to(port);
        if (fd < 0 || send_all(fd, "shutdown\r\n", 10) != 0) return 1;
        char b[256];
        while (read(fd, b, sizeof b) > 0) {}   /* the server closes the connection as it exits */
        close(fd);
        return 0;
    }
    if (argc == 6 && !strcmp(argv[1], "run")) {
        port = atoi(argv[2]);
        int conns = atoi(argv[3]);
        ops_per_conn = atol(argv[4]);
        seed = strtoull(argv[5], NULL, 0);
        if (conns < 1 || conns > 1024 || ops_per_conn < 1) return 2;
        return run(conns);
    }
    fprintf(stderr, "usage: %s free-port | wait PORT TRIES | run PORT CONNS OPS SEED | shutdown PORT\n", argv[0]);
    return 2;
}
