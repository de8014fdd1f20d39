/* heap_server - a per-request heap in a tiny in-process server (tamalloc's first-class heaps).
 *
 * Worker threads take fake HTTP requests from a queue. Each request gets its own heap: the parser
 * copies the request line and every header into it (ta_heap_malloc, ta_heap_realloc as the header
 * table grows), the handler builds the response in it, and when the response is "sent" the whole
 * request is dropped with one ta_heap_destroy: no free per string, nothing leaked if the handler
 * forgets one. A reply the worker keeps past the request is copied out with ta_malloc first.
 *
 * Usage: heap_server [requests] [threads]   (defaults 20000 and 4). Prints a summary and exits 0
 * when every response was right and, at the end, no user heap is left and ta_check() is 0. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tamalloc.h"

typedef struct header { char *name, *value; } header;

typedef struct request {
    ta_heap *heap;
    char *method, *path;
    header *headers;
    size_t nheaders, cap;
} request;

static char *heap_strndup(ta_heap *h, const char *s, size_t n) {
    char *d = ta_heap_malloc(h, n + 1);
    if (!d) { perror("ta_heap_malloc"); exit(1); }
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

/* Parses "METHOD PATH HTTP/1.1\r\nName: value\r\n...\r\n" into r, every string in r->heap. */
static int parse(request *r, const char *text) {
    const char *sp = strchr(text, ' '), *sp2 = sp ? strchr(sp + 1, ' ') : NULL, *eol = strstr(text, "\r\n");
    if (!sp || !sp2 || !eol || sp2 > eol) return -1;
    r->method = heap_strndup(r->heap, text, (size_t)(sp - text));
    r->path = heap_strndup(r->heap, sp + 1, (size_t)(sp2 - sp - 1));
    for (const char *line = eol + 2; strncmp(line, "\r\n", 2) != 0;) {
        const char *colon = strchr(line, ':'), *end = strstr(line, "\r\n");
        if (!colon || !end || colon > end) return -1;
        if (r->nheaders == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 2;
            r->headers = ta_heap_realloc(r->heap, r->headers, r->cap * sizeof *r->headers);
            if (!r->headers) { perror("ta_heap_realloc"); exit(1); }
        }
        header *hd = &r->headers[r->nheaders++];
        hd->name = heap_strndup(r->heap, line, (size_t)(colon - line));
        const char *v = colon + 1;
        while (*v == ' ') v++;
        hd->value = heap_strndup(r->heap, v, (size_t)(end - v));
        line = end + 2;
    }
    return 0;
}

/* The response, built in the request's heap. */
static char *handle(request *r) {
    size_t cap = 64 + strlen(r->path);
    for (size_t i = 0; i < r->nheaders; i++) cap += strlen(r->headers[i].name) + strlen(r->headers[i].value) + 8;
    char *body = ta_heap_calloc(r->heap, 1, cap);
    if (!body) { perror("ta_heap_calloc"); exit(1); }
    int n = snprintf(body, cap, "200 %s %s headers=%zu", r->method, r->path, r->nheaders);
    for (size_t i = 0; i < r->nheaders && n > 0 && (size_t)n < cap; i++)
        n += snprintf(body + n, cap - (size_t)n, " %s=%s", r->headers[i].name, r->headers[i].value);
    return body;
}

static size_t total, threads_n;
static size_t next_req;
static size_t served, bad;
static size_t max_heap_bytes;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void fake_request(size_t i, char *buf, size_t cap) {
    int n = snprintf(buf, cap, "GET /item/%zu HTTP/1.1\r\nHost: example\r\n", i);
    for (size_t k = 0; k < i % 12 && (size_t)n < cap; k++) n += snprintf(buf + n, cap - (size_t)n, "X-Field-%zu: value-%zu-%zu\r\n", k, i, k);
    snprintf(buf + n, cap - (size_t)n, "\r\n");
}

static void *worker(void *arg) {
    (void)arg;
    char text[2048];
    for (;;) {
        pthread_mutex_lock(&mu);
        size_t i = next_req++;
        pthread_mutex_unlock(&mu);
        if (i >= total) return NULL;
        fake_request(i, text, sizeof text);
        request r = {ta_heap_new(), NULL, NULL, NULL, 0, 0};
        if (!r.heap) { perror("ta_heap_new"); exit(1); }
        int ok = parse(&r, text) == 0;
        char expect[64];
        snprintf(expect, sizeof expect, "200 GET /item/%zu headers=%zu", i, 1 + i % 12);
        char *resp = ok ? handle(&r) : NULL;
        ok = ok && strncmp(resp, expect, strlen(expect)) == 0;
        ta_stats s;
        ta_heap_get_stats(r.heap, &s);
        ta_heap_destroy(r.heap);   /* the request's every string and table, at once */
        pthread_mutex_lock(&mu);
        served++;
        bad += !ok;
        if (s.allocated > max_heap_bytes) max_heap_bytes = s.allocated;
        pthread_mutex_unlock(&mu);
    }
}

int main(int argc, char **argv) {
    total = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
    threads_n = argc > 2 ? strtoul(argv[2], NULL, 10) : 4;
    if (threads_n < 1 || threads_n > 64) threads_n = 4;
    pthread_t t[64];
    for (size_t i = 0; i < threads_n; i++) pthread_create(&t[i], NULL, worker, NULL);
    for (size_t i = 0; i < threads_n; i++) pthread_join(t[i], NULL);
    size_t user_heaps = 0;
    ta_arena_stats as;
    size_t n = ta_get_arena_stats(0, &as);
    for (unsigned i = 0; i < n; i++)
        if (ta_get_arena_stats(i, &as) && as.in_use && as.user) user_heaps++;
    int check = ta_check();
    printf("heap_server: %zu requests on %zu threads, %zu bad, largest request heap %zu bytes, %zu user heaps left, "
           "ta_check %d\n", served, threads_n, bad, max_heap_bytes, user_heaps, check);
    return served == total && bad == 0 && user_heaps == 0 && check == 0 ? 0 : 1;
}
