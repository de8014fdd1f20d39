/* fitindex.c - the treap of an arena's segments and the index search over it (see fitindex.h for
 * the equations). Caller holds the arena's lock. */
#include "alloc/fitindex.h"

#include "alloc/fault.h"
#include "alloc/segmap.h"

/* ---------------------------------------------------------------------------------------------
 * Treap nodes: summaries, priorities, rotations.
 * ------------------------------------------------------------------------------------------- */

static TA_ALWAYS_INLINE uint32_t fix_own(const ta_segment *s) { return s->fit.node[1]; }
static TA_ALWAYS_INLINE uint32_t fix_sub(const ta_segment *s) { return s ? s->ix_sub : 0; }

/* A priority from the segment's address (segments are 4 MiB-aligned: the bits above that, mixed). */
static uint32_t fix_prio(const ta_segment *s) {
    uint64_t x = (uint64_t)((uintptr_t)s >> TA_SEGMENT_SHIFT) * 0x9e3779b97f4a7c15ULL;
    return (uint32_t)(x >> 32);
}

static TA_ALWAYS_INLINE void fix_pull(ta_segment *s) {
    uint32_t m = fix_own(s), l = fix_sub(s->ix_left), r = fix_sub(s->ix_right);
    if (l > m) m = l;
    if (r > m) m = r;
    s->ix_sub = m;
}

/* Rotates x above its parent p, keeping in-order and every summary. */
static void fix_rotate_up(ta_fitindex *ix, ta_segment *x) {
    ta_segment *p = x->ix_parent, *g = p->ix_parent;
    if (p->ix_left == x) {
        p->ix_left = x->ix_right;
        if (x->ix_right) x->ix_right->ix_parent = p;
        x->ix_right = p;
    } else {
        p->ix_right = x->ix_left;
        if (x->ix_left) x->ix_left->ix_parent = p;
        x->ix_left = p;
    }
    p->ix_parent = x;
    x->ix_parent = g;
    if (!g) ix->root = x;
    else if (g->ix_left == p) g->ix_left = x;
    else g->ix_right = x;
    fix_pull(p);
    fix_pull(x);
}

void ta_fix_update(ta_segment *s) {
    for (ta_segment *n = s; n; n = n->ix_parent) {
        uint32_t before = n->ix_sub;
        fix_pull(n);
        if (n->ix_sub == before) break;
    }
}

void ta_fix_insert(ta_fitindex *ix, ta_segment *s) {
    s->ix_left = s->ix_right = s->ix_parent = NULL;
    s->ix_prio = fix_prio(s);
    s->ix_sub = fix_own(s);
    ta_segment **at = &ix->root, *parent = NULL;
    while (*at) {
        parent = *at;
        at = s < parent ? &parent->ix_left : &parent->ix_right;
    }
    *at = s;
    s->ix_parent = parent;
    for (ta_segment *n = parent; n; n = n->ix_parent) fix_pull(n);
    while (s->ix_parent && s->ix_prio > s->ix_parent->ix_prio) fix_rotate_up(ix, s);
}

void ta_fix_remove(ta_fitindex *ix, ta_segment *s) {
    /* rotate s down (its higher-priority child up) until it has at most one child */
    while (s->ix_left && s->ix_right)
        fix_rotate_up(ix, s->ix_left->ix_prio > s->ix_right->ix_prio ? s->ix_left : s->ix_right);
    ta_segment *child = s->ix_left ? s->ix_left : s->ix_right, *parent = s->ix_parent;
    if (child) child->ix_parent = parent;
    if (!parent) ix->root = child;
    else if (parent->ix_left == s) parent->ix_left = child;
    else parent->ix_right = child;
    for (ta_segment *n = parent; n; n = n->ix_parent) fix_pull(n);
    s->ix_left = s->ix_right = s->ix_parent = NULL;
    s->ix_sub = 0;
}

/* ---------------------------------------------------------------------------------------------
 * Search.
 * ------------------------------------------------------------------------------------------- */

static TA_NOINLINE TA_COLD void fix_corrupt(const void *where, const char *what) {
    ta_fault(TA_FAULT_CORRUPT_LINK, where, what);
}

/* A treap link about to be followed must be a segment of the same arena (its header is ours and
 * registered): a corrupted link is reported, not followed. */
static TA_ALWAYS_INLINE ta_segment *fix_child(const ta_segment *from, ta_segment *to) {
    if (to && TA_UNLIKELY(((uintptr_t)to & TA_SEGMENT_MASK) || ta_segmap_lookup(to) != &to->span || to->arena != from->arena))
        fix_corrupt(from, "free-block index: segment link");
    return to;
}

/* The lowest-addressed segment in n's subtree that lies above `after` (NULL: any) and whose own
 * largest free block holds need granules. Recursion follows the search path for `after` plus one
 * descent into a subtree wholly above it, pruning every subtree whose summary is too small. */
static ta_segment *fix_first(ta_segment *n, const ta_segment *after, uint32_t need, size_t *steps) {
    while (n) {
        (*steps)++;
        if (n->ix_sub < need) return NULL;
        if (after && n <= after) { n = fix_child(n, n->ix_right); continue; }
        ta_segment *r = fix_first(fix_child(n, n->ix_left), after, need, steps);
        if (r) return r;
        if (fix_own(n) >= need) return n;
        n = fix_child(n, n->ix_right);
    }
    return NULL;
}

ta_block *ta_fix_find(ta_fitindex *ix, ta_segment *s, uint32_t g, size_t need, size_t *steps) {
    uint32_t ng = ta_fittree_clamp((uint32_t)(need / TA_ALIGN));
    int64_t r;
    if (s) {
        r = ta_fittree_find(&s->fit, &s->free_starts, (const char *)s, g, ng, steps);
        if (r >= 0) return ta_segment_block_at(s, r);
        if (TA_UNLIKELY(r == TA_FIT_CORRUPT)) fix_corrupt(s, "free-block index: a summary promised a block");
    }
    if (ix->root && TA_UNLIKELY(ta_segmap_lookup(ix->root) != &ix->root->span))
        fix_corrupt(ix->root, "free-block index: root");
    ta_segment *t = fix_first(ix->root, s, ng, steps);
    if (!t) return NULL;
    r = ta_fittree_find(&t->fit, &t->free_starts, (const char *)t, 0, ng, steps);
    if (TA_UNLIKELY(r < 0)) fix_corrupt(t, "free-block index: a summary promised a block");
    return ta_segment_block_at(t, r);
}

/* ---------------------------------------------------------------------------------------------
 * Verification (ta_check).
 * ------------------------------------------------------------------------------------------- */

static int fix_verify_tree(ta_segment *s) {
    const ta_fittree *t = &s->fit;
    for (uint32_t w = 0; w < TA_FIT_LEAVES; w++)
        if (t->node[TA_FIT_LEAVES + w] != ta_fittree_leaf_value(&s->free_starts, (const char *)s, w)) return 1;
    for (uint32_t i = TA_FIT_LEAVES - 1; i >= 1; i--) {
        uint32_t l = t->node[2 * i], r = t->node[2 * i + 1];
        if (t->node[i] != (l > r ? l : r)) return 1;
    }
    return 0;
}

/* In-order walk of n's subtree against the segment list: *expect is the next segment in address
 * order. Every node must be that list segment, so no link outside the arena is ever followed. */
static int fix_verify_node(ta_segment *n, ta_segment *parent, ta_segment **expect, size_t *budget) {
    if (!n) return 0;
    if (*budget == 0) return 1;   /* more nodes than segments: a cycle */
    (*budget)--;
    /* n must be one of the list's segments before we read it: it is the list's next one, or a
     * segment yet to come (checked when the in-order walk reaches it). */
    if (ta_segmap_lookup(n) != &n->span || n->span.kind != TA_SPAN_SEGMENT || n->ix_parent != parent) return 1;
    if (parent && n->ix_prio > parent->ix_prio) return 1;
    if (n->ix_prio != fix_prio(n)) return 1;
    uint32_t m = fix_own(n);
    if (n->ix_left) {
        if (fix_verify_node(n->ix_left, n, expect, budget)) return 1;
        if (n->ix_left->ix_sub > m) m = n->ix_left->ix_sub;
    }
    if (*expect != n) return 1;
    *expect = n->next;
    if (n->ix_right) {
        if (fix_verify_node(n->ix_right, n, expect, budget)) return 1;
        if (n->ix_right->ix_sub > m) m = n->ix_right->ix_sub;
    }
    return n->ix_sub != m;
}

int ta_fix_verify(const ta_fitindex *ix, ta_segment *head, size_t n) {
    for (ta_segment *s = head; s; s = s->next)
        if (fix_verify_tree(s)) return 1;
    ta_segment *expect = head;
    size_t budget = n;
    if (fix_verify_node(ix->root, NULL, &expect, &budget)) return 1;
    return expect != NULL;
}
