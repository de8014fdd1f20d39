/* segmap_test.c - the address -> mapping table: own addresses (first, middle and last byte of a
 * registered mapping, and of every chunk of a multi-chunk one) map to their span; foreign
 * addresses (stack, static data, libc's heap, someone else's mmap), unregistered ones and any
 * address at or above 2^48 map to NULL; a failed registration records nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "alloc/config.h"
#include "alloc/platform/os.h"
#include "alloc/segmap.h"

#define CHUNK TA_SEGMENT_SIZE
#define LEAF_SPAN ((uintptr_t)CHUNK << TA_SEGMAP_LEAF_BITS)   /* address range one leaf covers */

static int static_object;

/* Hides a constant address from the optimiser (gcc otherwise warns about the table index it
 * would compute on a path that the 2^48 check never takes). */
static void *opaque(uintptr_t a) {
    volatile uintptr_t v = a;
    return (void *)v;
}

static char *byte(void *base, size_t off) { return (char *)base + off; }

static void assert_maps_to(void *base, size_t size, ta_span *want) {
    assert_ptr_equal(ta_segmap_lookup(base), want);
    assert_ptr_equal(ta_segmap_lookup(byte(base, size / 2)), want);
    assert_ptr_equal(ta_segmap_lookup(byte(base, size - 1)), want);
    for (size_t off = 0; off < size; off += CHUNK) {
        assert_ptr_equal(ta_segmap_lookup(byte(base, off)), want);
        assert_ptr_equal(ta_segmap_lookup(byte(base, off + CHUNK / 3)), want);
    }
}

static void test_own_segment(void **state) {
    (void)state;
    char *seg = ta_os_map_aligned(CHUNK, CHUNK);
    assert_non_null(seg);
    ta_span *span = (ta_span *)seg;
    span->kind = TA_SPAN_SEGMENT;
    assert_null(ta_segmap_lookup(seg));
    assert_int_equal(ta_segmap_register(seg, CHUNK, span), 0);
    assert_maps_to(seg, CHUNK, span);
    assert_int_equal(ta_segmap_lookup(seg + 12345)->kind, TA_SPAN_SEGMENT);
    /* Just outside it: the neighbouring chunks are not ours. */
    assert_null(ta_segmap_lookup(seg - 1));
    assert_null(ta_segmap_lookup(seg + CHUNK));
    ta_segmap_unregister(seg, CHUNK);
    assert_null(ta_segmap_lookup(seg));
    assert_null(ta_segmap_lookup(seg + CHUNK / 2));
    assert_null(ta_segmap_lookup(seg + CHUNK - 1));
    ta_os_unmap(seg, CHUNK);
}

static void test_foreign_addresses(void **state) {
    (void)state;
    /* Keep one registered segment so the table is not trivially empty. */
    char *seg = ta_os_map_aligned(CHUNK, CHUNK);
    assert_non_null(seg);
    ((ta_span *)seg)->kind = TA_SPAN_SEGMENT;   /* a span of kind 0 is "none" */
    assert_int_equal(ta_segmap_register(seg, CHUNK, (ta_span *)seg), 0);

    int on_stack = 0;
    assert_null(ta_segmap_lookup(&on_stack));
    assert_null(ta_segmap_lookup(&static_object));
    assert_null(ta_segmap_lookup((void *)&test_foreign_addresses));
    void *heap = malloc(100);
    assert_non_null(heap);
    assert_null(ta_segmap_lookup(heap));
    free(heap);
    void *big = malloc(1 << 20);   /* glibc serves this with its own mmap */
    assert_non_null(big);
    assert_null(ta_segmap_lookup(big));
    free(big);
    void *m = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m != MAP_FAILED);
    assert_null(ta_segmap_lookup(m));
    munmap(m, 1 << 16);
    assert_null(ta_segmap_lookup(NULL));
    assert_null(ta_segmap_lookup((void *)(uintptr_t)16));

    assert_ptr_equal(ta_segmap_lookup(seg + 100), (ta_span *)seg);
    ta_segmap_unregister(seg, CHUNK);
    ta_os_unmap(seg, CHUNK);
}

static void test_high_addresses(void **state) {
    (void)state;
    char *seg = ta_os_map_aligned(CHUNK, CHUNK);
    assert_non_null(seg);
    ((ta_span *)seg)->kind = TA_SPAN_SEGMENT;   /* a span of kind 0 is "none" */
    assert_int_equal(ta_segmap_register(seg, CHUNK, (ta_span *)seg), 0);
    const uintptr_t top = (uintptr_t)1 << TA_SEGMAP_ADDR_BITS;
    /* Same low 48 bits as a registered address: still not ours. */
    assert_null(ta_segmap_lookup(opaque((uintptr_t)seg + top)));
    assert_null(ta_segmap_lookup(opaque((uintptr_t)seg | ((uintptr_t)1 << 63))));
    assert_null(ta_segmap_lookup(opaque(top)));
    assert_null(ta_segmap_lookup(opaque(top + 1)));
    assert_null(ta_segmap_lookup(opaque(UINTPTR_MAX)));
    assert_null(ta_segmap_lookup(opaque(top - 1)));   /* below 2^48 but unregistered */
    /* A registration reaching 2^48 is refused and records nothing. */
    void *last = opaque(top - CHUNK);
    errno = 0;
    assert_int_equal(ta_segmap_register(last, 2 * CHUNK, (ta_span *)seg), -1);
    assert_int_equal(errno, ENOMEM);
    assert_null(ta_segmap_lookup(last));
    ta_segmap_unregister(seg, CHUNK);
    ta_os_unmap(seg, CHUNK);
}

static void test_multi_chunk_registration(void **state) {
    (void)state;
    const size_t size = 3 * CHUNK + 4096;   /* a large block spilling into a fourth chunk */
    char *base = ta_os_map_aligned(4 * CHUNK, CHUNK);
    assert_non_null(base);
    ta_span *span = (ta_span *)base;
    span->kind = TA_SPAN_LARGE;
    assert_int_equal(ta_segmap_register(base, size, span), 0);
    assert_maps_to(base, size, span);
    assert_ptr_equal(ta_segmap_lookup(base + 4 * CHUNK - 1), span);   /* the spilled-into chunk */
    assert_null(ta_segmap_lookup(base + 4 * CHUNK));
    ta_segmap_unregister(base, size);
    for (size_t off = 0; off < 4 * CHUNK; off += CHUNK / 2) assert_null(ta_segmap_lookup(base + off));
    ta_os_unmap(base, 4 * CHUNK);
}

/* Adjacent mappings keep their own spans, including across a leaf boundary. The table is pure
 * bookkeeping (nothing at the addresses is read), so synthetic address ranges are fine here. */
static void test_adjacent_and_cross_leaf(void **state) {
    (void)state;
    static ta_span a = {TA_SPAN_SEGMENT}, b = {TA_SPAN_LARGE}, c = {TA_SPAN_SEGMENT};
    char *boundary = (char *)(7 * LEAF_SPAN);   /* 224 GiB: start of a leaf */
    char *pa = boundary - CHUNK, *pb = boundary, *pc = boundary + CHUNK;
    assert_int_equal(ta_segmap_register(pa, CHUNK, &a), 0);
    assert_int_equal(ta_segmap_register(pb, CHUNK, &b), 0);
    assert_int_equal(ta_segmap_register(pc, 2 * CHUNK, &c), 0);
    assert_ptr_equal(ta_segmap_lookup(pa), &a);
    assert_ptr_equal(ta_segmap_lookup(boundary - 1), &a);
    assert_ptr_equal(ta_segmap_lookup(boundary), &b);
    assert_ptr_equal(ta_segmap_lookup(pc - 1), &b);
    assert_ptr_equal(ta_segmap_lookup(pc), &c);
    assert_ptr_equal(ta_segmap_lookup(pc + 2 * CHUNK - 1), &c);
    assert_null(ta_segmap_lookup(pc + 2 * CHUNK));
    ta_segmap_unregister(pb, CHUNK);
    assert_ptr_equal(ta_segmap_lookup(boundary - 1), &a);
    assert_null(ta_segmap_lookup(boundary));
    assert_ptr_equal(ta_segmap_lookup(pc), &c);
    /* One registration spanning the boundary. */
    ta_segmap_unregister(pa, CHUNK);
    ta_segmap_unregister(pc, 2 * CHUNK);
    assert_int_equal(ta_segmap_register(pa, 3 * CHUNK, &a), 0);
    assert_maps_to(pa, 3 * CHUNK, &a);
    ta_segmap_unregister(pa, 3 * CHUNK);
    assert_null(ta_segmap_lookup(pa));
    assert_null(ta_segmap_lookup(boundary));
    assert_null(ta_segmap_lookup(pc + CHUNK));
}

/* When the leaf for a range cannot be mapped, registration fails with ENOMEM and records nothing. */
static void test_failed_leaf_records_nothing(void **state) {
    (void)state;
    static ta_span s = {TA_SPAN_SEGMENT};
    char *fresh = (char *)(11 * LEAF_SPAN);   /* a leaf no other test touches */
    char *spill = fresh - CHUNK;              /* the last chunk of the leaf before */
    ta_os_fail_after(1);
    errno = 0;
    assert_int_equal(ta_segmap_register(fresh, CHUNK, &s), -1);
    assert_int_equal(errno, ENOMEM);
    assert_null(ta_segmap_lookup(fresh));
    /* Two leaves needed, the second cannot be made: the first chunk is not recorded either. */
    assert_int_equal(ta_segmap_register(spill, CHUNK, &s), 0);   /* make spill's leaf exist */
    ta_segmap_unregister(spill, CHUNK);
    ta_os_fail_after(1);
    assert_int_equal(ta_segmap_register(spill, 2 * CHUNK, &s), -1);
    assert_null(ta_segmap_lookup(spill));
    assert_null(ta_segmap_lookup(fresh));
    ta_os_fail_after(0);
    assert_int_equal(ta_segmap_register(spill, 2 * CHUNK, &s), 0);
    assert_ptr_equal(ta_segmap_lookup(spill), &s);
    assert_ptr_equal(ta_segmap_lookup(fresh + CHUNK - 1), &s);
    ta_segmap_unregister(spill, 2 * CHUNK);
}

/* Lock-free readers see a stable registration while a writer registers and unregisters others
 * (including creating leaves). */
static ta_atomic_int stop_readers;
static char *stable;
static size_t reader_errors;

static void *reader(void *arg) {
    (void)arg;
    size_t errors = 0;
    while (!ta_atomic_load_acquire(&stop_readers)) {
        for (size_t off = 0; off < CHUNK; off += CHUNK / 8)
            if (ta_segmap_lookup(stable + off) != (ta_span *)stable) errors++;
    }
    reader_errors = errors;
    return NULL;
}

static void test_concurrent_lookup(void **state) {
    (void)state;
    static ta_span other = {TA_SPAN_LARGE};
    stable = ta_os_map_aligned(CHUNK, CHUNK);
    assert_non_null(stable);
    ((ta_span *)stable)->kind = TA_SPAN_SEGMENT;
    assert_int_equal(ta_segmap_register(stable, CHUNK, (ta_span *)stable), 0);
    ta_atomic_store_relaxed(&stop_readers, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, reader, NULL), 0);
    for (uintptr_t i = 0; i < 200; i++) {
        char *p = (char *)((13 + (i % 5)) * LEAF_SPAN + (i % 7) * CHUNK);
        assert_int_equal(ta_segmap_register(p, CHUNK, &other), 0);
        assert_ptr_equal(ta_segmap_lookup(p), &other);
        ta_segmap_unregister(p, CHUNK);
        assert_null(ta_segmap_lookup(p));
    }
    ta_atomic_store_release(&stop_readers, 1);
    pthread_join(t, NULL);
    assert_int_equal(reader_errors, 0);
    ta_segmap_unregister(stable, CHUNK);
    ta_os_unmap(stable, CHUNK);
}

int main(void) {
    ta_segmap_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_segment),
        cmocka_unit_test(test_foreign_addresses),
        cmocka_unit_test(test_high_addresses),
        cmocka_unit_test(test_multi_chunk_registration),
        cmocka_unit_test(test_adjacent_and_cross_leaf),
        cmocka_unit_test(test_failed_leaf_records_nothing),
        cmocka_unit_test(test_concurrent_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
