/* bench/common.h's bench_ta_stats must be tamalloc's struct ta_stats field for field: the result
 * line's search counters are read through it from libtamalloc.so's ta_get_stats. Checked at
 * compile time; the program itself only reports. */
#include "bench/common.h"

#include <stddef.h>

#include "tamalloc.h"

#define SAME(f)                                                                                   \
    _Static_assert(offsetof(bench_ta_stats, f) == offsetof(ta_stats, f) &&                       \
                       sizeof(((bench_ta_stats *)0)->f) == sizeof(((ta_stats *)0)->f),           \
                   "bench_ta_stats." #f " is not where ta_stats." #f " is")

SAME(allocated);
SAME(free);
SAME(free_blocks);
SAME(mapped);
SAME(large_allocated);
SAME(arenas);
SAME(remote_pushed);
SAME(remote_drained);
SAME(cached);
SAME(cached_blocks);
SAME(remote_batched);
SAME(purged);
SAME(dirty);
SAME(large_cached);
SAME(searches);
SAME(search_steps);
SAME(search_max_steps);
SAME(background_rounds);
SAME(background_cpu_ns);
_Static_assert(sizeof(bench_ta_stats) == sizeof(ta_stats),
               "ta_stats has fields bench_ta_stats (bench/common.h) lacks: add them there");
_Static_assert(sizeof(bench_ta_stats_buf) >= sizeof(ta_stats), "bench_ta_stats_buf too small");

int main(void) {
    printf("ok: bench_ta_stats matches ta_stats (%zu bytes)\n", sizeof(ta_stats));
    return 0;
}
