#!/usr/bin/env bash
# heap_destroy.sh - runs bench/heap_destroy for tamalloc and mimalloc (each in a process of its own)
# and writes the table to docs/bench/heap_destroy.md (or $1): ta_heap_destroy against freeing block
# by block, as the heap grows, and mimalloc's mi_heap_destroy beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/bench/heap_destroy.md}
max=${HEAP_DESTROY_MAX:-4194304}
bazel build --config=opt //bench:heap_destroy >/dev/null 2>&1
bin=bazel-out/k8-opt/bin/bench/heap_destroy
{
    echo "# What dropping a first-class heap costs as it grows"
    echo
    echo "bench/heap_destroy.sh, source $(git rev-parse --short HEAD), $(date -u '+%Y-%m-%d %H:%M') UTC, load $(cut -d' ' -f1 /proc/loadavg) at start."
    echo "N blocks of 16-64 bytes (each written once) from one heap, then freed one by one (free ms) or dropped"
    echo "with one destroy (destroy ms); best of 3 rounds. Kept: resident KiB after the last destroy over the"
    echo "process's at the start (each allocator in a process of its own). mimalloc: libmimalloc.so.2's mi_heap_*."
    echo
    echo "| allocator | blocks | segments | free ms | destroy ms | free / destroy | kept KiB |"
    echo "|---|---|---|---|---|---|---|"
    for a in tamalloc mimalloc; do
        "$bin" "$max" "$a" | awk '{
            for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
            printf "| %s | %s | %s | %s | %s | %s | %s |\n", v["allocator"], v["blocks"], v["segments"], v["free_ms"], v["destroy_ms"], v["free_over_destroy"], v["resident_kept_kib"]
        }'
    done
} >"$out"
cat "$out"
