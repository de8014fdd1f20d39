#!/usr/bin/env bash
# CI check of the benchmark workloads (nothing is timed): every workload runs once at a tiny size
# under the C library's malloc and under libtamalloc.so (LD_PRELOAD; for memcached, preloaded into
# the server). Each must print one well-formed result line with ok=1, and both allocators must give
# the same checksum (the checksums depend only on the arguments).
set -uo pipefail
R="${TEST_SRCDIR:?}/${TEST_WORKSPACE:-tamalloc}"
TA="$R/alloc/libtamalloc.so"
fail=0

line_re='^BENCH workload=[a-z_]+ threads=[0-9]+ ops=[1-9][0-9]* secs=[0-9.]+ ops_per_sec=[0-9]+ checksum=0x[0-9a-f]{16} ok=1 maxrss_kb=[0-9]+( [a-z_0-9]+=[^ ]+)*$'

# run ALLOC NAME ARGS... : prints the checksum of the one result line, or fails the test.
run() {
    local alloc=$1 name=$2
    shift 2
    local out rc preload=""
    [ "$alloc" = tamalloc ] && preload="$TA"
    out=$(LD_PRELOAD="$preload" BENCH_SERVER_PRELOAD="$preload" "$R/bench/$name" "$@" 2>&1)
    rc=$?
    local lines
    lines=$(grep -c '^BENCH ' <<<"$out")
    if [ $rc -ne 0 ] || [ "$lines" -ne 1 ] || ! grep -Eq "$line_re" <<<"$(grep '^BENCH ' <<<"$out")"; then
        echo "FAIL: $alloc $name $* (exit $rc, $lines result lines):" >&2
        echo "$out" >&2
        return 1
    fi
    grep '^BENCH ' <<<"$out" | sed -E 's/.* checksum=(0x[0-9a-f]+) .*/\1/'
}

# The preload must really load: the dynamic loader lists it.
# (captured first: with pipefail, grep -q quitting early could fail the pipeline through SIGPIPE)
loaded=$(LD_TRACE_LOADED_OBJECTS=1 LD_PRELOAD="$TA" "$R/bench/larson" 1 1)
if [[ "$loaded" != *libtamalloc.so* ]]; then
    echo "FAIL: $TA is not loaded by LD_PRELOAD" >&2
    fail=1
fi
if [ ! -x /usr/bin/memcached ]; then
    echo "FAIL: /usr/bin/memcached missing (Debian package memcached, scripts/packages.txt)" >&2
    fail=1
fi

cases=(
    "larson 2 1"
    "xmalloc 3 2"
    "false_sharing 2 1 active"
    "false_sharing 2 1 passive"
    "churn 2 2"
    "frag 2 2"
    "fastpath 2 20"
    "mc_bench 2 2"
)
for c in "${cases[@]}"; do
    read -r -a args <<<"$c"
    g=$(run glibc "${args[@]}") || { fail=1; continue; }
    t=$(run tamalloc "${args[@]}") || { fail=1; continue; }
    if [ "$g" != "$t" ]; then
        echo "FAIL: $c: checksum $g under glibc but $t under tamalloc" >&2
        fail=1
    else
        echo "ok: $c checksum $g"
    fi
done
exit $fail
