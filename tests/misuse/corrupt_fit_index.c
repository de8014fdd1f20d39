/* A wild write over a segment header's fit index (fitindex.h): the segment's tree now says nothing
 * fits in it, and its treap node claims a huge block below it through a link that leads nowhere.
 * The next allocation that consults the index must report the link, not follow it. (The index lives
 * in the segment header, which no write through a user pointer of a block reaches; this case writes
 * there directly, as a stray pointer would.) Needs the segment layout: it includes alloc/segment.h. */
#include <stdint.h>

#include "alloc/segment.h"
#include "tests/misuse/misuse.h"

int main(void) {
    char *a = misuse_alloc(3000);   /* past the thread cache's sizes: the arena's next-fit serves it */
    ta_segment *s = (ta_segment *)((uintptr_t)a & ~(MISUSE_SEGMENT_SIZE - 1));
    s->fit.node[1] = 0;
    s->ix_sub = 0xffffffffu;
    s->ix_left = s->ix_right = (ta_segment *)(uintptr_t)0x0000414141400000ULL;   /* 4 MiB-aligned, not ours */
    misuse_expect(s);
    void *x = misuse_alloc(5000);
    (void)x;
    return misuse_missed();
}
