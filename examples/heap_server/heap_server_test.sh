#!/bin/bash
# Runs the per-request-heap server example; fails when it does.
set -euo pipefail
server="$1"
"$server" 20000 4
"$server" 2000 1
out="$("$server" 500 2)"
grep -q "0 user heaps left" <<<"$out" || { echo "FAIL: $out"; exit 1; }
echo PASS
