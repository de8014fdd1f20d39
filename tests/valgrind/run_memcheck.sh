#!/bin/bash
# run_memcheck.sh - builds the unit and API tests and runs every test binary under valgrind
# memcheck; any memcheck error (invalid read or write, uninitialised value used, bad free,
# definite leak) fails it (--error-exitcode=1), as does a test failing.
#
#   tests/valgrind/run_memcheck.sh [bazel target pattern...]   (default //tests/unit/... //tests/api/...)
#
# Binaries named *_arenas1 / *_check2 (the ta_test env variants) run with TAMALLOC_ARENAS=1 /
# TAMALLOC_CHECK=2 as under bazel test. tamalloc is built without -DTA_VALGRIND here: its heap is
# mmap'd memory memcheck sees as defined, so this checks tamalloc and the tests for invalid
# accesses outside blocks, use of uninitialised values and leaks of C-library memory;
# //tests/valgrind:memcheck_track_test covers the client requests. BAZEL overrides "bazel".
set -uo pipefail
cd "$(dirname "$0")/../.."
BAZEL="${BAZEL:-bazel}"
patterns=("$@")
[ ${#patterns[@]} -eq 0 ] && patterns=(//tests/unit/... //tests/api/...)
command -v valgrind >/dev/null || { echo "run_memcheck: valgrind is not installed"; exit 1; }
$BAZEL build "${patterns[@]}" || { echo "run_memcheck: build failed"; exit 1; }
bin="$($BAZEL info bazel-bin 2>/dev/null)"
query="$(printf ' + %s' "${patterns[@]}")"
mapfile -t tests < <($BAZEL query "kind(cc_test, ${query# + })" 2>/dev/null | sed 's|^//||; s|:|/|' | LC_ALL=C sort)
[ ${#tests[@]} -gt 0 ] || { echo "run_memcheck: no cc_test found in ${patterns[*]}"; exit 1; }
logdir="$(mktemp -d /tmp/tamalloc_memcheck.XXXXXX)"
pass=0
fail=0
for t in "${tests[@]}"; do
    exe="$bin/$t"
    [ -x "$exe" ] || { echo "MISSING $t"; fail=$((fail + 1)); continue; }
    env=()
    case "$t" in
        *_arenas1) env=(TAMALLOC_ARENAS=1) ;;
        *_check2) env=(TAMALLOC_CHECK=2) ;;
        *_cache0) env=(TAMALLOC_CACHE=0) ;;
    esac
    case "$t" in *layout_test*) env+=(TAMALLOC_CACHE=0) ;; esac   # next-fit shapes: caches off (BUILD)
    case "$t" in *malloc_test*) env+=(TAMALLOC_DECAY_MS=0) ;; esac   # decay ticks unmap at once (BUILD)
    case "$t" in *large_test* | *realloc_test* | *heap_test*) env+=(TAMALLOC_MMAP_THRESHOLD=128K) ;; esac   # pinned (BUILD)
    case "$t" in *fitindex_test*) env+=(TAMALLOC_TEST_OPS=20000) ;; esac   # the differential run, shortened
    case "$t" in *prof_test*) env+=(TAMALLOC_PROF_SAMPLE=64K) ;; esac   # the profiler on (BUILD)
    args=()
    case "$t" in   # cache_limits_test.c: the case is the argument, with its environment (BUILD)
        *cache_limits_*_test) c="${t##*cache_limits_}"; args=("${c%_test}") ;;
    esac
    case "$t" in
        *cache_limits_noreuse_test) env+=(TAMALLOC_CACHE_BYTES=256K) ;;
        *cache_limits_budget_test) env+=(TAMALLOC_CACHE_BYTES=64K) ;;
        *cache_limits_scavenge_test) env+=(TAMALLOC_DECAY_MS=200) ;;   # 20 in BUILD: slower here
    esac
    log="$logdir/$(tr / _ <<<"$t").log"
    (cd "$exe.runfiles/tamalloc" 2>/dev/null || true
     env "${env[@]}" valgrind --tool=memcheck --error-exitcode=1 --leak-check=full \
         --errors-for-leak-kinds=definite --child-silent-after-fork=yes "$exe" "${args[@]}") >"$log" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ]; then
        pass=$((pass + 1))
        echo "ok   $t  ($(grep -o 'ERROR SUMMARY: [0-9]* errors' "$log" | head -1))"
    else
        fail=$((fail + 1))
        echo "FAIL $t (status $rc; log $log):"
        grep -E '==[0-9]+== (Invalid|Conditional|Use of|Mismatched|.*definitely lost|   (at|by) )' "$log" | head -30
        grep -E '\[  (FAILED|ERROR) |FAIL' "$log" | head -10
    fi
done
echo "run_memcheck: $pass clean, $fail failed (logs in $logdir)"
[ "$fail" -eq 0 ]
