#!/usr/bin/env bash
# prof_pprof_test.sh - the heap profile of prof_sites_prog under LD_PRELOAD=libtamalloc.so, read by
# Debian's google-pprof (package google-perftools): --text --inuse_space names site_big and
# site_small with their shares of the live heap (100:10 MiB, so 90.9% and 9.1%) within 10 points,
# and main as their caller (the program has no frame pointers: the stacks come from the unwind
# tables); --alloc_space adds site_churn's 50 MiB; --base of the profile taken after site_big leaves
# site_small alone; --svg (graphviz) draws the call graph. A profile path that cannot be written is
# reported on stderr and the program still exits 0.
# Args: $1 libtamalloc.so, $2 prof_sites_prog.
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
lib=$(readlink -f "$1")
prog=$(readlink -f "$2")
command -v google-pprof >/dev/null || fail "google-pprof is not installed (Debian package google-perftools)"
command -v dot >/dev/null || fail "dot is not installed (Debian package graphviz)"
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/prof.XXXXXX")
unset LD_PRELOAD $(compgen -e | grep '^TAMALLOC_') || true

LD_PRELOAD=$lib TAMALLOC_PROF="$tmp/exit.%p.heap" "$prog" "$tmp/mid.heap" >"$tmp/out" 2>"$tmp/err" ||
    { cat "$tmp/err" >&2; fail "prof_sites_prog failed under tamalloc"; }
exitprof=$(ls "$tmp"/exit.*.heap 2>/dev/null | head -1)
[ -n "$exitprof" ] || fail "no profile written at exit (TAMALLOC_PROF with %p)"
head -1 "$exitprof" | grep -qE '^heap profile: [0-9]+: [0-9]+ \[[0-9]+: [0-9]+\] @ heap_v2/524288$' ||
    fail "bad header: $(head -1 "$exitprof")"
grep -q '^MAPPED_LIBRARIES:$' "$exitprof" || fail "no MAPPED_LIBRARIES section"

# "flat flat% sum% cum cum% name" lines: the flat share of a function, and its cumulative share.
share() { awk -v f="$2" '$6 == f || index($6, f ".") == 1 { sub("%", "", $2); print $2; exit }' "$1"; }
cum() { awk -v f="$2" '$6 == f || index($6, f ".") == 1 { sub("%", "", $5); print $5; exit }' "$1"; }
near() { awk -v a="$1" -v b="$2" -v d="$3" 'BEGIN { exit !(a != "" && a - b <= d && b - a <= d) }'; }

google-pprof --text --inuse_space "$prog" "$exitprof" >"$tmp/inuse.txt" 2>"$tmp/pprof.err" ||
    { cat "$tmp/pprof.err" >&2; fail "google-pprof --text failed"; }
cat "$tmp/inuse.txt"
big=$(share "$tmp/inuse.txt" site_big); small=$(share "$tmp/inuse.txt" site_small)
near "$big" 90.9 10 || fail "site_big holds ${big:-no}% of the live heap, expected 90.9 +- 10"
near "$small" 9.1 10 || fail "site_small holds ${small:-no}% of the live heap, expected 9.1 +- 10"
[ -z "$(share "$tmp/inuse.txt" site_churn)" ] || fail "site_churn freed everything but shows in use"
near "$(cum "$tmp/inuse.txt" main)" 100 1 || fail "main is not the caller of the live heap (no unwinding past the sites?)"
total=$(awk '/^Total:/ { print $2; exit }' "$tmp/inuse.txt")
near "$total" 110 25 || fail "in-use total ${total:-none} MB, expected about 110 (scaled back from samples)"

google-pprof --text --alloc_space "$prog" "$exitprof" >"$tmp/alloc.txt" 2>/dev/null || fail "google-pprof --alloc_space failed"
churn=$(share "$tmp/alloc.txt" site_churn)
near "$churn" 31.25 10 || fail "site_churn made ${churn:-no}% of the allocated bytes, expected 31.25 +- 10 (50 of 160 MiB)"

[ -s "$tmp/mid.heap" ] || fail "ta_prof_dump wrote no profile"
google-pprof --text --inuse_space --base="$tmp/mid.heap" "$prog" "$exitprof" >"$tmp/base.txt" 2>/dev/null || fail "google-pprof --base failed"
near "$(share "$tmp/base.txt" site_small)" 100 10 || { cat "$tmp/base.txt"; fail "--base: site_small is not what grew after the first dump"; }

google-pprof --svg --inuse_space "$prog" "$exitprof" >"$tmp/graph.svg" 2>/dev/null || fail "google-pprof --svg failed"
grep -q '<svg' "$tmp/graph.svg" && grep -q 'site_big' "$tmp/graph.svg" || fail "--svg: no call graph naming site_big"

# A profile that cannot be written: said on stderr, the program unharmed.
LD_PRELOAD=$lib TAMALLOC_PROF=/nonexistent-dir-of-tamalloc/p.heap "$prog" >"$tmp/out2" 2>"$tmp/err2" ||
    { cat "$tmp/err2" >&2; fail "an unwritable TAMALLOC_PROF made the program fail"; }
grep -q 'cannot write the heap profile to /nonexistent-dir-of-tamalloc/p.heap' "$tmp/err2" ||
    { cat "$tmp/err2" >&2; fail "no error for an unwritable TAMALLOC_PROF"; }
echo PASS
