#!/bin/bash
# trace_test.sh - TAMALLOC_TRACE end to end: dropin_prog (linked with the drop-in) makes a known set
# of calls from two threads with sizes 6900..7999; its trace must hold exactly those calls (per
# thread: 500 malloc, 100 calloc, 100 realloc, 50 aligned_alloc(64), 650 free), recorded by two
# distinct threads, each free after the allocation of its address (sequence order); and the
# replayer must read the same trace: its --counts equal a direct parse of the records, with no
# unmatched frees among them, and its policy table covers every policy.
# Args: $1 dropin_prog, $2 replay.
set -euo pipefail
prog=$1 replay=$2
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/trace.XXXXXX")
TAMALLOC_TRACE="$tmp/trace.bin" "$prog" trace

/usr/bin/python3 - "$tmp/trace.bin" >"$tmp/parsed.txt" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"TATRACE1", data[:8]
rec_size, version = struct.unpack_from("<II", data, 8)
assert (rec_size, version) == (40, 1), (rec_size, version)
body = data[16:]
assert len(body) % 40 == 0, len(body)
recs = sorted(struct.unpack_from("<QQQQII", body, i) for i in range(0, len(body), 40))
seqs = [r[0] for r in recs]
assert len(set(seqs)) == len(seqs), "duplicate sequence numbers"
names = {1: "malloc", 2: "free", 3: "calloc", 4: "realloc", 5: "aligned"}
raw = {n: 0 for n in names.values()}
mine = {n: 0 for n in names.values()}
live = {}      # address -> is one of the program's blocks
threads = set()
for seq, ptr, size, aux, thread, op in recs:
    raw[names[op]] += 1
    if op == 2:
        ours = live.pop(ptr, None)
        if ours:
            mine["free"] += 1
            threads.add(thread)
        continue
    if op == 4 and aux:
        old = live.pop(aux, None)
        if old and 6900 <= size <= 7999:
            mine["realloc"] += 1
            live[ptr] = True
            continue
    ours = 6900 <= size <= 7999 and (op != 5 or aux == 64)
    if ours:
        mine[names[op]] += 1
    if ptr:
        live[ptr] = ours
print(" ".join(f"{k} {raw[k]}" for k in names.values()))
print(" ".join(f"{k} {mine[k]}" for k in names.values()))
print(len(threads))
EOF
raw=$(sed -n 1p "$tmp/parsed.txt") mine=$(sed -n 2p "$tmp/parsed.txt") nthreads=$(sed -n 3p "$tmp/parsed.txt")
want="malloc 1000 free 1300 calloc 200 realloc 200 aligned 100"
[ "$mine" = "$want" ] || { echo "FAIL: the program's calls in the trace: '$mine', expected '$want'"; exit 1; }
[ "$nthreads" -eq 2 ] || { echo "FAIL: the program's frees come from $nthreads threads, expected 2"; exit 1; }

counts=$("$replay" --counts "$tmp/trace.bin")
for op in malloc free calloc realloc aligned; do
    a=$(awk -v k="$op" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' <<<"$counts")
    b=$(awk -v k="$op" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' <<<"$raw")
    [ "$a" = "$b" ] || { echo "FAIL: replay counts $op=$a, the records hold $b ($counts)"; exit 1; }
done
unmatched=$(awk '{ for (i = 1; i < NF; i++) if ($i == "unmatched") print $(i + 1) }' <<<"$counts")
[ "$unmatched" -eq 0 ] || { echo "FAIL: $unmatched frees of addresses the trace never allocated ($counts)"; exit 1; }

"$replay" --md "$tmp/table.md" "$tmp/trace.bin" >/dev/null
for p in next-fit first-fit best-fit worst-fit segregated buddy; do
    grep -q "^| $p |" "$tmp/table.md" || { echo "FAIL: no $p row in the replay table"; cat "$tmp/table.md"; exit 1; }
done
echo "PASS: trace holds the program's calls ($mine) from 2 threads; replay reads it ($counts)"
