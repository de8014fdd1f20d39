#!/usr/bin/env bash
# CI check of the benchmark workloads (nothing is timed): every workload runs once at a tiny size
# under the C library's malloc and under libtamalloc.so (LD_PRELOAD; for memcached, preloaded into
# the server). Each must print one well-formed result line with ok=1, and both allocators must give
# the same checksum (the checksums depend only on the arguments). Every line must carry the
# process's getrusage right after maxrss_kb (utime_s=U stime_s=S: seconds with 6 decimals;
# minflt=N > 0, majflt=N), and mc_bench's its server's as well (server_utime_s, server_stime_s,
# server_minflt > 0, server_majflt: from wait4). The runs have the end-of-run probe
# on (BENCH_END_RSS_MS, bench/common.h; with no sleep here, as only the fields are checked): every
# workload but mc_bench must report end_rss_kb > 0 and, both allocators having a malloc_trim of
# their own, trim_rss_kb > 0; mc_bench, whose server keeps its items, reports neither. Under
# libtamalloc.so the line also carries tamalloc's search counters (searches=, search_steps=,
# search_max_steps=, read through dlsym: bench/common.h), and frag and grow, which sample the heap
# at their phase ends, free_blocks_peak=; under glibc none of them. (mc_bench's client is
# preloaded here too, so it reports its own searches; bench/run.py preloads only its server.)
# idle runs with BENCH_IDLE_MS=300 (a 300 ms idle time instead of 3 s) and must also report its
# resident sizes (base_rss_kb, peak_rss_kb, freed_rss_kb, idle_rss_kb > 0, rss_ms), idle_ms=300,
# idle_tasks > 0, bad=0 and its mode: light=0 with BENCH_IDLE_LIGHT unset, light=1 and
# light_pairs > 0 in the case that sets BENCH_IDLE_LIGHT=1 (light traffic while idle). A case may
# start with VAR=VALUE words, given to the workload's environment; the checksum depends only on the
# workload and its arguments, so it must also agree with the same case's without them.
set -uo pipefail
R="${TEST_SRCDIR:?}/${TEST_WORKSPACE:-tamalloc}"
TA="$R/alloc/libtamalloc.so"
fail=0

usage_re='utime_s=[0-9]+\.[0-9]{6} stime_s=[0-9]+\.[0-9]{6} minflt=[1-9][0-9]* majflt=[0-9]+'
line_re='^BENCH workload=[a-z_]+ threads=[0-9]+ ops=[1-9][0-9]* secs=[0-9.]+ ops_per_sec=[0-9]+ checksum=0x[0-9a-f]{16} ok=1 maxrss_kb=[0-9]+ '"$usage_re"'( [a-z_0-9]+=[^ ]+)*$'
server_re=' server_utime_s=[0-9]+\.[0-9]{6} server_stime_s=[0-9]+\.[0-9]{6} server_minflt=[1-9][0-9]* server_majflt=[0-9]+( |$)'
end_re=' end_rss_kb=[1-9][0-9]* trim_rss_kb=[1-9][0-9]*( |$)'
ta_re=' searches=[1-9][0-9]* search_steps=[1-9][0-9]* search_max_steps=[1-9][0-9]*( |$)'
peak_re=' free_blocks_peak=[1-9][0-9]*( |$)'
idle_re=' base_rss_kb=[1-9][0-9]* peak_rss_kb=[1-9][0-9]* freed_rss_kb=[1-9][0-9]* idle_rss_kb=[1-9][0-9]* rss_ms=(-1|[0-9]+) idle_ms=300 idle_tasks=[1-9][0-9]* bad=0 light=[01]( |$)'
light_re=' light=1 light_pairs=[1-9][0-9]*( |$)'

# run ALLOC [VAR=VALUE...] NAME ARGS... : prints the checksum of the one result line, or fails
# the test.
run() {
    local alloc=$1 envs=()
    shift
    while [[ "$1" == *=* ]]; do
        envs+=("$1")
        shift
    done
    local name=$1
    shift
    local out rc preload="" light=0 what="$alloc${envs[*]:+ ${envs[*]}} $name $*"
    [ "$alloc" = tamalloc ] && preload="$TA"
    [[ " ${envs[*]} " == *" BENCH_IDLE_LIGHT=1 "* ]] && light=1
    out=$(env -u BENCH_IDLE_LIGHT LD_PRELOAD="$preload" BENCH_SERVER_PRELOAD="$preload" \
        BENCH_END_RSS_MS=0 BENCH_IDLE_MS=300 "${envs[@]}" "$R/bench/$name" "$@" 2>&1)
    rc=$?
    local lines line
    lines=$(grep -c '^BENCH ' <<<"$out")
    line=$(grep '^BENCH ' <<<"$out")
    if [ $rc -ne 0 ] || [ "$lines" -ne 1 ] || ! grep -Eq "$line_re" <<<"$line"; then
        echo "FAIL: $alloc $name $* (exit $rc, $lines result lines):" >&2
        echo "$out" >&2
        return 1
    fi
    if [ "$name" = mc_bench ]; then
        if ! grep -Eq "$server_re" <<<"$line"; then
            echo "FAIL: $alloc $name $*: want the server's usage (server_utime_s," \
                "server_stime_s, server_minflt > 0, server_majflt):" >&2
            echo "$line" >&2
            return 1
        fi
        if [[ "$line" == *" end_rss_kb="* || "$line" == *" trim_rss_kb="* ]]; then
            echo "FAIL: $alloc $name $*: end_rss_kb reported, but the server never frees:" >&2
            echo "$line" >&2
            return 1
        fi
    elif ! grep -Eq "$end_re" <<<"$line"; then
        echo "FAIL: $alloc $name $*: no end_rss_kb > 0 and trim_rss_kb > 0 with" \
            "BENCH_END_RSS_MS set:" >&2
        echo "$line" >&2
        return 1
    fi
    if [ "$name" = idle ] && ! grep -Eq "$idle_re" <<<"$line"; then
        echo "FAIL: $what: want base_rss_kb, peak_rss_kb, freed_rss_kb," \
            "idle_rss_kb, rss_ms, idle_ms=300, idle_tasks, bad=0 and light=:" >&2
        echo "$line" >&2
        return 1
    fi
    if [ "$name" = idle ]; then
        local has_light=0
        grep -Eq "$light_re" <<<"$line" && has_light=1
        if [ $has_light -ne $light ] || { [ $light -eq 0 ] && [[ "$line" != *" light=0"* ||
            "$line" == *light_pairs=* ]]; }; then
            local want="light=0 and no light_pairs="
            [ $light -eq 1 ] && want="light=1 and light_pairs > 0"
            echo "FAIL: $what: want $want:" >&2
            echo "$line" >&2
            return 1
        fi
    fi
    local want_ta=0 want_peak=0
    if [ "$alloc" = tamalloc ]; then
        want_ta=1
        [[ "$name" == frag || "$name" == grow ]] && want_peak=1
    fi
    local has_ta=0 has_peak=0
    grep -Eq "$ta_re" <<<"$line" && has_ta=1
    grep -Eq "$peak_re" <<<"$line" && has_peak=1
    if [ $has_ta -ne $want_ta ] || [ $has_peak -ne $want_peak ] ||
        { [ $want_ta -eq 0 ] && [[ "$line" == *search* ]]; }; then
        local no_ta="" no_peak=""
        [ $want_ta -eq 1 ] || no_ta="no "
        [ $want_peak -eq 1 ] || no_peak="no "
        echo "FAIL: $alloc $name $*: want ${no_ta}search fields (searches=...) and" \
            "${no_peak}free_blocks_peak=:" >&2
        echo "$line" >&2
        return 1
    fi
    sed -E 's/.* checksum=(0x[0-9a-f]+) .*/\1/' <<<"$line"
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

# Without BENCH_END_RSS_MS (the runner's timed runs) the probe is off: no end fields.
line=$(env -u BENCH_END_RSS_MS "$R/bench/fastpath" 1 1 | grep '^BENCH ')
if [[ -z "$line" || "$line" == *end_rss_kb=* || "$line" == *trim_rss_kb=* ]]; then
    echo "FAIL: fastpath 1 1 without BENCH_END_RSS_MS: want a result line with no end fields:" >&2
    echo "$line" >&2
    fail=1
fi

cases=(
    "larson 2 1"
    "xmalloc 3 2"
    "false_sharing 2 1 active"
    "false_sharing 2 1 passive"
    "churn 2 2"
    "frag 2 2"
    "grow 2 2"
    "reuse 2 4"
    "batch 2 20"
    "fastpath 2 20"
    "mc_bench 2 2"
    "idle 1 1"
    "idle 2 2"
    "BENCH_IDLE_LIGHT=1 idle 1 1"
)
declare -A sums # a case without its VAR=VALUE words -> its checksum
for c in "${cases[@]}"; do
    read -r -a args <<<"$c"
    g=$(run glibc "${args[@]}") || { fail=1; continue; }
    t=$(run tamalloc "${args[@]}") || { fail=1; continue; }
    bare=$(sed -E 's/^([A-Za-z_][A-Za-z_0-9]*=[^ ]* )*//' <<<"$c")
    if [ "$g" != "$t" ]; then
        echo "FAIL: $c: checksum $g under glibc but $t under tamalloc" >&2
        fail=1
    elif [ -n "${sums[$bare]:-}" ] && [ "${sums[$bare]}" != "$g" ]; then
        echo "FAIL: $c: checksum $g, but ${sums[$bare]} without its environment" >&2
        fail=1
    else
        sums[$bare]=$g
        echo "ok: $c checksum $g"
    fi
done
exit $fail
