/* block_test.c - the block header: keyed tags, state bits, the USED -> QUEUED claim, block sizes,
 * safe-linked words, and the fault ta_diagnose_fault names for a header whose claim failed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "alloc/block.h"
#include "alloc/diagnose.h"
#include "alloc/fault.h"
#include "tests/unit/unit_support.h"

#define SEED 0x5eed1234abcdULL

/* A 16-aligned scratch area for headers; blocks here are never handed to an arena. */
static _Alignas(64) unsigned char arena_buf[4096];

static ta_block *blk(size_t off) { return (ta_block *)(arena_buf + off); }

static const enum ta_block_state all_states[] = {
    TA_STATE_USED, TA_STATE_FREE, TA_STATE_QUEUED, TA_STATE_LARGE, TA_STATE_MERGED,
};
#define NSTATES (sizeof all_states / sizeof all_states[0])

static void test_tag_encodes_state_and_verifies(void **state) {
    (void)state;
    ta_block *b = blk(64);
    for (unsigned i = 0; i < NSTATES; i++) {
        ta_block_set(b, 96, all_states[i]);
        assert_int_equal(b->size, 96);
        assert_int_equal(ta_block_state(b), all_states[i]);
        assert_true(ta_block_tag_ok(b));
        uint64_t tag = ta_atomic_load_relaxed(&b->a_tag);
        assert_int_equal(tag & TA_STATE_MASK, all_states[i]);
        assert_int_equal(tag & ~TA_STATE_MASK, ta_block_key(b, 96));
        for (unsigned j = 0; j < NSTATES; j++)
            assert_int_equal(ta_block_is(b, all_states[j]), i == j);
    }
}

static void test_key_depends_on_address_size_and_secret(void **state) {
    (void)state;
    ta_block *b = blk(128);
    uint64_t k = ta_block_key(b, 64);
    assert_int_equal(k & TA_STATE_MASK, 0);
    assert_int_not_equal(k, ta_block_key(blk(144), 64));
    assert_int_not_equal(k, ta_block_key(b, 80));
    for (int bit = 4; bit < 64; bit++)   /* every bit of the size counts, the top ones too */
        assert_int_not_equal(k, ta_block_key(b, (size_t)64 ^ ((size_t)1 << bit)));
    ta_block_init_secrets(SEED + 16);   /* the low four bits of the secret are cleared: the state's place */
    assert_int_not_equal(k, ta_block_key(b, 64));
    ta_block_init_secrets(SEED);
    assert_int_equal(k, ta_block_key(b, 64));
}

static void test_tag_rejects_forgery(void **state) {
    (void)state;
    ta_block *b = blk(256);
    ta_block_set(b, 64, TA_STATE_USED);
    /* A size rewritten without the secret no longer verifies. */
    b->size = 80;
    assert_false(ta_block_tag_ok(b));
    assert_false(ta_block_is(b, TA_STATE_USED));
    b->size = 64;
    assert_true(ta_block_tag_ok(b));
    /* Any single flipped key bit is detected. */
    uint64_t good = ta_atomic_load_relaxed(&b->a_tag);
    for (unsigned bit = 4; bit < 64; bit++) {
        ta_atomic_store_relaxed(&b->a_tag, good ^ ((uint64_t)1 << bit));
        assert_false(ta_block_tag_ok(b));
    }
    /* A header copied to another address does not verify there. */
    ta_block *c = blk(512);
    memcpy(c, b, sizeof *b);
    assert_false(ta_block_tag_ok(c));
    ta_atomic_store_relaxed(&b->a_tag, good);
    assert_true(ta_block_is(b, TA_STATE_USED));
}

/* Every single-bit change of a USED header's size word, and of its tag outside the state bits, fails
 * the USED check and the tag check, for several secrets, addresses and sizes: in particular size bit
 * 40, which the key's rotation brings to bit 0 (with the state or-ed into the tag instead of added,
 * that flip went unseen). */
static void test_every_header_bit_flip_fails(void **state) {
    (void)state;
    static const size_t sizes[] = {32, 48, 1040, 4112, 65536, (size_t)1 << 20};
    for (uint64_t seed = 1; seed < 40; seed++) {
        ta_block_init_secrets(seed * 0x9e3779b97f4a7c15ULL);
        for (size_t off = 0; off < 256; off += 16) {
            for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
                ta_block *b = blk(off);
                for (int bit = 0; bit < 64; bit++) {
                    ta_block_set(b, sizes[si], TA_STATE_USED);
                    b->size ^= (size_t)1 << bit;
                    assert_false(ta_block_is(b, TA_STATE_USED));
                    assert_false(ta_block_tag_ok(b));
                    ta_block_set(b, sizes[si], TA_STATE_USED);
                    ta_atomic_store_relaxed(&b->a_tag, ta_atomic_load_relaxed(&b->a_tag) ^ ((uint64_t)1 << bit));
                    assert_false(ta_block_is(b, TA_STATE_USED));
                    if (bit >= 4) assert_false(ta_block_tag_ok(b));
                }
            }
        }
    }
    ta_block_init_secrets(SEED);
}

static void test_claim_free_once(void **state) {
    (void)state;
    ta_block *b = blk(384);
    ta_block_set(b, 48, TA_STATE_USED);
    assert_true(ta_block_claim_free(b, 48));
    assert_int_equal(ta_block_state(b), TA_STATE_QUEUED);
    assert_true(ta_block_is(b, TA_STATE_QUEUED));
    /* The second claim (a double free) loses and changes nothing. */
    uint64_t queued = ta_atomic_load_relaxed(&b->a_tag);
    assert_false(ta_block_claim_free(b, 48));
    assert_int_equal(ta_atomic_load_relaxed(&b->a_tag), queued);
}

static void test_claim_free_needs_used_and_right_size(void **state) {
    (void)state;
    ta_block *b = blk(640);
    for (unsigned i = 0; i < NSTATES; i++) {
        if (all_states[i] == TA_STATE_USED) continue;
        ta_block_set(b, 64, all_states[i]);
        assert_false(ta_block_claim_free(b, 64));
        assert_int_equal(ta_block_state(b), all_states[i]);
    }
    ta_block_set(b, 64, TA_STATE_USED);
    assert_false(ta_block_claim_free(b, 80));   /* the tag is keyed by the size */
    assert_int_equal(ta_block_state(b), TA_STATE_USED);
    assert_true(ta_block_claim_free(b, 64));
}

static void test_size_for_rounding(void **state) {
    (void)state;
    assert_int_equal(ta_block_size_for(0), 32);
    assert_int_equal(ta_block_size_for(1), 32);
    assert_int_equal(ta_block_size_for(16), 32);
    assert_int_equal(ta_block_size_for(17), 48);
    assert_int_equal(ta_block_size_for(32), 48);
    assert_int_equal(ta_block_size_for(33), 64);
    assert_int_equal(ta_block_size_for(48), 64);
    assert_int_equal(ta_block_size_for(49), 80);
    for (size_t n = 0; n < 70000; n++) {
        size_t s = ta_block_size_for(n);
        size_t expect = n + 16;
        while (expect % 16) expect++;
        if (expect < 32) expect = 32;
        assert_int_equal(s, expect);
    }
}

static void test_user_pointer_round_trip(void **state) {
    (void)state;
    ta_block *b = blk(1024);
    ta_block_set(b, 160, TA_STATE_USED);
    void *u = ta_block_user(b);
    assert_ptr_equal(u, arena_buf + 1024 + 16);
    assert_int_equal((uintptr_t)u % TA_ALIGN, 0);
    assert_ptr_equal(ta_block_of(u), b);
    assert_int_equal(ta_block_usable(b), 144);
    assert_ptr_equal(ta_block_next_phys(b), blk(1024 + 160));
}

static void test_safe_link_round_trip(void **state) {
    (void)state;
    _Alignas(16) uintptr_t slots[4];
    void *targets[] = {NULL, arena_buf, arena_buf + 4080, (void *)(uintptr_t)0x7ffff0001230ULL, slots};
    for (unsigned i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        for (unsigned s = 0; s < 4; s++) {
            uintptr_t w = ta_link_encode(&slots[s], targets[i]);
            assert_ptr_equal(ta_link_decode(&slots[s], w), targets[i]);
            /* The stored word is not the pointer itself. */
            assert_int_not_equal(w, (uintptr_t)targets[i]);
        }
        /* The same pointer stored in a slot of another 16-byte granule is another word (the slot
         * address is mixed in >> 4, so the two words of one granule share a mask). */
        assert_int_not_equal(ta_link_encode(&slots[0], targets[i]), ta_link_encode(&slots[2], targets[i]));
    }
}

static void test_safe_link_flipped_bit_decodes_elsewhere(void **state) {
    (void)state;
    _Alignas(16) uintptr_t slot[4] = {0, 0, 0, 0};
    void *target = arena_buf + 512;
    uintptr_t w = ta_link_encode(&slot[0], target);
    for (unsigned bit = 0; bit < 8 * sizeof w; bit++) {
        void *d = ta_link_decode(&slot[0], w ^ ((uintptr_t)1 << bit));
        assert_ptr_not_equal(d, target);
    }
    /* A word moved to a slot in another granule does not decode to the pointer either. */
    assert_ptr_not_equal(ta_link_decode(&slot[2], w), target);
}

/* ta_diagnose_fault names the misuse from the header it finds. */
static void test_block_fault_names_the_misuse(void **state) {
    (void)state;
    char *start = (char *)arena_buf + 2048, *end = start + 512;
    ta_block *a = (ta_block *)start, *b = (ta_block *)(start + 64);
    ta_block_set(a, 64, TA_STATE_USED);
    ta_block_set(b, 448, TA_STATE_USED);

    ta_block_set(b, 448, TA_STATE_FREE);
    EXPECT_FAULT(ta_diagnose_fault(b, start, end, ta_block_user(b), "free"));
    assert_int_equal(the_trap.fault, TA_FAULT_DOUBLE_FREE);
    assert_ptr_equal(the_trap.addr, ta_block_user(b));

    ta_block_set(b, 448, TA_STATE_QUEUED);
    EXPECT_FAULT(ta_diagnose_fault(b, start, end, ta_block_user(b), "realloc"));
    assert_int_equal(the_trap.fault, TA_FAULT_USE_AFTER_FREE);

    ta_atomic_store_relaxed(&b->a_tag, ta_block_tag(b, 0, TA_STATE_MERGED));
    EXPECT_FAULT(ta_diagnose_fault(b, start, end, ta_block_user(b), "free"));
    assert_int_equal(the_trap.fault, TA_FAULT_DOUBLE_FREE);

    /* A pointer into the middle of a live block: the header found there is user data. */
    ta_block_set(b, 448, TA_STATE_USED);
    char *inner = (char *)ta_block_user(b) + 64;
    memset(inner - 16, 0xab, 16);
    EXPECT_FAULT(ta_diagnose_fault(ta_block_of(inner), start, end, inner, "free"));
    assert_int_equal(the_trap.fault, TA_FAULT_INTERIOR_POINTER);
    assert_ptr_equal(the_trap.addr, inner);

    /* A header with a forged tag. */
    ta_atomic_store_relaxed(&b->a_tag, ta_atomic_load_relaxed(&b->a_tag) ^ ((uint64_t)1 << 40));
    EXPECT_FAULT(ta_diagnose_fault(b, start, end, ta_block_user(b), "free"));
    assert_int_equal(the_trap.fault, TA_FAULT_CORRUPT_HEADER);
    assert_non_null(strstr(the_trap.msg, "tag does not verify"));

    /* A valid tag with a state that is not freeable (LARGE inside a segment). */
    ta_block_set(b, 448, TA_STATE_LARGE);
    EXPECT_FAULT(ta_diagnose_fault(b, start, end, ta_block_user(b), "free"));
    assert_int_equal(the_trap.fault, TA_FAULT_CORRUPT_HEADER);
}

int main(void) {
    ta_block_init_secrets(SEED);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tag_encodes_state_and_verifies),
        cmocka_unit_test(test_key_depends_on_address_size_and_secret),
        cmocka_unit_test(test_tag_rejects_forgery),
        cmocka_unit_test(test_every_header_bit_flip_fails),
        cmocka_unit_test(test_claim_free_once),
        cmocka_unit_test(test_claim_free_needs_used_and_right_size),
        cmocka_unit_test(test_size_for_rounding),
        cmocka_unit_test(test_user_pointer_round_trip),
        cmocka_unit_test(test_safe_link_round_trip),
        cmocka_unit_test(test_safe_link_flipped_bit_decodes_elsewhere),
        cmocka_unit_test(test_block_fault_names_the_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
