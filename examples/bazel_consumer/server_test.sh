#!/usr/bin/env bash
# server_test.sh - the server (malloc = "@tamalloc//alloc:tamalloc_override") passes its self-test
# (8 client threads, 2000 requests each, over TCP on 127.0.0.1), and tamalloc served it: the
# TAMALLOC_STATS=1 report at exit shows arenas in use and memory mapped.
set -euo pipefail
server=$1
err=$(mktemp "${TEST_TMPDIR:-/tmp}/server_err.XXXXXX")
out=$(TAMALLOC_STATS=1 "$server" --self-test 8 2000 2>"$err") || { cat "$err" >&2; echo "FAIL: the self-test failed" >&2; exit 1; }
echo "$out"
report=$(grep -m1 '^tamalloc stats: ' "$err" || true)
[ -n "$report" ] || { cat "$err" >&2; echo "FAIL: no 'tamalloc stats:' report: tamalloc was not the server's malloc" >&2; exit 1; }
arenas=$(sed -n 's/.*arenas \([0-9]*\),.*/\1/p' <<<"$report")
mapped=$(sed -n 's/.*mapped \([0-9]*\),.*/\1/p' <<<"$report")
[ "${arenas:-0}" -ge 2 ] && [ "${mapped:-0}" -gt 0 ] || { echo "FAIL: the report shows too little use: $report" >&2; exit 1; }
echo "PASS: tamalloc served the server: $report"
