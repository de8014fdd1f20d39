#!/bin/bash
# heapmap_signal_test.sh - TAMALLOC_HEAP_MAP with the drop-in: after SIGUSR2 the signal handler
# writes nothing itself, the next calloc writes the map, cached malloc/free pairs write it within
# 257 pairs (dropin_prog signal checks all three), and the map is written again at exit. An unwritable path is reported on stderr, not fatal.
# Args: $1 dropin_prog.
set -euo pipefail
prog=$1
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/hmsig.XXXXXX")
TAMALLOC_HEAP_MAP="$tmp/map.json" "$prog" signal "$tmp/map.json"
[ -s "$tmp/map.json" ] || { echo "FAIL: no heap map written at exit"; exit 1; }
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["tamalloc_heap_map"] == 1 and d["arenas"]' \
    "$tmp/map.json" || { echo "FAIL: the at-exit map is not a valid heap map"; exit 1; }
TAMALLOC_HEAP_MAP="$tmp/no/such/dir/map.json" "$prog" trace 2>"$tmp/err"
grep -q 'cannot open TAMALLOC_HEAP_MAP' "$tmp/err" || { echo "FAIL: an unwritable map path was not reported"; exit 1; }
echo "PASS: SIGUSR2 map written by the next calloc and within 257 cached malloc/free pairs, not by the handler; at-exit map written"
