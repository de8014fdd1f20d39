#!/bin/bash
# run_fuzzers.sh - builds the libFuzzer targets (bazel --config=fuzz: clang, -fsanitize=fuzzer,address)
# and runs each for a bounded time, starting from its corpus in tests/fuzz/corpus/<name>/.
#
#   tests/fuzz/run_fuzzers.sh [seconds per fuzzer, default 60] [fuzzer name...]
#
# Prints, per fuzzer, libFuzzer's final line ("#N DONE cov: X ft: Y corp: ...") and a summary
# line "<name>: execs=N cov=X ft=Y corpus=Z status=ok|FAILED". Exits non-zero if a fuzzer crashed,
# found a failing input (saved as a crash-*/leak-*/timeout-* file under $FUZZ_OUT), or did not
# finish. New inputs go to $FUZZ_OUT/<name>/corpus (the checked-in corpus is only read); to add
# them to the repository: <fuzzer> -merge=1 tests/fuzz/corpus/<name> $FUZZ_OUT/<name>/corpus.
# Environment: BAZEL (default "bazel"; e.g. "bazel --output_base=..."), FUZZ_OUT (default a new
# temporary directory), FUZZ_ARGS (extra libFuzzer flags, e.g. "-jobs=2" or "-max_len=8192").
set -uo pipefail
cd "$(dirname "$0")/../.."

secs="${1:-60}"
shift || true
names=("$@")
[ ${#names[@]} -eq 0 ] && names=(ops_fuzzer threads_fuzzer misuse_fuzzer)
case "$secs" in '' | *[!0-9]*) echo "usage: $0 [seconds] [fuzzer...]" >&2; exit 2 ;; esac

BAZEL="${BAZEL:-bazel}"
targets=()
for n in "${names[@]}"; do targets+=("//tests/fuzz:$n"); done
if ! $BAZEL build --config=fuzz "${targets[@]}"; then
    echo "run_fuzzers: build failed"
    exit 1
fi
bin="$($BAZEL info --config=fuzz bazel-bin 2>/dev/null)/tests/fuzz"

out="${FUZZ_OUT:-$(mktemp -d /tmp/tamalloc_fuzz.XXXXXX)}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
failed=0
for n in "${names[@]}"; do
    mkdir -p "$out/$n/corpus"
    log="$out/$n/log"
    echo "=== $n: ${secs}s"
    # -timeout: one input taking 25 s is a hang. -rss_limit_mb: the fuzzers keep < 100 MB live.
    # misuse_fuzzer's bad operations target the arena's structures: thread caches off (see BUILD).
    cache_env=()
    [ "$n" = misuse_fuzzer ] && cache_env=(env TAMALLOC_CACHE=0)
    "${cache_env[@]}" "$bin/$n" -max_total_time="$secs" -print_final_stats=1 -timeout=25 -rss_limit_mb=2048 \
        -max_len=2048 -artifact_prefix="$out/$n/" ${FUZZ_ARGS:-} \
        "$out/$n/corpus" "tests/fuzz/corpus/$n" >"$log" 2>&1
    rc=$?
    done_line="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)"
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    cov="$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$done_line")"
    ft="$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$done_line")"
    corp="$(sed -nE 's/.* corp: ([0-9]+)\/.*/\1/p' <<<"$done_line")"
    if [ "$rc" -eq 0 ] && [ -n "$done_line" ]; then
        status=ok
    else
        status=FAILED
        failed=1
        echo "--- $n exited with status $rc; the end of its log ($log):"
        tail -n 60 "$log"
        ls "$out/$n/" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' | sed "s|^|    input saved: $out/$n/|"
    fi
    [ -n "$done_line" ] && echo "$done_line"
    echo "$n: execs=${execs:-?} cov=${cov:-?} ft=${ft:-?} corpus=${corp:-?} status=$status"
done
echo "run_fuzzers: logs and new inputs in $out"
exit $failed
