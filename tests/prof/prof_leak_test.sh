#!/usr/bin/env bash
# prof_leak_test.sh - TAMALLOC_PROF_LEAKS=1 under LD_PRELOAD=libtamalloc.so, every allocation
# sampled (TAMALLOC_PROF_SAMPLE=1): prof_leak_prog's lost blocks are reported on stderr with the
# leaking function named in-process (leaky_function is static: only the ELF .symtab has its name)
# and main below it, 100 blocks and 400000 bytes, and the process exits with status 23; the same
# program freeing everything exits 0 with "no sampled block is live". Without TAMALLOC_PROF_LEAKS
# the leaking run exits 0 and says nothing.
# Args: $1 libtamalloc.so, $2 prof_leak_prog.
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
lib=$(readlink -f "$1")
prog=$(readlink -f "$2")
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/leak.XXXXXX")
unset LD_PRELOAD $(compgen -e | grep '^TAMALLOC_') || true

rc=0
LD_PRELOAD=$lib TAMALLOC_PROF_LEAKS=1 TAMALLOC_PROF_SAMPLE=1 "$prog" >"$tmp/out" 2>"$tmp/err" || rc=$?
cat "$tmp/err"
[ "$rc" = 23 ] || fail "leaking run exited $rc, expected 23"
grep -q '^leaked$' "$tmp/out" || fail "the program's own output was lost"
grep -q '^tamalloc: leak report: 100 blocks (400000 bytes) live at exit, from 1 stacks' "$tmp/err" || fail "no report of 100 blocks, 400000 bytes"
grep -qE '^    #0 0x[0-9a-f]+ leaky_function\+0x[0-9a-f]+ \(' "$tmp/err" || fail "frame #0 is not leaky_function"
grep -qE '^    #1 0x[0-9a-f]+ main\+0x[0-9a-f]+ \(' "$tmp/err" || fail "frame #1 is not main"
grep -q 'kept_then_freed' "$tmp/err" && fail "kept_then_freed freed its blocks but is reported"

rc=0
LD_PRELOAD=$lib TAMALLOC_PROF_LEAKS=1 TAMALLOC_PROF_SAMPLE=1 "$prog" clean >"$tmp/out2" 2>"$tmp/err2" || rc=$?
[ "$rc" = 0 ] || { cat "$tmp/err2"; fail "clean run exited $rc"; }
grep -q 'no sampled block is live at exit' "$tmp/err2" || { cat "$tmp/err2"; fail "clean run: no 'nothing live' report"; }

rc=0
LD_PRELOAD=$lib "$prog" >"$tmp/out3" 2>"$tmp/err3" || rc=$?
[ "$rc" = 0 ] && [ ! -s "$tmp/err3" ] || fail "without TAMALLOC_PROF_LEAKS: exit $rc, stderr: $(cat "$tmp/err3")"
echo PASS
