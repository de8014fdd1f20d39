#!/usr/bin/env bash
# preload_invisible_test.sh - with no TAMALLOC_* variable set, a program under
# LD_PRELOAD=libtamalloc.so sees what it sees without it (invisible_prog prints it): the same
# first open() descriptor, /proc/self/fd list and flags, disposition of every signal, signal mask,
# thread count and environ (less the LD_PRELOAD entry itself), and so does a child it forks and
# execs. Then, when a report is asked for, what tamalloc may hold and nothing more:
#   TAMALLOC_STATS=1       one extra descriptor per process, close-on-exec, at or above 1000; the
#                          report on stderr
#   TAMALLOC_STATS_FILE    no descriptor at all; each process's report in its own file (%p = pid),
#                          nothing on stderr
#   TAMALLOC_TRACE         one extra descriptor per process, close-on-exec, at or above 1000
#   TAMALLOC_HEAP_MAP      no descriptor; a SIGUSR2 handler (the documented request signal)
#   TAMALLOC_BACKGROUND=1  one more thread per process (the purge thread), nothing else
# Last, fault messages: on stderr by default; with fd 2 closed, on the controlling terminal
# (script(1) gives the program one).
# Args: $1 libtamalloc.so, $2 invisible_prog.
. "$(dirname "$0")/lib.sh"
ta_setup "$1"
ta_require script bsdutils
prog=$(readlink -f "$2")

# Both runs go through env(1), so that the "_" variable the shell passes is the same.
env "$prog" exec >"$TA_TMP/plain.out" 2>"$TA_TMP/plain.err" || { cat "$TA_TMP/plain.err" >&2; ta_fail "invisible_prog failed without tamalloc"; }
grep -q '^child first_open' "$TA_TMP/plain.out" || ta_fail "the plain run printed no child report"
grep -q '^self tamalloc_mapped no$' "$TA_TMP/plain.out" || ta_fail "tamalloc is mapped in the plain run"

# Runs invisible_prog exec under the preload with the extra environment given ("NAME=VALUE"...),
# into $TA_TMP/$name.out/.err; fails unless both processes had tamalloc mapped. Prints the report
# without the lines that name the preload or those variables.
run_ta() {
    local name=$1
    shift
    env LD_PRELOAD="$TA_LIB" "$@" "$prog" exec >"$TA_TMP/$name.out" 2>"$TA_TMP/$name.err" ||
        { cat "$TA_TMP/$name.err" >&2; ta_fail "$name: invisible_prog failed under tamalloc"; }
    for who in self child; do
        grep -q "^$who tamalloc_mapped yes\$" "$TA_TMP/$name.out" || ta_fail "$name: tamalloc was not loaded in the $who process"
    done
    local drop="^(self|child) (tamalloc_mapped .*|env LD_PRELOAD=$TA_LIB"
    for kv in "$@"; do drop="$drop|env ${kv%%=*}=.*"; done
    grep -Ev "$drop)\$" "$TA_TMP/$name.out" >"$TA_TMP/$name.cmp" || true
    for who in self child; do
        [ "$(grep -c "^$who env LD_PRELOAD=$TA_LIB\$" "$TA_TMP/$name.out")" -eq 1 ] ||
            ta_fail "$name: the $who process's environ does not hold LD_PRELOAD exactly once, as set"
    done
}
grep -v '^\(self\|child\) tamalloc_mapped' "$TA_TMP/plain.out" >"$TA_TMP/plain.cmp"

# 1. Nothing set: identical.
run_ta none
if ! cmp -s "$TA_TMP/plain.cmp" "$TA_TMP/none.cmp"; then
    diff "$TA_TMP/plain.cmp" "$TA_TMP/none.cmp" | head -20 >&2 || true
    ta_fail "with no TAMALLOC_* variable, the program sees tamalloc (above: < glibc, > tamalloc)"
fi
[ ! -s "$TA_TMP/none.err" ] || { cat "$TA_TMP/none.err" >&2; ta_fail "tamalloc wrote on stderr with no variable set"; }
echo "no variable: parent and exec'd child identical to glibc: $(grep -c '^self fd' "$TA_TMP/plain.out") descriptors, first open() = $(awk '/^self first_open/ {print $3}' "$TA_TMP/plain.out"), $(grep -c '^self sig' "$TA_TMP/plain.out") signals, $(grep -c '^self env' "$TA_TMP/plain.out") environment entries, threads $(awk '/^self threads/ {print $3}' "$TA_TMP/plain.out")"

# The lines of $1.cmp that differ from the plain run's (diff's added and removed lines).
differences() { diff "$TA_TMP/plain.cmp" "$TA_TMP/$1.cmp" | grep '^[<>]' || true; }

# Fails unless the only differences are one descriptor at or above 1000 with close-on-exec set in
# each of the two processes.
only_high_cloexec_fd() {
    local name=$1 d
    d=$(differences "$name")
    local want
    want=$(printf '%s\n' "$d" | awk '$1 == ">" && $3 == "fd" && $4 >= 1000 && $5 == "cloexec=1" { print $2 }' | sort | tr '\n' ' ')
    if [ "$want" != "child self " ] || [ "$(printf '%s\n' "$d" | wc -l)" -ne 2 ]; then
        printf '%s\n' "$d" >&2
        ta_fail "$name: expected exactly one extra close-on-exec descriptor >= 1000 in each process"
    fi
    echo "$name: only difference, one descriptor per process: $(printf '%s\n' "$d" | awk '{print $2, $4, $5}' | tr '\n' ';')"
}

# 2. TAMALLOC_STATS=1: the duplicate of fd 2, high and close-on-exec (the child's is its own).
run_ta stats TAMALLOC_STATS=1
only_high_cloexec_fd stats
[ "$(grep -c '^tamalloc stats: ' "$TA_TMP/stats.err")" -eq 2 ] || { cat "$TA_TMP/stats.err" >&2; ta_fail "stats: expected two reports on stderr (parent and child)"; }

# 3. TAMALLOC_STATS_FILE: no descriptor while running; one file per process.
mkdir "$TA_TMP/statsdir"
run_ta stats_file TAMALLOC_STATS_FILE="$TA_TMP/statsdir/report.%p"
if [ -n "$(differences stats_file)" ]; then
    differences stats_file >&2
    ta_fail "stats_file: the program sees tamalloc"
fi
[ ! -s "$TA_TMP/stats_file.err" ] || { cat "$TA_TMP/stats_file.err" >&2; ta_fail "stats_file: tamalloc wrote on stderr"; }
files=$(cd "$TA_TMP/statsdir" && ls)
[ "$(printf '%s\n' "$files" | grep -cE '^report\.[0-9]+$')" -eq 2 ] || ta_fail "stats_file: expected report.<pid> for each of two processes, found: $files"
for f in "$TA_TMP"/statsdir/report.*; do
    ta_check_stats "$f" 1 1 "stats_file $(basename "$f")" >/dev/null
done
echo "stats_file: no descriptor held, reports in $(echo $files)"

# 4. TAMALLOC_TRACE: the trace file, high and close-on-exec.
mkdir "$TA_TMP/tracedir"
run_ta trace TAMALLOC_TRACE="$TA_TMP/tracedir/trace.%p"
only_high_cloexec_fd trace
[ "$(ls "$TA_TMP/tracedir" | grep -cE '^trace\.[0-9]+$')" -eq 2 ] || ta_fail "trace: expected one trace file per process"

# 5. TAMALLOC_HEAP_MAP: opened only while writing; SIGUSR2 is the documented request.
run_ta heap_map TAMALLOC_HEAP_MAP="$TA_TMP/heap.json"
d=$(differences heap_map)
if [ "$(printf '%s\n' "$d" | grep -vcE '^[<>] (self|child) sig 12 ')" -ne 0 ]; then
    printf '%s\n' "$d" >&2
    ta_fail "heap_map: differences beyond the SIGUSR2 handler"
fi
grep -q '"tamalloc' "$TA_TMP/heap.json" || ta_fail "heap_map: no heap map written"
echo "heap_map: only difference, the SIGUSR2 handler"

# 6. TAMALLOC_BACKGROUND=1: one more thread in each process (its own purge thread; the exec'd child
# starts its own), and nothing else: no descriptor, no signal disposition or mask changed (the
# thread blocks signals in itself only), nothing on stderr.
run_ta background TAMALLOC_BACKGROUND=1
d=$(differences background)
for who in self child; do
    want=$(( $(awk -v w="$who" '$1 == w && $2 == "threads" {print $3}' "$TA_TMP/plain.cmp") + 1 ))
    got=$(awk -v w="$who" '$1 == w && $2 == "threads" {print $3}' "$TA_TMP/background.cmp")
    [ "$got" = "$want" ] || { printf '%s\n' "$d" >&2; ta_fail "background: the $who process has $got threads, expected $want"; }
done
if [ "$(printf '%s\n' "$d" | grep -vcE '^[<>] (self|child) threads ')" -ne 0 ]; then
    printf '%s\n' "$d" >&2
    ta_fail "background: differences beyond one thread per process"
fi
[ ! -s "$TA_TMP/background.err" ] || { cat "$TA_TMP/background.err" >&2; ta_fail "background: tamalloc wrote on stderr"; }
echo "background: only difference, one thread per process"

# 7. Fault messages: on stderr; with fd 2 closed, on the terminal.
set +e
LD_PRELOAD="$TA_LIB" "$prog" fault 2>"$TA_TMP/fault.err"
rc=$?
set -e
[ "$rc" -eq 134 ] || ta_fail "fault: expected SIGABRT (134), got $rc"
grep -q '^tamalloc: double free at 0x' "$TA_TMP/fault.err" || { cat "$TA_TMP/fault.err" >&2; ta_fail "fault: no message on stderr"; }
# script runs the program on a new pseudo-terminal and copies what it writes there to its stdout.
script -qec "env LD_PRELOAD='$TA_LIB' '$prog' fault-closed" /dev/null </dev/null >"$TA_TMP/tty.out" 2>"$TA_TMP/tty.err" || true
grep -q 'tamalloc: double free at 0x' "$TA_TMP/tty.out" || { cat "$TA_TMP/tty.out" "$TA_TMP/tty.err" >&2; ta_fail "fault-closed: the message did not reach the terminal"; }
echo "faults: reported on stderr, and on the terminal when fd 2 is closed"
echo "PASS"
