#!/usr/bin/env bash
# Run all tests once per configuration: plain (gcc), then under ThreadSanitizer, AddressSanitizer
# (+ LeakSanitizer) and UndefinedBehaviorSanitizer (clang; --config=tsan/asan/ubsan in .bazelrc,
# which skip the tests tagged notsan/noasan/noubsan).
# Usage: scripts/test.sh [--configs=plain,tsan,asan,ubsan] [extra bazel options, e.g. --keep_going]
#   --configs=LIST   run only these configurations, in this order (default: all four)
#   other arguments  passed to every `bazel test` run
# Every selected run happens even after one fails; exits non-zero if a build or a test failed in
# any of them. Ends with one line per run: "test.sh: <config> passed|FAILED (exit N) in Ns".
set -uo pipefail
cd "$(dirname "$0")/.."

all_configs=(plain tsan asan ubsan)
configs=("${all_configs[@]}")
extra=()
usage() { echo "usage: $0 [--configs=plain,tsan,asan,ubsan] [bazel test options...]" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --configs=*) IFS=, read -r -a configs <<<"${1#--configs=}" ;;
        --configs) [ $# -ge 2 ] || usage; IFS=, read -r -a configs <<<"$2"; shift ;;
        -h | --help) usage ;;
        *) extra+=("$1") ;;
    esac
    shift
done
[ ${#configs[@]} -gt 0 ] || usage
for c in "${configs[@]}"; do
    case " ${all_configs[*]} " in
        *" $c "*) ;;
        *) echo "$0: unknown config '$c' (known: ${all_configs[*]})" >&2; exit 2 ;;
    esac
done

scripts/install-packages.sh || exit 1

run() {
    echo "+ bazel test $* //..." >&2
    bazel test "$@" //...
    local rc=$?
    # 4 = "no test targets found": nothing to fail, but say so.
    if [ $rc -eq 4 ]; then echo "warning: no test targets found" >&2; rc=0; fi
    return $rc
}

status=0
results=()
for c in "${configs[@]}"; do
    opts=()
    [ "$c" = plain ] || opts=(--config="$c")
    start=$SECONDS
    run "${opts[@]}" "${extra[@]}"
    rc=$?
    if [ $rc -eq 0 ]; then
        results+=("test.sh: $c passed in $((SECONDS - start))s")
    else
        results+=("test.sh: $c FAILED (exit $rc) in $((SECONDS - start))s")
        status=1
    fi
done
printf '%s\n' "${results[@]}"
exit $status
