#!/bin/bash
# replay_test.sh - the replayer's policies on synthetic traces with known answers.
#  holes: A(1000) B(100) C(500) D(100) E(184) F(100) H(184) allocated in one segment (blocks of
#    1024, 128, 528, 128, 208, 128, 208 bytes at offsets 0, 1024, 1152, 1680, 1808, 2016, 2144),
#    then A, C and E freed (holes at 0, 1152, 1808 between live blocks; the tail from 2352), then
#    G(184), a 208-byte block:
#      best-fit   reuses the exact hole: E's offset 1808
#      first-fit  the lowest hole that fits: A's offset 0
#      next-fit   starts at the rover, the tail left by H's split: 2352
#      next-fit-tail  the same start, but the tail is kept for last: it wraps to A's hole: 0
#      worst-fit  the largest free block, the tail: 2352
#      segregated the freed slot of E's size class (LIFO; H keeps the class's span): E's offset
#    Records are written out of sequence order: the replayer must sort them.
#  peaks: 100 malloc(102400) (102416-byte blocks, 40 per segment) then all freed:
#      list policies map 3 segments (12 MiB), buddy rounds to 128 KiB, 32 per segment: 16 MiB;
#      peak live 100 x 102400 bytes = 9.77 MiB for all.
#  odd: realloc chains, a free of an address never allocated (unmatched), an allocation at a still
#    live address (an overlap), a failed malloc; --counts reports each.
#  bad input: a file that is not a trace, an unknown policy.
# Args: $1 replay.
set -euo pipefail
replay=$1
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/replay.XXXXXX")
fail() { echo "FAIL: $*"; exit 1; }

/usr/bin/python3 - "$tmp" <<'EOF'
import random, struct, sys
d = sys.argv[1]
def write(name, recs, shuffle=False):
    recs = list(recs)
    if shuffle:
        random.Random(7).shuffle(recs)
    with open(f"{d}/{name}", "wb") as f:
        f.write(b"TATRACE1" + struct.pack("<II", 40, 1))
        for seq, op, ptr, size, aux in recs:
            f.write(struct.pack("<QQQQII", seq, ptr, size, aux, 4242, op))
M, F, C, R, A = 1, 2, 3, 4, 5
seq = iter(range(10**6))
# Addresses are arbitrary but unique: the replayer maps them to objects.
sizes = [("A", 1000), ("B", 100), ("C", 500), ("D", 100), ("E", 184), ("F", 100), ("H", 184)]
addr = {n: 0x10000 * (i + 1) for i, (n, _) in enumerate(sizes)}
recs = [(next(seq), M, addr[n], s, 0) for n, s in sizes]
recs += [(next(seq), F, addr[n], 0, 0) for n in "ACE"]
recs += [(next(seq), M, 0x900000, 184, 0)]
write("holes.bin", recs, shuffle=True)
recs = [(next(seq), M, 0x100000 + i * 0x1000, 102400, 0) for i in range(100)]
recs += [(next(seq), F, 0x100000 + i * 0x1000, 0, 0) for i in range(100)]
write("peaks.bin", recs)
recs = [(next(seq), M, 0x1000, 64, 0), (next(seq), R, 0x2000, 128, 0x1000), (next(seq), R, 0x3000, 256, 0x2000),
        (next(seq), F, 0x7777, 0, 0),           # never allocated
        (next(seq), M, 0x3000, 32, 0),          # 0x3000 still live: an overlap
        (next(seq), M, 0, 1 << 40, 0),          # failed
        (next(seq), C, 0x4000, 96, 0), (next(seq), A, 0x5000, 100, 4096),
        (next(seq), F, 0x3000, 0, 0), (next(seq), F, 0x4000, 0, 0), (next(seq), F, 0x5000, 0, 0)]
write("odd.bin", recs)
EOF

out=$("$replay" --placements "$tmp/holes.bin")
offset() { awk -v p="$1" -v o="$2" '$1 == p && $2 == o { print $4 }' <<<"$out"; }
# Objects are numbered in sequence order: A=0 ... F=5, H=6, G=7.
[ "$(offset best-fit 7)" = 1808 ] || fail "best-fit put G at $(offset best-fit 7), not E's exact hole 1808"
[ "$(offset first-fit 7)" = 0 ] || fail "first-fit put G at $(offset first-fit 7), not A's hole 0"
[ "$(offset next-fit 7)" = 2352 ] || fail "next-fit put G at $(offset next-fit 7), not the rover's tail 2352"
[ "$(offset next-fit-tail 7)" = 0 ] || fail "next-fit-tail put G at $(offset next-fit-tail 7), not A's hole 0 (the tail kept for last)"
[ "$(offset worst-fit 7)" = 2352 ] || fail "worst-fit put G at $(offset worst-fit 7), not the largest block 2352"
[ "$(offset segregated 7)" = "$(offset segregated 4)" ] || fail "segregated put G at $(offset segregated 7), not E's slot $(offset segregated 4)"
[ "$(offset segregated 7)" != "$(offset segregated 6)" ] || fail "segregated gave G and H the same slot"
for p in next-fit next-fit-tail first-fit best-fit worst-fit; do
    [ "$(offset $p 1)" = 1024 ] && [ "$(offset $p 4)" = 1808 ] || fail "$p laid out B or E unexpectedly"
done

"$replay" --md "$tmp/peaks.md" "$tmp/peaks.bin" >/dev/null
row() { awk -F'|' -v p=" $1 " '$2 == p { gsub(/ /, "", $3); gsub(/ /, "", $4); print $3, $4 }' "$tmp/peaks.md"; }
for p in next-fit next-fit-tail first-fit best-fit worst-fit; do
    [ "$(row $p)" = "12.00 9.77" ] || fail "$p: peak mapped / live '$(row $p)', expected '12.00 9.77'"
done
[ "$(row buddy)" = "16.00 9.77" ] || fail "buddy: peak mapped / live '$(row buddy)', expected '16.00 9.77'"

counts=$("$replay" --counts "$tmp/odd.bin")
want="records 11 threads 1 malloc 3 free 4 calloc 1 realloc 2 aligned 1 ops 10 objects 6 anomalies 1 unmatched 1 failed 1"
[ "$counts" = "$want" ] || fail "odd trace counts '$counts', expected '$want'"
"$replay" "$tmp/odd.bin" >/dev/null || fail "replaying the odd trace failed"

echo "not a trace" >"$tmp/bad.bin"
set +e
"$replay" "$tmp/bad.bin" 2>"$tmp/e1"; r1=$?
"$replay" --policy nearest-fit "$tmp/holes.bin" 2>"$tmp/e2"; r2=$?
set -e
[ "$r1" -eq 1 ] && grep -q 'not a tamalloc trace' "$tmp/e1" || fail "a non-trace file was accepted ($r1)"
[ "$r2" -eq 2 ] && grep -q "unknown policy" "$tmp/e2" || fail "an unknown policy was accepted ($r2)"
echo "PASS: placements (best-fit exact hole, first-fit lowest, next-fit rover, worst-fit largest), peaks and counts as expected"
