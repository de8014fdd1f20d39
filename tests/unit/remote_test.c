/* remote_test.c - the lock-free remote free queue: LIFO chains from push/take_all, the empty take,
 * the safe-linked chain word, the look-ahead hint word (safe-linked, cleared by a single push, only
 * ever prefetched), and 4 pushing threads against 1 consumer taking whole chains, where every block
 * must arrive exactly once. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/block.h"
#include "alloc/remote.h"

#define BLOCK 32   /* minimal blocks: header + the link word and the hint word the queue writes */

/* n QUEUED blocks in one 16-aligned buffer, as a freeing thread leaves them before pushing. */
static ta_block *make_blocks(size_t n) {
    size_t bytes = (n * BLOCK + 63) & ~(size_t)63;   /* aligned_alloc wants a multiple of 64 */
    unsigned char *buf = aligned_alloc(64, bytes);
    assert_non_null(buf);
    memset(buf, 0, bytes);
    for (size_t i = 0; i < n; i++) {
        ta_block *b = (ta_block *)(buf + i * BLOCK);
        ta_block_set(b, TA_MIN_BLOCK, TA_STATE_USED);
        assert_true(ta_block_claim_free(b, TA_MIN_BLOCK));
    }
    return (ta_block *)buf;
}
static ta_block *nth(ta_block *base, size_t i) { return (ta_block *)((char *)base + i * BLOCK); }
static size_t index_of(ta_block *base, ta_block *b) { return (size_t)((char *)b - (char *)base) / BLOCK; }

static void test_empty_take(void **state) {
    (void)state;
    ta_remote q;
    ta_remote_init(&q);
    assert_false(ta_remote_nonempty(&q));
    assert_null(ta_remote_take_all(&q));
    assert_null(ta_remote_take_all(&q));
    assert_int_equal(ta_atomic_load_relaxed(&q.a_pushed), 0);
}

static void test_push_take_is_lifo_chain(void **state) {
    (void)state;
    ta_block *base = make_blocks(5);
    ta_remote q;
    ta_remote_init(&q);
    for (size_t i = 0; i < 3; i++) {
        ta_remote_push(&q, nth(base, i));
        assert_true(ta_remote_nonempty(&q));
    }
    assert_int_equal(ta_atomic_load_relaxed(&q.a_pushed), 3);
    ta_block *b = ta_remote_take_all(&q);
    assert_ptr_equal(b, nth(base, 2));   /* most recent first */
    assert_ptr_equal(ta_remote_next(nth(base, 2)), nth(base, 1));
    assert_ptr_equal(ta_remote_next(nth(base, 1)), nth(base, 0));
    assert_null(ta_remote_next(nth(base, 0)));
    /* The take emptied the queue. */
    assert_false(ta_remote_nonempty(&q));
    assert_null(ta_remote_take_all(&q));

    /* A new chain after a take does not reach into the old one. */
    ta_remote_push(&q, nth(base, 3));
    ta_remote_push(&q, nth(base, 4));
    assert_ptr_equal(ta_remote_take_all(&q), nth(base, 4));
    assert_ptr_equal(ta_remote_next(nth(base, 4)), nth(base, 3));
    assert_null(ta_remote_next(nth(base, 3)));
    assert_int_equal(ta_atomic_load_relaxed(&q.a_pushed), 5);

    /* Pushing writes only the link and hint words: headers (and so states) are untouched. */
    for (size_t i = 0; i < 5; i++) {
        assert_true(ta_block_is(nth(base, i), TA_STATE_QUEUED));
        assert_int_equal(nth(base, i)->size, TA_MIN_BLOCK);
    }
    free(base);
}

static void test_link_word_is_safe_linked(void **state) {
    (void)state;
    ta_block *base = make_blocks(2);
    ta_remote q;
    ta_remote_init(&q);
    ta_remote_push(&q, nth(base, 0));
    ta_remote_push(&q, nth(base, 1));
    uintptr_t word = *ta_remote_slot(nth(base, 1));
    assert_int_not_equal(word, (uintptr_t)nth(base, 0));   /* not the raw pointer */
    assert_int_equal(word, ta_link_encode(ta_remote_slot(nth(base, 1)), nth(base, 0)));
    /* A stray write to the word decodes to something else, which the drainer then rejects. */
    *ta_remote_slot(nth(base, 1)) ^= (uintptr_t)1 << 20;
    assert_ptr_not_equal(ta_remote_next(nth(base, 1)), nth(base, 0));
    free(base);
}

/* The hint word (the block TA_REMOTE_AHEAD places down the chain) is safe-linked; a single push
 * clears it; a hint that is garbage (written after free) is only prefetched: the chain walk that
 * prefetches each hint still yields every block, in order. */
static void test_ahead_hint(void **state) {
    (void)state;
    enum { N = 3 * TA_REMOTE_AHEAD };
    ta_block *base = make_blocks(N);
    uintptr_t *hint = ta_remote_slot(nth(base, 0)) + 1;
    *hint = 0x4141414141414141u;
    ta_remote q;
    ta_remote_init(&q);
    ta_remote_push(&q, nth(base, 0));
    assert_null(ta_link_decode(hint, *hint));   /* cleared by the push */

    /* a chain as an outbox builds it: newest first, each block's hint TA_REMOTE_AHEAD further on */
    for (size_t i = 1; i < N; i++) {
        uintptr_t *slot = ta_remote_slot(nth(base, i));
        *slot = ta_link_encode(slot, nth(base, i - 1));
        ta_remote_set_ahead(nth(base, i), i >= TA_REMOTE_AHEAD ? nth(base, i - TA_REMOTE_AHEAD) : NULL);
    }
    uintptr_t *h = ta_remote_slot(nth(base, N - 1)) + 1;
    assert_int_not_equal(*h, (uintptr_t)nth(base, N - 1 - TA_REMOTE_AHEAD));   /* not the raw pointer */
    assert_ptr_equal(ta_link_decode(h, *h), nth(base, N - 1 - TA_REMOTE_AHEAD));
    /* hints written after free: pointer-sized garbage, NULL, an address nothing maps */
    *(ta_remote_slot(nth(base, N - 2)) + 1) = 0x4141414141414141u;
    *(ta_remote_slot(nth(base, N - 3)) + 1) = 0;
    ta_remote_set_ahead(nth(base, N - 4), (ta_block *)(uintptr_t)0x10);
    size_t seen = 0;
    for (ta_block *b = nth(base, N - 1); b != NULL; b = ta_remote_next(b)) {
        ta_remote_prefetch_ahead(b);
        assert_ptr_equal(b, nth(base, N - 1 - seen));
        seen++;
    }
    assert_int_equal(seen, N);
    free(base);
}

/* ---------------------------------------------------------------------------------------------
 * 4 producers, 1 consumer
 * ------------------------------------------------------------------------------------------- */

#define PUSHERS 4
#define PER_PUSHER 4000

static ta_remote mq;
static ta_block *mbase;
static unsigned char received[PUSHERS * PER_PUSHER];
static ta_atomic_int pushers_done;
static size_t consumer_takes, consumer_errors;

static void *pusher(void *arg) {
    size_t id = (size_t)arg;
    for (size_t i = 0; i < PER_PUSHER; i++) ta_remote_push(&mq, nth(mbase, id + i * PUSHERS));   /* interleaved */
    ta_atomic_add_acq_rel(&pushers_done, 1);
    return NULL;
}

/* Per pusher, the position of its newest block seen in earlier chains (-1: none yet). */
static long seen_floor[PUSHERS];
static size_t order_errors;

/* Counts each block of one taken chain. The chain is LIFO, so each pusher's blocks appear newest
 * first (positions strictly decreasing), and all are newer than anything taken before. */
static size_t consume_chain(ta_block *b) {
    long newest[PUSHERS], last[PUSHERS];
    for (int p = 0; p < PUSHERS; p++) newest[p] = last[p] = -1;
    size_t n = 0;
    while (b) {
        size_t i = index_of(mbase, b);
        if (i >= PUSHERS * PER_PUSHER || (char *)nth(mbase, i) != (char *)b || !ta_block_is(b, TA_STATE_QUEUED)) {
            consumer_errors++;
            return n;
        }
        size_t p = i % PUSHERS;
        long k = (long)(i / PUSHERS);
        if (k <= seen_floor[p] || (last[p] >= 0 && k >= last[p])) order_errors++;
        if (newest[p] < 0) newest[p] = k;
        last[p] = k;
        received[i]++;
        n++;
        b = ta_remote_next(b);
    }
    for (int p = 0; p < PUSHERS; p++) if (newest[p] >= 0) seen_floor[p] = newest[p];
    return n;
}

static void *consumer(void *arg) {
    (void)arg;
    size_t total = 0;
    while (total < PUSHERS * PER_PUSHER && consumer_errors == 0) {
        ta_block *chain = ta_remote_take_all(&mq);
        if (chain) consumer_takes++;
        total += consume_chain(chain);
        if (!chain && ta_atomic_load_acquire(&pushers_done) == PUSHERS && !ta_remote_nonempty(&mq)) break;
    }
    return NULL;
}

static void test_four_pushers_one_consumer(void **state) {
    (void)state;
    mbase = make_blocks(PUSHERS * PER_PUSHER);
    ta_remote_init(&mq);
    memset(received, 0, sizeof received);
    ta_atomic_store_relaxed(&pushers_done, 0);
    consumer_takes = consumer_errors = order_errors = 0;
    for (int i = 0; i < PUSHERS; i++) seen_floor[i] = -1;

    pthread_t c, p[PUSHERS];
    assert_int_equal(pthread_create(&c, NULL, consumer, NULL), 0);
    for (size_t i = 0; i < PUSHERS; i++) assert_int_equal(pthread_create(&p[i], NULL, pusher, (void *)i), 0);
    for (size_t i = 0; i < PUSHERS; i++) pthread_join(p[i], NULL);
    pthread_join(c, NULL);

    assert_int_equal(consumer_errors, 0);
    assert_int_equal(order_errors, 0);
    assert_null(ta_remote_take_all(&mq));   /* the consumer left nothing behind */
    for (size_t i = 0; i < PUSHERS * PER_PUSHER; i++) {
        if (received[i] != 1) fail_msg("block %zu received %u times", i, received[i]);
    }
    assert_int_equal(ta_atomic_load_relaxed(&mq.a_pushed), PUSHERS * PER_PUSHER);
    assert_true(consumer_takes >= 1);
    free(mbase);
}

int main(void) {
    ta_block_init_secrets(0x7e307eULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_take),
        cmocka_unit_test(test_push_take_is_lifo_chain),
        cmocka_unit_test(test_link_word_is_safe_linked),
        cmocka_unit_test(test_ahead_hint),
        cmocka_unit_test(test_four_pushers_one_consumer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
