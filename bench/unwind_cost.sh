#!/usr/bin/env bash
# unwind_cost.sh - runs bench/unwind_cost (without and with frame pointers) and writes the table to
# docs/bench/unwind_cost.md (or $1). The heap profiler's stack walk against libgcc's unwinder.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/bench/unwind_cost.md}
bazel build --config=opt //bench:unwind_cost //bench:unwind_cost_fp >/dev/null 2>&1
bin=bazel-out/k8-opt/bin/bench
{
    echo "# What a heap-profile sample's stack costs"
    echo
    echo "bench/unwind_cost.sh, source $(git rev-parse --short HEAD), $(date -u '+%Y-%m-%d %H:%M') UTC, load $(cut -d' ' -f1 /proc/loadavg) at start."
    echo "ta_os_backtrace (the walk by frame rules, alloc/platform/unwind.c) against libgcc's _Unwind_Backtrace,"
    echo "from a stack of depth nested calls (frames: all the frames up to _start), nanoseconds a call, best of 5 rounds"
    echo "of 20000; walked: the calls the rules served (the rest were unwound by libgcc)."
    echo
    echo "| build | depth | frames | walk ns | libgcc ns | libgcc / walk | walked |"
    echo "|---|---|---|---|---|---|---|"
    for b in unwind_cost unwind_cost_fp; do
        label="-fomit-frame-pointer"
        [ "$b" = unwind_cost_fp ] && label="-fno-omit-frame-pointer"
        "$bin/$b" 20000 | awk -v l="$label" '{
            for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
            printf "| %s | %s | %s | %s | %s | %.1f | %s of %s |\n", l, v["depth"], v["frames"], v["walk_ns"], v["libgcc_ns"], v["libgcc_ns"] / v["walk_ns"], v["walked"], v["of"]
        }'
    done
} >"$out"
cat "$out"
