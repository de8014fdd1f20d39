#!/usr/bin/env bash
# preload_stderr_closed_test.sh - TAMALLOC_STATS=1 under programs that close fd 2 before exiting
# (coreutils' sort and xz close their standard streams at exit): the report must still appear,
# through the duplicate of fd 2 tamalloc takes at start-up when TAMALLOC_STATS asks for a report on
# stderr (close-on-exec, numbered 1000 or above: preload_invisible_test.sh). Also checks their output is unchanged
# by the preload: sort's output equals the plain run's; xz -T2 --block-size=1MiB (two compression
# threads over several blocks) produces the same .xz as without tamalloc, which decompresses to the
# input. Then a program that closes tamalloc's duplicate of fd 2 and reuses its number for a file
# of its own (fd_reuse_prog): the report must go to fd 2, never into that file. Last,
# TAMALLOC_STATS_FILE: sort and xz with stderr closed from the start (2>&-) write their reports to
# report.<pid>, and stderr left open gets nothing.
# Args: $1 libtamalloc.so, $2 fd_reuse_prog.
. "$(dirname "$0")/lib.sh"
ta_setup "$1"
ta_require sort coreutils
ta_require xz xz-utils

awk 'BEGIN { x = 12345; for (i = 0; i < 200000; i++) { x = (x * 1103515245 + 12345) % 2147483648; printf "%d line %d %s\n", x % 100000, i, substr("abcdefghijklmnopqrstuvwxyz", 1 + x % 26) } }' >"$TA_TMP/input"

sort -k1,1n -k3 "$TA_TMP/input" >"$TA_TMP/sort.plain"
ta_preload sort -k1,1n -k3 "$TA_TMP/input" >"$TA_TMP/sort.ta" 2>"$TA_TMP/sort.err" || ta_fail "sort failed under tamalloc"
ta_same "$TA_TMP/sort.plain" "$TA_TMP/sort.ta" "sort"
[ "$(head -c 9 "$TA_TMP/sort.err")" = "tamalloc " ] || { cat "$TA_TMP/sort.err" >&2; ta_fail "sort: stderr does not start with the tamalloc report"; }
ta_check_stats "$TA_TMP/sort.err" 10 1 sort

xz -T2 -6 --block-size=1MiB -c "$TA_TMP/input" >"$TA_TMP/input.plain.xz"
ta_preload xz -T2 -6 --block-size=1MiB -c "$TA_TMP/input" >"$TA_TMP/input.ta.xz" 2>"$TA_TMP/xz.err" || ta_fail "xz failed under tamalloc"
ta_same "$TA_TMP/input.plain.xz" "$TA_TMP/input.ta.xz" "xz -T2"
xz -d -c "$TA_TMP/input.ta.xz" | cmp -s - "$TA_TMP/input" || ta_fail "xz: the output does not decompress to the input"
[ "$(head -c 9 "$TA_TMP/xz.err")" = "tamalloc " ] || { cat "$TA_TMP/xz.err" >&2; ta_fail "xz: stderr does not start with the tamalloc report"; }
ta_check_stats "$TA_TMP/xz.err" 10 1 xz

ta_preload "$(readlink -f "$2")" "$TA_TMP/user.data" >"$TA_TMP/reuse.out" 2>"$TA_TMP/reuse.err" || ta_fail "fd_reuse_prog failed under tamalloc"
[ "$(cat "$TA_TMP/user.data")" = "user data on fd 3" ] || { cat "$TA_TMP/user.data" >&2; ta_fail "fd_reuse_prog: its file holds more than its own line (or the fd was not 3)"; }
# tamalloc's duplicate is the one descriptor at or above 1000 (TA_OS_FD_FLOOR) it had open.
awk '/^reused:/ { for (i = 2; i <= NF; i++) if ($i >= 1000) found = 1 } END { exit !found }' "$TA_TMP/reuse.out" ||
    { cat "$TA_TMP/reuse.out" >&2; ta_fail "fd_reuse_prog: tamalloc's duplicate of fd 2 (>= 1000) was not among the numbers it reused"; }
ta_check_stats "$TA_TMP/reuse.err" 1 1 fd_reuse_prog

mkdir "$TA_TMP/reports"
LD_PRELOAD="$TA_LIB" TAMALLOC_STATS_FILE="$TA_TMP/reports/report.%p" sort -k1,1n -k3 "$TA_TMP/input" >"$TA_TMP/sort.file" 2>&- ||
    ta_fail "sort failed under tamalloc with stderr closed"
ta_same "$TA_TMP/sort.plain" "$TA_TMP/sort.file" "sort (TAMALLOC_STATS_FILE, stderr closed)"
LD_PRELOAD="$TA_LIB" TAMALLOC_STATS_FILE="$TA_TMP/reports/report.%p" xz -T2 -6 --block-size=1MiB -c "$TA_TMP/input" >"$TA_TMP/input.file.xz" 2>"$TA_TMP/xz.file.err" ||
    ta_fail "xz failed under tamalloc with TAMALLOC_STATS_FILE"
ta_same "$TA_TMP/input.plain.xz" "$TA_TMP/input.file.xz" "xz -T2 (TAMALLOC_STATS_FILE)"
[ ! -s "$TA_TMP/xz.file.err" ] || { cat "$TA_TMP/xz.file.err" >&2; ta_fail "xz: TAMALLOC_STATS_FILE set, yet tamalloc wrote on stderr"; }
reports=$(cd "$TA_TMP/reports" && ls)
[ "$(printf '%s\n' "$reports" | grep -cE '^report\.[0-9]+$')" -eq 2 ] || ta_fail "TAMALLOC_STATS_FILE: expected two report.<pid> files, found: $reports"
for f in "$TA_TMP"/reports/report.*; do ta_check_stats "$f" 10 1 "TAMALLOC_STATS_FILE $(basename "$f")"; done
echo "PASS"
