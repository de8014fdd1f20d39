#!/usr/bin/env bash
# preload_boot_test.sh - boot_prog (start-up, dlopen/dlsym/dlerror, thread-exit destructors that
# allocate, pthread keys beyond the first 32, fork while threads allocate, an allocating atexit
# handler) with and without LD_PRELOAD=libtamalloc.so: same report, exit status 0, every check in
# it passed, and tamalloc's stats show it served the run from several arenas.
# Args: $1 libtamalloc.so, $2 boot_prog.
. "$(dirname "$0")/lib.sh"
ta_setup "$1"
prog=$(readlink -f "$2")

"$prog" >"$TA_TMP/plain.out" 2>"$TA_TMP/plain.err" || { cat "$TA_TMP/plain.err" >&2; ta_fail "boot_prog failed without tamalloc"; }
ta_preload "$prog" >"$TA_TMP/ta.out" 2>"$TA_TMP/ta.err" || { cat "$TA_TMP/ta.err" >&2; ta_fail "boot_prog failed under tamalloc"; }
ta_same "$TA_TMP/plain.out" "$TA_TMP/ta.out" "boot_prog"
for want in 'cos(0) = 1.0; missing symbol: absent, dlerror set: yes' 'thread-exit destructors that allocated: 320' \
    'fork while allocating: 20 of 20 children allocated and exited normally' 'atexit allocation ok'; do
    grep -qF "$want" "$TA_TMP/ta.out" || { cat "$TA_TMP/ta.out" >&2; ta_fail "boot_prog: expected '$want'"; }
done
cat "$TA_TMP/ta.out"
# A new thread takes the lowest-numbered arena no live thread holds: only threads alive at the same
# time spread over arenas, so two are what the overlapping threads here guarantee.
ta_check_stats "$TA_TMP/ta.err" 20000 2 boot_prog
echo "PASS"
