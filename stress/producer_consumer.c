/* producer_consumer.c - producers allocate blocks of many sizes (1 byte to 16 KiB mostly, some up to
 * 127 KiB, some direct-mapped at >= 128 KiB), fill them and hand them through channels to consumer
 * threads, which verify and free them. Consumers never allocate, so they own no arena and every
 * free of an arena block is a remote free: the suite requires the allocator's remote_pushed count
 * to grow by exactly the number of arena blocks the consumers freed, and the closing invariant to
 * find every one of them drained. */
#include <stdatomic.h>
#include <stdio.h>

#include "stress/harness.h"

enum { PRODUCERS = 3, CONSUMERS = 3, CHANNEL_CAPACITY = 256, OPS_PER_PRODUCER = 150000 };

static stress_chan *channels[CONSUMERS];
static size_t ops_per_producer;
static atomic_size_t consumed_arena_blocks, consumed_large_blocks;

static size_t pick_size(rng *r) {
    uint64_t roll = rng_below(r, 1000);
    if (roll < 10) return stress_size(r, STRESS_LARGE_MIN, 512 * 1024);   /* direct mapping */
    if (roll < 50) return stress_size(r, 16 * 1024, STRESS_LARGE_MIN - 1);
    return stress_size(r, 1, 16 * 1024);
}

static void producer(unsigned index, void *arg) {
    (void)arg;
    rng r = stress_rng(index);
    for (size_t i = 0; i < ops_per_producer; i++) {
        stress_blk b;
        stress_blk_malloc(&b, pick_size(&r), stress_tag(index, i));
        stress_chan_put(channels[rng_below(&r, CONSUMERS)], &b);
    }
    stress_count_ops(ops_per_producer);
}

static void consumer(unsigned index, void *arg) {
    (void)arg;
    size_t arena_blocks = 0, large_blocks = 0, n = 0;
    stress_blk b;
    while (stress_chan_get(channels[index], &b)) {
        STRESS_REQUIRE(stress_tag_thread(b.tag) < PRODUCERS, "consumer %u got a block tagged 0x%llx", index,
                       (unsigned long long)b.tag);
        if (b.n >= STRESS_LARGE_MIN) large_blocks++;
        else arena_blocks++;
        stress_blk_free(&b, "before a consumer's free");
        n++;
    }
    atomic_fetch_add(&consumed_arena_blocks, arena_blocks);
    atomic_fetch_add(&consumed_large_blocks, large_blocks);
    stress_count_ops(n);
    stress_count_cross(n);
}

int main(void) {
    stress_begin("producer_consumer", 0x70c0ffee01ULL);
    ops_per_producer = stress_ops(OPS_PER_PRODUCER);
    for (unsigned i = 0; i < CONSUMERS; i++) channels[i] = stress_chan_new(CHANNEL_CAPACITY);
    ta_stats before;
    ta_get_stats(&before);

    stress_group *consumers = stress_group_start(CONSUMERS, consumer, NULL);
    stress_run_threads(PRODUCERS, producer, NULL);
    for (unsigned i = 0; i < CONSUMERS; i++) stress_chan_close(channels[i]);
    stress_group_join(consumers);
    for (unsigned i = 0; i < CONSUMERS; i++) stress_chan_destroy(channels[i]);

    size_t arena_blocks = atomic_load(&consumed_arena_blocks), large_blocks = atomic_load(&consumed_large_blocks);
    STRESS_REQUIRE(arena_blocks + large_blocks == PRODUCERS * ops_per_producer,
                   "consumers freed %zu blocks, producers made %zu", arena_blocks + large_blocks,
                   PRODUCERS * ops_per_producer);
    ta_stats after;
    ta_get_stats(&after);
    printf("producer_consumer: %zu arena blocks and %zu direct-mapped blocks freed by consumers\n", arena_blocks,
           large_blocks);
#ifndef STRESS_USE_LIBC
    if (stress_threshold_pinned())
        STRESS_REQUIRE(after.remote_pushed - before.remote_pushed == arena_blocks,
                       "remote_pushed grew by %zu, but consumers (threads without an arena) freed %zu arena blocks",
                       after.remote_pushed - before.remote_pushed, arena_blocks);
#endif
    return stress_end();
}
