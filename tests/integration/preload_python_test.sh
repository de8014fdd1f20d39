#!/usr/bin/env bash
# preload_python_test.sh - Debian's python3 running python_workload.py (8 threads building and
# dropping dicts, lists, strings and bytes, handing a quarter of them to a consumer thread), with
# and without LD_PRELOAD=libtamalloc.so; the reports must be identical and show no corrupted object.
# Two allocator set-ups: Python's default (pymalloc serves objects up to 512 bytes, malloc the
# rest), and PYTHONMALLOC=malloc (every object from malloc, so objects dropped by another thread
# are remote frees). tamalloc's stats report must show it served each run.
# Args: $1 libtamalloc.so, $2 python_workload.py.
. "$(dirname "$0")/lib.sh"
ta_setup "$1"
workload=$(readlink -f "$2")
ta_require python3 python3
SEED=${TAMALLOC_TEST_SEED:-12345}

# run NAME ROUNDS MIN_OPS [VAR=VALUE...]
run() {
    local name=$1 rounds=$2 min_ops=$3
    shift 3
    env "$@" python3 "$workload" "$rounds" "$SEED" >"$TA_TMP/$name.plain.out" 2>"$TA_TMP/$name.plain.err" ||
        { cat "$TA_TMP/$name.plain.err" >&2; ta_fail "$name: python3 failed without tamalloc"; }
    ta_preload env "$@" python3 "$workload" "$rounds" "$SEED" >"$TA_TMP/$name.out" 2>"$TA_TMP/$name.err" ||
        { cat "$TA_TMP/$name.err" >&2; ta_fail "$name: python3 failed under tamalloc"; }
    ta_same "$TA_TMP/$name.plain.out" "$TA_TMP/$name.out" "$name"
    grep -q ', corrupted 0$' "$TA_TMP/$name.out" || ta_fail "$name: no clean report"
    echo "$name: $(tail -1 "$TA_TMP/$name.out")"
    ta_check_stats "$TA_TMP/$name.err" "$min_ops" 2 "$name"
}

run python-pymalloc "${PYTHON_TEST_ROUNDS:-300}" 10000
run python-malloc "${PYTHON_TEST_MALLOC_ROUNDS:-60}" 100000 PYTHONMALLOC=malloc
[ "$TA_REMOTE" -gt 0 ] || ta_fail "python-malloc: objects dropped by the consumer thread were not remote frees"
echo "PASS"
