#!/bin/bash
# memcheck_replay_test.sh - runs each fuzz replay test binary given (tests/fuzz/*_replay_test) under
# valgrind memcheck on its corpus plus a few random inputs; memcheck must find no error (invalid
# read or write, uninitialised value, bad free, definite leak): --error-exitcode=1.
# Usage: memcheck_replay_test.sh <replay test binary>...
set -u
command -v valgrind >/dev/null || { echo "FAIL: valgrind is not installed (Debian package valgrind)"; exit 1; }
export FZ_REPLAY_RANDOM="${FZ_REPLAY_RANDOM:-15}"
fail=0
for bin in "$@"; do
    name="$(basename "$bin")"
    corpus="tests/fuzz/corpus/${name%_replay_test}"
    log="${TEST_TMPDIR:-/tmp}/$name.memcheck.log"
    # misuse_fuzzer targets the arena's structures: thread caches off, as in tests/fuzz/BUILD.
    env=()
    case "$name" in misuse_fuzzer_*) env=(TAMALLOC_CACHE=0) ;; esac
    # --trace-children=no: misuse_fuzzer's forked children end in _exit from the fault handler.
    env "${env[@]}" valgrind --tool=memcheck --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
        --child-silent-after-fork=yes "$bin" "$corpus" >"$log" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ] && grep -q "ERROR SUMMARY: 0 errors" "$log"; then
        echo "ok: $name clean under memcheck ($(grep -m1 '^replaying' "$log"))"
    else
        echo "FAIL: $name under memcheck (status $rc):"
        cat "$log"
        fail=1
    fi
done
[ "$fail" -eq 0 ] && echo "PASS" || echo "FAIL"
exit $fail
