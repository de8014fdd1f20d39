/* server.c - a small key-value server, built with `malloc = "@tamalloc//alloc:tamalloc_override"`:
 * its code knows nothing of tamalloc. One thread per connection; a shared hash table of keys and
 * values, so a value set by one connection's thread is often replaced and freed by another's.
 *
 * Protocol, one request per line:  SET key value -> OK   GET key -> VALUE value | NOTFOUND
 *                                  DEL key -> OK | NOTFOUND
 *   server PORT                     serves on 127.0.0.1:PORT until killed
 *   server --self-test CLIENTS N    serves on an ephemeral port, runs CLIENTS client threads that
 *                                   send N requests each and check every answer, then stops;
 *                                   prints "server: self-test ok: ..." and exits 0 (1 on a wrong
 *                                   answer) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BUCKETS = 1024 };

struct entry {
    struct entry *next;
    char *key;
    char *value;
};

static struct {
    pthread_mutex_t lock;
    struct entry *head;
} table[BUCKETS];

static unsigned hash(const char *s) {
    unsigned h = 2166136261u;
    while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
    return h % BUCKETS;
}

/* Returns a malloc'd answer line. */
static char *handle(char *line) {
    char *save = NULL;   /* strtok_r: connection threads parse at the same time */
    char *cmd = strtok_r(line, " \r\n", &save), *key = strtok_r(NULL, " \r\n", &save);
    char *value = strtok_r(NULL, "\r\n", &save);
    if (!cmd || !key) return strdup("ERROR\n");
    unsigned b = hash(key);
    char *answer = NULL;
    pthread_mutex_lock(&table[b].lock);
    struct entry **pp = &table[b].head;
    while (*pp && strcmp((*pp)->key, key) != 0) pp = &(*pp)->next;
    if (strcmp(cmd, "SET") == 0 && value) {
        char *copy = strdup(value);
        if (*pp) {
            free((*pp)->value);
            (*pp)->value = copy;
        } else {
            struct entry *e = malloc(sizeof *e);
            e->key = strdup(key);
            e->value = copy;
            e->next = table[b].head;
            table[b].head = e;
        }
        answer = strdup("OK\n");
    } else if (strcmp(cmd, "GET") == 0) {
        if (*pp && asprintf(&answer, "VALUE %s\n", (*pp)->value) < 0) answer = NULL;
        if (!*pp) answer = strdup("NOTFOUND\n");
    } else if (strcmp(cmd, "DEL") == 0) {
        if (*pp) {
            struct entry *e = *pp;
            *pp = e->next;
            free(e->key);
            free(e->value);
            free(e);
            answer = strdup("OK\n");
        } else {
            answer = strdup("NOTFOUND\n");
        }
    } else {
        answer = strdup("ERROR\n");
    }
    pthread_mutex_unlock(&table[b].lock);
    return answer;
}

static void *serve_connection(void *arg) {
    int fd = (int)(intptr_t)arg;
    FILE *in = fdopen(fd, "r");
    char *line = NULL;
    size_t cap = 0;
    while (in && getline(&line, &cap, in) > 0) {
        char *answer = handle(line);
        if (!answer) break;
        size_t n = strlen(answer);
        ssize_t w = write(fd, answer, n);
        free(answer);
        if (w != (ssize_t)n) break;
    }
    free(line);
    if (in) fclose(in);
    else close(fd);
    return NULL;
}

static int listen_on(int port, int *bound_port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 64) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0) {
        perror("server: listen");
        exit(1);
    }
    *bound_port = ntohs(a.sin_port);
    return s;
}

static void *accept_loop(void *arg) {
    int s = (int)(intptr_t)arg;
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0) break;
        pthread_t t;
        if (pthread_create(&t, NULL, serve_connection, (void *)(intptr_t)c) != 0) { close(c); continue; }
        pthread_detach(t);
    }
    return NULL;
}

/* ---- self-test clients ---- */

static int port_for_clients;
static int requests_per_client;

static void *client(void *arg) {
    unsigned id = (unsigned)(uintptr_t)arg, seed = id * 2654435761u + 7;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port_for_clients)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0) return (void *)"connect failed";
    FILE *in = fdopen(s, "r");
    char *line = NULL, *expect[64] = {0};  /* this client's keys: the value the server must hold */
    size_t cap = 0;
    const char *err = NULL;
    for (int i = 0; i < requests_per_client && !err; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned k = (seed >> 8) % 64, len = 1 + (seed >> 16) % 300, op = (seed >> 4) % 3;
        char value[301], *req = NULL, *want = NULL;
        for (unsigned j = 0; j < len; j++) value[j] = (char)('a' + (k + j + (unsigned)i) % 26);
        value[len] = 0;
        int n;
        if (op == 0) {
            n = asprintf(&req, "SET c%u-k%u %s\n", id, k, value);
            want = strdup("OK\n");
            free(expect[k]);
            expect[k] = strdup(value);
        } else if (op == 1) {
            n = asprintf(&req, "GET c%u-k%u\n", id, k);
            if (expect[k]) { if (asprintf(&want, "VALUE %s\n", expect[k]) < 0) want = NULL; }
            else want = strdup("NOTFOUND\n");
        } else {
            n = asprintf(&req, "DEL c%u-k%u\n", id, k);
            want = strdup(expect[k] ? "OK\n" : "NOTFOUND\n");
            free(expect[k]);
            expect[k] = NULL;
        }
        if (n < 0 || !want) err = "out of memory";
        else if (write(s, req, (size_t)n) != n) err = "write failed";
        else if (getline(&line, &cap, in) <= 0) err = "no answer";
        else if (strcmp(line, want) != 0) err = "wrong answer";
        free(req);
        free(want);
    }
    for (int k = 0; k < 64; k++) free(expect[k]);
    free(line);
    fclose(in);
    return (void *)err;
}

int main(int argc, char **argv) {
    for (int i = 0; i < BUCKETS; i++) pthread_mutex_init(&table[i].lock, NULL);
    int port;
    if (argc == 4 && strcmp(argv[1], "--self-test") == 0) {
        int clients = atoi(argv[2]);
        requests_per_client = atoi(argv[3]);
        if (clients < 1 || clients > 256 || requests_per_client < 1) { fprintf(stderr, "server: bad counts\n"); return 2; }
        int s = listen_on(0, &port);
        port_for_clients = port;
        pthread_t acceptor, t[256];
        pthread_create(&acceptor, NULL, accept_loop, (void *)(intptr_t)s);
        for (int i = 0; i < clients; i++) pthread_create(&t[i], NULL, client, (void *)(uintptr_t)i);
        int bad = 0;
        for (int i = 0; i < clients; i++) {
            void *err;
            pthread_join(t[i], &err);
            if (err) { fprintf(stderr, "server: client %d: %s\n", i, (const char *)err); bad = 1; }
        }
        size_t keys = 0;
        for (int b = 0; b < BUCKETS; b++) {
            pthread_mutex_lock(&table[b].lock);
            for (struct entry *e = table[b].head, *n; e; e = n) {
                n = e->next;
                free(e->key);
                free(e->value);
                free(e);
                keys++;
            }
            table[b].head = NULL;
            pthread_mutex_unlock(&table[b].lock);
        }
        if (bad) return 1;
        printf("server: self-test ok: %d clients x %d requests, %zu keys left\n", clients, requests_per_client, keys);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: server PORT | server --self-test CLIENTS REQUESTS\n");
        return 2;
    }
    int s = listen_on(atoi(argv[1]), &port);
    printf("server: listening on 127.0.0.1:%d\n", port);
    fflush(stdout);
    accept_loop((void *)(intptr_t)s);
    return 0;
}
