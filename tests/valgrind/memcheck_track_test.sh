#!/bin/bash
# memcheck_track_test.sh - with tamalloc built with -DTA_VALGRIND (alloc/track.h), memcheck sees
# tamalloc's blocks: a leaked ta_malloc'd block is reported as definitely lost with the stack of
# its allocation, and a write past the requested size is reported as an invalid write just after
# that block, again with its allocation stack. A correct program (every allocation function,
# calloc'd large blocks read, realloc kept and moved, a free from another thread) gets no error.
# Usage: memcheck_track_test.sh <track_demo binary>
set -u
demo="$1"
command -v valgrind >/dev/null || { echo "FAIL: valgrind is not installed (Debian package valgrind)"; exit 1; }
log="${TEST_TMPDIR:-/tmp}/memcheck_misuse.log"
fail=0
expect() {   # expect <description> <extended regexp>
    if grep -qE -- "$2" "$log"; then echo "ok: $1"; else echo "FAIL: $1 (no line matching: $2)"; fail=1; fi
}

valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite --num-callers=12 \
    "$demo" misuse >"$log" 2>&1
echo "--- memcheck on '$demo misuse' ---"; cat "$log"; echo "---"
expect "the overflow is an invalid write" "Invalid write of size 1"
expect "... in overflow_one" "at 0x[0-9A-F]+: overflow_one \("
expect "... named against the user's 100-byte block" "Address 0x[0-9a-f]+ is 0 bytes after a block of size 100 alloc'd"
expect "... whose allocation stack is ta_malloc from overflow_one" \
    "by 0x[0-9A-F]+: overflow_one"
expect "the leak is reported" "100 bytes in 1 blocks are definitely lost"
expect "... with its allocation stack: ta_malloc from leak_one" "by 0x[0-9A-F]+: leak_one \("
expect "the leak allocation is in ta_malloc" "(at|by) 0x[0-9A-F]+: (ta_malloc|malloc_slow) "
expect "exactly one leak" "definitely lost: 100 bytes in 1 blocks"
expect "exactly one error besides the leak" "ERROR SUMMARY: 2 errors from 2 contexts"

log="${TEST_TMPDIR:-/tmp}/memcheck_clean.log"
valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1 \
    "$demo" clean >"$log" 2>&1
rc=$?
echo "--- memcheck on '$demo clean' ---"; cat "$log"; echo "---"
if [ "$rc" -ne 0 ]; then echo "FAIL: a correct program got memcheck errors (status $rc)"; fail=1; fi
expect "no error for a correct program" "ERROR SUMMARY: 0 errors from 0 contexts"

[ "$fail" -eq 0 ] && echo "PASS" || echo "FAIL"
exit $fail
