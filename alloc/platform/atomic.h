/* atomic.h - named-order wrappers over <stdatomic.h>.
 * Owns: the only spelling of memory orders in the library; the order is part of every name, so a
 * reader sees the ordering at the call site (no seq_cst defaults). Relies on C11 atomics. */
#ifndef TA_PLATFORM_ATOMIC_H
#define TA_PLATFORM_ATOMIC_H

#include <stdatomic.h>
#include <stdint.h>
#include <stddef.h>

typedef _Atomic(uint64_t)  ta_atomic_u64;
typedef _Atomic(size_t)    ta_atomic_size;
typedef _Atomic(uintptr_t) ta_atomic_uptr;
typedef _Atomic(void *)    ta_atomic_ptr;
typedef _Atomic(int)       ta_atomic_int;
typedef _Atomic(uint32_t)  ta_atomic_u32;

#define ta_atomic_load_relaxed(p)        atomic_load_explicit((p), memory_order_relaxed)
#define ta_atomic_load_acquire(p)        atomic_load_explicit((p), memory_order_acquire)
#define ta_atomic_store_relaxed(p, v)    atomic_store_explicit((p), (v), memory_order_relaxed)
#define ta_atomic_store_release(p, v)    atomic_store_explicit((p), (v), memory_order_release)
#define ta_atomic_exchange_acquire(p, v) atomic_exchange_explicit((p), (v), memory_order_acquire)
#define ta_atomic_exchange_acq_rel(p, v) atomic_exchange_explicit((p), (v), memory_order_acq_rel)
#define ta_atomic_add_relaxed(p, v)      atomic_fetch_add_explicit((p), (v), memory_order_relaxed)
#define ta_atomic_sub_relaxed(p, v)      atomic_fetch_sub_explicit((p), (v), memory_order_relaxed)
#define ta_atomic_add_acq_rel(p, v)      atomic_fetch_add_explicit((p), (v), memory_order_acq_rel)
#define ta_atomic_sub_acq_rel(p, v)      atomic_fetch_sub_explicit((p), (v), memory_order_acq_rel)
/* Compare-and-swap; on failure *expected receives the current value. */
#define ta_atomic_cas_weak_release(p, expected, desired) \
    atomic_compare_exchange_weak_explicit((p), (expected), (desired), memory_order_release, memory_order_relaxed)
#define ta_atomic_cas_strong_acq_rel(p, expected, desired) \
    atomic_compare_exchange_strong_explicit((p), (expected), (desired), memory_order_acq_rel, memory_order_acquire)
#define ta_atomic_cas_strong_acquire(p, expected, desired) \
    atomic_compare_exchange_strong_explicit((p), (expected), (desired), memory_order_acquire, memory_order_relaxed)

#endif
