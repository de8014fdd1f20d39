/* segmap.c - registration side of the address -> mapping table (see segmap.h). Leaves are mapped
 * on first use (zero: every entry none) and never returned (512 KiB each, one per
 * 256 GiB of address space in use; only the pages whose entries are written become resident); until
 * then a top entry points at the shared empty leaf. */
#include "alloc/segmap.h"

#include <errno.h>

#include "alloc/platform/lock.h"
#include "alloc/platform/os.h"

#define SEGMAP_LEAF_ENTRIES ((size_t)1 << TA_SEGMAP_LEAF_BITS)
#define SEGMAP_TOP_ENTRIES ((size_t)1 << TA_SEGMAP_TOP_BITS)

/* The span and the leaf are zero (.bss: no page of them is written, ever); the top level is 1024
 * pointers to the empty leaf, relocated when the library loads. */
ta_span ta_segmap_none;
ta_segmap_leaf ta_segmap_empty_leaf;
_Atomic(ta_segmap_leaf *) ta_segmap_top[SEGMAP_TOP_ENTRIES] = {[0 ... SEGMAP_TOP_ENTRIES - 1] = &ta_segmap_empty_leaf};
_Static_assert(SEGMAP_TOP_ENTRIES <= 1024, "the top level stays small: it is written at load time");
static ta_lock segmap_lock;

void ta_segmap_init(void) { ta_lock_init(&segmap_lock, TA_RANK_SEGMAP); }

/* The leaf of top_index, mapped (all entries none) when create is set; NULL when it has none. */
static ta_segmap_leaf *segmap_leaf_locked(size_t top_index, int create) TA_REQUIRES(segmap_lock) {
    ta_segmap_leaf *leaf = ta_atomic_load_relaxed(&ta_segmap_top[top_index]);
    if (leaf != &ta_segmap_empty_leaf) return leaf;
    if (!create) return NULL;
    leaf = ta_os_map_aligned(sizeof(ta_segmap_leaf), ta_os_page_size());   /* zero: every entry none */
    if (leaf) ta_atomic_store_release(&ta_segmap_top[top_index], leaf);
    return leaf;
}

static int segmap_set(void *base, size_t size, ta_span *span) {
    uintptr_t first = (uintptr_t)base >> TA_SEGMENT_SHIFT;
    uintptr_t last = ((uintptr_t)base + size - 1) >> TA_SEGMENT_SHIFT;
    if (((uintptr_t)base + size - 1) >> TA_SEGMAP_ADDR_BITS) { errno = ENOMEM; return -1; }
    uintptr_t off = span ? (uintptr_t)span - (uintptr_t)&ta_segmap_none : 0;
    ta_lock_acquire(&segmap_lock);
    for (uintptr_t c = first; c <= last; c++) {   /* make every leaf first, so failure records nothing */
        if (!segmap_leaf_locked(c >> TA_SEGMAP_LEAF_BITS, span != NULL) && span) {
            ta_lock_release(&segmap_lock);
            errno = ENOMEM;
            return -1;
        }
    }
    for (uintptr_t c = first; c <= last; c++) {
        ta_segmap_leaf *leaf = segmap_leaf_locked(c >> TA_SEGMAP_LEAF_BITS, 0);
        if (leaf) ta_atomic_store_release(&leaf->a_entry[c & (SEGMAP_LEAF_ENTRIES - 1)], off);
    }
    ta_lock_release(&segmap_lock);
    return 0;
}

int ta_segmap_register(void *base, size_t size, ta_span *span) { return segmap_set(base, size, span); }
void ta_segmap_unregister(void *base, size_t size) { (void)segmap_set(base, size, NULL); }

void ta_segmap_fork_prepare(void) { ta_lock_fork_prepare(&segmap_lock); }
void ta_segmap_fork_parent(void) { ta_lock_fork_release(&segmap_lock); }
void ta_segmap_fork_child(void) { ta_lock_fork_release(&segmap_lock); }
