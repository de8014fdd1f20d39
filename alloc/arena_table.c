/* arena_table.c - arena storage, first-use initialisation, assignment by thread id and release at
 * thread exit, and the slots of the user heaps (a second range of the same array). The table lock (rank 2) is taken only to initialise an arena and around fork. */
#include "alloc/arena_table.h"

#include "alloc/config.h"
#include "alloc/platform/tls.h"

static ta_arena table_arenas[TA_MAX_ARENAS + TA_MAX_HEAPS];
static ta_atomic_u32 table_user_hw;   /* user slots ever claimed (high-water mark) */
static unsigned table_count = 1;
/* mallopt(M_ARENA_MAX): threads assigned from then on use arenas [0, limit) only; 0 = all of them.
 * Read once per thread, at its assignment (a relaxed load: a thread created after the call is
 * ordered after it by pthread_create). */
static ta_atomic_u32 table_limit;
static ta_lock table_lock;

void ta_arena_table_thread_exit(void *arena) {
    ta_arena *a = arena;
    if (a && ta_atomic_sub_acq_rel(&a->a_threads, (size_t)1) == 1) ta_arena_drain_all(a);   /* last one out */
}

void ta_arena_table_init(unsigned count) {
    table_count = count < 1 ? 1 : count > TA_MAX_ARENAS ? TA_MAX_ARENAS : count;
    ta_lock_init(&table_lock, TA_RANK_ARENA_TABLE);
}

unsigned ta_arena_table_count(void) { return table_count; }

void ta_arena_table_set_limit(unsigned limit) { ta_atomic_store_relaxed(&table_limit, (uint32_t)limit); }

ta_arena *ta_arena_table_get(unsigned i) {
    if (i >= table_count) {
        i -= table_count;
        if (i >= ta_atomic_load_acquire(&table_user_hw)) return NULL;
        ta_arena *u = &table_arenas[TA_MAX_ARENAS + i];
        return (ta_atomic_load_acquire(&u->a_user_gen) & 1u) ? u : NULL;
    }
    ta_arena *a = &table_arenas[i];
    return ta_atomic_load_acquire(&a->a_ready) ? a : NULL;
}

unsigned ta_arena_table_count_all(void) { return table_count + ta_atomic_load_acquire(&table_user_hw); }

ta_arena *ta_arena_table_user_at(unsigned slot) { return slot < TA_MAX_HEAPS ? &table_arenas[TA_MAX_ARENAS + slot] : NULL; }

/* The lowest free slot, so a server creating and destroying a heap per request reuses a few slots.
 * A reused arena's lock is not initialised again (a walker may be waiting on it): its state is
 * reset under the lock. */
ta_arena *ta_arena_table_user_claim(uint32_t *gen) {
    ta_arena *a = NULL;
    unsigned slot = 0;
    ta_lock_acquire(&table_lock);
    for (; slot < TA_MAX_HEAPS; slot++)
        if (!table_arenas[TA_MAX_ARENAS + slot].user_busy) { a = &table_arenas[TA_MAX_ARENAS + slot]; break; }
    if (a) a->user_busy = 1;
    ta_lock_release(&table_lock);
    if (!a) return NULL;
    if (!ta_atomic_load_acquire(&a->a_ready)) {
        ta_arena_init(a, table_count + slot);   /* first use: the lock too */
    } else {
        ta_arena_lock(a);
        ta_fl_init(&a->fl, a->fl.level);
        ta_arena_unlock(a);
    }
    a->user = slot + 1;
    *gen = ta_atomic_load_relaxed(&a->a_user_gen) + 1;
    ta_atomic_store_release(&a->a_user_gen, *gen);   /* odd: alive, visible to the walkers */
    ta_lock_acquire(&table_lock);
    if (slot + 1 > ta_atomic_load_relaxed(&table_user_hw)) ta_atomic_store_release(&table_user_hw, slot + 1);
    ta_lock_release(&table_lock);
    return a;
}

void ta_arena_table_user_release(ta_arena *a) {
    ta_lock_acquire(&table_lock);
    a->user_busy = 0;
    ta_lock_release(&table_lock);
}

static ta_arena *table_ready(unsigned i) {
    ta_arena *a = &table_arenas[i];
    if (TA_UNLIKELY(!ta_atomic_load_acquire(&a->a_ready))) {
        ta_lock_acquire(&table_lock);
        if (!ta_atomic_load_relaxed(&a->a_ready)) ta_arena_init(a, i);
        ta_lock_release(&table_lock);
    }
    return a;
}

static unsigned table_hash(uint64_t x) {
    x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33;
    return (unsigned)x;
}

ta_arena *ta_arena_table_assign(void) {
    unsigned limit = ta_atomic_load_relaxed(&table_limit);
    unsigned n = limit != 0 && limit < table_count ? limit : table_count, start = table_hash(ta_thread_id()) % n;
    ta_arena *a = NULL;
    if (ta_tls_exited()) {
        /* A destructor allocating after our exit hook ran: use an arena without holding it. */
        a = table_ready(start);
        ta_tls_set_arena(a);
        return a;
    }
    /* Prefer an arena no live thread holds, lowest index first: a new thread takes over the warm
     * heap an exited one left (its free memory and its blocks still live elsewhere), instead of
     * spreading a churning program's memory over every arena. */
    for (unsigned k = 0; k < n && !a; k++) {
        ta_arena *c = &table_arenas[k];
        size_t zero = 0;
        if (ta_atomic_load_relaxed(&c->a_threads) == 0 && atomic_compare_exchange_strong(&c->a_threads, &zero, (size_t)1))
            a = table_ready(k);
    }
    if (!a) {
        a = table_ready(start);
        ta_atomic_add_acq_rel(&a->a_threads, (size_t)1);
    }
    ta_tls_set_arena(a);
    if (ta_tls_register_exit() != 0) { /* no exit hook: the arena stays held, which is only a lost preference */ }
    return a;
}

/* Fork: the table lock, then every initialised arena in ascending order (ranks 2 then 3). TSan
 * allows 64 mutexes held by one thread; only initialised arenas are locked, and tests that fork
 * under TSan stay well below that. */
void ta_arena_table_fork_prepare(void) {
    ta_lock_fork_prepare(&table_lock);
    for (unsigned i = 0; i < table_count; i++)
        if (ta_atomic_load_acquire(&table_arenas[i].a_ready)) ta_arena_fork_prepare(&table_arenas[i]);
    for (unsigned i = TA_MAX_ARENAS; i < TA_MAX_ARENAS + ta_atomic_load_relaxed(&table_user_hw); i++)
        if (ta_atomic_load_acquire(&table_arenas[i].a_ready)) ta_arena_fork_prepare(&table_arenas[i]);
}

void ta_arena_table_fork_parent(void) {
    for (unsigned i = TA_MAX_ARENAS + ta_atomic_load_relaxed(&table_user_hw); i-- > TA_MAX_ARENAS;)
        if (ta_atomic_load_acquire(&table_arenas[i].a_ready)) ta_arena_fork_parent(&table_arenas[i]);
    for (unsigned i = table_count; i-- > 0;)
        if (ta_atomic_load_acquire(&table_arenas[i].a_ready)) ta_arena_fork_parent(&table_arenas[i]);
    ta_lock_fork_release(&table_lock);
}

void ta_arena_table_fork_child(void) {
    for (unsigned i = TA_MAX_ARENAS + ta_atomic_load_relaxed(&table_user_hw); i-- > TA_MAX_ARENAS;)
        if (ta_atomic_load_acquire(&table_arenas[i].a_ready)) ta_arena_fork_child(&table_arenas[i]);
    for (unsigned i = table_count; i-- > 0;)
        if (ta_atomic_load_acquire(&table_arenas[i].a_ready)) ta_arena_fork_child(&table_arenas[i]);
    ta_lock_fork_release(&table_lock);
    ta_arena *mine = ta_tls_arena();
    if (mine && !ta_tls_exited()) ta_atomic_store_relaxed(&mine->a_threads, (size_t)1);
}
