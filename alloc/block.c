/* block.c - the per-process secrets behind block tags and links (diagnose.c names faults). */
#include "alloc/block.h"

uint64_t ta_block_secret;
uintptr_t ta_link_secret;

void ta_block_init_secrets(uint64_t seed) {
    uint64_t x = seed;
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL; x ^= x >> 27; x *= 0x94d049bb133111ebULL; x ^= x >> 31;
    ta_block_secret = seed & ~TA_STATE_MASK;   /* keys of valid headers keep their low bits clear */
    ta_link_secret = (uintptr_t)(x << 4);   /* keeps decoded garbage misaligned-looking only by chance */
}
