#!/usr/bin/env bash
# Run all tests twice: plain (gcc) and under ThreadSanitizer (clang).
# Usage: scripts/test.sh [extra bazel options, e.g. --keep_going]
# Exits non-zero if a build or a test fails in either run.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-packages.sh || exit 1

run() {
    echo "+ bazel test $*" >&2
    bazel test "$@" //...
    local rc=$?
    # 4 = "no test targets found": nothing to fail, but say so.
    if [ $rc -eq 4 ]; then echo "warning: no test targets found" >&2; rc=0; fi
    return $rc
}

status=0
run "$@" || status=1
run --config=tsan "$@" || status=1
exit $status
