#!/usr/bin/env bash
# prof_signal_test.sh - TAMALLOC_PROF_SIGNAL=1 under LD_PRELOAD=libtamalloc.so: each SIGUSR2 writes
# a profile to the TAMALLOC_PROF path plus ".1", ".2" (by a later call's exit, not in the handler):
# the first shows the 4000 live blocks of 1000 bytes (a sample per 4 KiB, about 870 samples, scaled
# back by google-pprof: 4.0 MB +- 1, 7 standard deviations), and
# the exit profile shows them freed. Without TAMALLOC_PROF_SIGNAL nothing is installed: SIGUSR2
# keeps its default action and ends the program. TAMALLOC_PROF_SIGNAL=1 without TAMALLOC_PROF is
# refused with a message.
# Args: $1 libtamalloc.so, $2 prof_signal_prog.
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
lib=$(readlink -f "$1")
prog=$(readlink -f "$2")
command -v google-pprof >/dev/null || fail "google-pprof is not installed (Debian package google-perftools)"
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/sig.XXXXXX")
unset LD_PRELOAD $(compgen -e | grep '^TAMALLOC_') || true

LD_PRELOAD=$lib TAMALLOC_PROF="$tmp/p.%p.heap" TAMALLOC_PROF_SIGNAL=1 TAMALLOC_PROF_SAMPLE=4K "$prog" >"$tmp/out" 2>"$tmp/err" ||
    { cat "$tmp/err"; fail "the program failed under TAMALLOC_PROF_SIGNAL=1"; }
one=$(ls "$tmp"/p.*.heap.1 2>/dev/null) || fail "no profile .1 after the first SIGUSR2"
ls "$tmp"/p.*.heap.2 >/dev/null 2>&1 || fail "no profile .2 after the second SIGUSR2"
final=$(ls "$tmp"/p.*.heap)
google-pprof --text --inuse_space "$prog" "$one" >"$tmp/one.txt" 2>/dev/null || fail "google-pprof cannot read $one"
total=$(awk '/^Total:/ { print $2; exit }' "$tmp/one.txt")
awk -v t="$total" 'BEGIN { exit !(t != "" && t >= 3.0 && t <= 5.0) }' || { cat "$tmp/one.txt"; fail "profile .1: ${total:-no} MB in use, expected about 4.0"; }
live=$(head -1 "$final" | sed -E 's/^heap profile: ([0-9]+): ([0-9]+) .*/\2/')
[ "$live" -lt 65536 ] || fail "exit profile: $live sampled bytes still live after everything was freed"

rc=0
LD_PRELOAD=$lib "$prog" >/dev/null 2>&1 || rc=$?
[ "$rc" = $((128 + 12)) ] || fail "without TAMALLOC_PROF_SIGNAL, SIGUSR2 did not end the program (exit $rc)"
rc=0
LD_PRELOAD=$lib TAMALLOC_PROF_SIGNAL=1 "$prog" >/dev/null 2>"$tmp/err2" || rc=$?
grep -q 'TAMALLOC_PROF_SIGNAL=1 needs TAMALLOC_PROF' "$tmp/err2" || fail "TAMALLOC_PROF_SIGNAL without TAMALLOC_PROF is not refused"
echo PASS
