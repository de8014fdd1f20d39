#!/bin/bash
# tamalloc_run_test.sh - tools/tamalloc-run: each option reaches the program as tamalloc's
# variable and tamalloc acts on it.
#   --stats        `true` prints the "tamalloc stats:" table on stderr (so the library was preloaded)
#   --stats-json   `ls /` prints a {"tamalloc":...} line that parses as JSON, with arenas >= 1
#   --arenas 3     the program's environment has TAMALLOC_ARENAS=3 and LD_PRELOAD starts with the lib
#   --heap-map F   F is a heap map (JSON with "tamalloc_heap_map") after `sort` runs
#   --trace F      F starts with the trace header TATRACE1 and holds > 100 records after awk runs
#   the library is found relative to the script when TAMALLOC_LIB is unset (runfiles layout)
#   usage errors (no --, unknown option, bad --check value, missing library) exit 2 with a message
#   the program's exit status is passed through
# Args: $1 tools/tamalloc-run, $2 libtamalloc.so.
set -euo pipefail
run=$1 lib=$2
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/tamalloc_run.XXXXXX")
unset LD_PRELOAD TAMALLOC_STATS TAMALLOC_ARENAS TAMALLOC_HEAP_MAP TAMALLOC_TRACE TAMALLOC_CHECK || true
fail() { echo "FAIL: $*"; exit 1; }

TAMALLOC_LIB=$lib "$run" --stats -- true 2>"$tmp/stats.err"
grep -q '^tamalloc stats: ' "$tmp/stats.err" || { cat "$tmp/stats.err"; fail "--stats: no tamalloc stats line"; }

TAMALLOC_LIB=$lib "$run" --stats-json -- ls / 2>"$tmp/json.err" >/dev/null
/usr/bin/python3 - "$tmp/json.err" <<'EOF' || fail "--stats-json: no parsable tamalloc JSON line"
import json, sys
lines = [l for l in open(sys.argv[1]) if l.startswith('{"tamalloc"')]
assert len(lines) == 1, lines
doc = json.loads(lines[0])
assert doc["tamalloc"]["arenas"] >= 1 and doc["tamalloc"]["mapped"] > 0, doc
EOF

# The runfiles layout (tools/ beside alloc/) is searched when TAMALLOC_LIB is unset.
env_out=$("$run" --arenas 3 -- /usr/bin/env)
grep -qx 'TAMALLOC_ARENAS=3' <<<"$env_out" || fail "--arenas 3 did not set TAMALLOC_ARENAS"
preload=$(grep '^LD_PRELOAD=' <<<"$env_out" | cut -d= -f2-)
[ "$(basename "${preload%%:*}")" = libtamalloc.so ] || fail "LD_PRELOAD is '$preload'"

seq 1 20000 | sort -R >"$tmp/in.txt"
TAMALLOC_LIB=$lib "$run" --heap-map "$tmp/map.json" -- sort "$tmp/in.txt" >"$tmp/sorted.txt"
[ "$(wc -l <"$tmp/sorted.txt")" -eq 20000 ] || fail "sort's output changed under the wrapper"
grep -q '"tamalloc_heap_map":1' "$tmp/map.json" || fail "--heap-map wrote no heap map"
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["arenas"], d' "$tmp/map.json" ||
    fail "--heap-map: the map is not valid JSON with arenas"

TAMALLOC_LIB=$lib "$run" --trace "$tmp/trace.bin" -- awk '{ a[$1] = $0 } END { n = 0; for (k in a) n++; print n }' "$tmp/in.txt" >"$tmp/awk.out"
[ "$(cat "$tmp/awk.out")" = 20000 ] || fail "awk's output changed under --trace"
[ "$(head -c 8 "$tmp/trace.bin")" = TATRACE1 ] || fail "--trace: no trace header"
bytes=$(stat -c %s "$tmp/trace.bin")
[ $(((bytes - 16) % 40)) -eq 0 ] && [ "$bytes" -gt $((16 + 40 * 100)) ] || fail "--trace: $bytes bytes is not a header and >100 records"

set +e
TAMALLOC_LIB=$lib "$run" --stats true 2>"$tmp/e1"; r1=$?
TAMALLOC_LIB=$lib "$run" --bogus -- true 2>"$tmp/e2"; r2=$?
TAMALLOC_LIB=$lib "$run" --check 7 -- true 2>"$tmp/e3"; r3=$?
TAMALLOC_LIB=/nonexistent/libtamalloc.so "$run" -- true 2>"$tmp/e4"; r4=$?
TAMALLOC_LIB=$lib "$run" -- sh -c 'exit 7'; r5=$?
set -e
[ "$r1" -eq 2 ] && grep -q 'unknown option' "$tmp/e1" || fail "a program without -- was not rejected ($r1)"
[ "$r2" -eq 2 ] && grep -q "unknown option '--bogus'" "$tmp/e2" || fail "--bogus was not rejected ($r2)"
[ "$r3" -eq 2 ] && grep -q 'takes 0, 1 or 2' "$tmp/e3" || fail "--check 7 was not rejected ($r3)"
[ "$r4" -eq 2 ] && grep -q 'no library' "$tmp/e4" || fail "a missing library was not reported ($r4)"
[ "$r5" -eq 7 ] || fail "the program's exit status 7 came back as $r5"
echo "PASS: tamalloc-run sets LD_PRELOAD and the TAMALLOC_* variables; usage errors are reported"
