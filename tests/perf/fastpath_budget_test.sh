#!/bin/bash
# fastpath_budget_test.sh - the instruction budget of the fast paths, as a test that cannot drift:
# valgrind's callgrind counts the instructions executed inside malloc and free (libtamalloc.so's
# entry points and everything they call) while bench/fastpath runs 100,000 small malloc/free pairs
# (16..256 bytes, half as immediate pairs, half as LIFO batches of 64) in one thread at the default
# check level, and the count per pair must stay within BUDGET. Instruction counts are deterministic
# (they do not depend on the machine's load), so this is not a timed test.
# The budget is what the fast paths take today plus a small margin (see BUDGET below); a change that
# adds a branch to them must raise it in the same commit, with the reason.
# Args: $1 bench/fastpath, $2 libtamalloc.so.
set -euo pipefail
BUDGET=87    # measured 82.8 per pair (fastbuild; alloc/ is built -O2 in every mode) + 5 %
fastpath=$1 lib=$(readlink -f "$2")
command -v valgrind >/dev/null || { echo "FAIL: valgrind is not installed (Debian package valgrind)"; exit 1; }
unset TAMALLOC_CHECK TAMALLOC_CACHE TAMALLOC_CACHE_BYTES
pairs_k=100
out=$(LD_PRELOAD="$lib" valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    --toggle-collect=malloc --toggle-collect=free "$fastpath" 1 "$pairs_k" 2>&1)
grep -q 'ok=1' <<<"$out" || { echo "FAIL: the fastpath run did not succeed:"; echo "$out" | tail -5; exit 1; }
collected=$(sed -nE 's/.*Collected : ([0-9]+).*/\1/p' <<<"$out")
[ -n "$collected" ] || { echo "FAIL: no callgrind count:"; echo "$out" | tail -5; exit 1; }
per_pair=$(awk -v c="$collected" -v p="$pairs_k" 'BEGIN { printf "%.1f", c / (p * 1000) }')
if awk -v x="$per_pair" -v b="$BUDGET" 'BEGIN { exit !(x <= b) }'; then
    echo "PASS: $per_pair instructions per small malloc/free pair inside malloc+free (budget $BUDGET)"
else
    echo "FAIL: $per_pair instructions per small malloc/free pair inside malloc+free, over the budget of $BUDGET"
    exit 1
fi
