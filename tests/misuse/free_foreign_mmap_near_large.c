/* ta_free of an address in a foreign mapping that lies inside the same 4 MiB chunk as a large
 * block (a large block maps only what it needs, so the rest of its chunk is free for others to
 * map). It is not tamalloc's memory: the report must say "invalid pointer", not "interior". */
#include <sys/mman.h>

#include "tests/misuse/misuse.h"

int main(void) {
    char *p = misuse_alloc(200 << 10);
    char *chunk = (char *)((uintptr_t)p & ~(MISUSE_SEGMENT_SIZE - 1)), *m = MAP_FAILED;
    /* the first free 64 KiB slot after the large block's mapping, inside the same chunk */
    for (char *want = chunk + (256 << 10); m == MAP_FAILED && want < chunk + MISUSE_SEGMENT_SIZE; want += 1 << 16) {
        m = mmap(want, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (m != MAP_FAILED && m != want) { munmap(m, 1 << 16); m = MAP_FAILED; }   /* an old kernel took it as a hint */
    }
    if (m == MAP_FAILED) {
        fprintf(stderr, "setup: no free slot in the chunk of %p\n", (void *)p);
        return 4;
    }
    misuse_expect(m + 256);
    ta_free(m + 256);
    return misuse_missed();
}
