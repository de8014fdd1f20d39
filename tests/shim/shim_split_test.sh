#!/bin/bash
# shim_split_test.sh - the drop-in's tooling (TAMALLOC_TRACE, the TAMALLOC_HEAP_MAP file and its
# SIGUSR2 handler) lives in alloc/shim/ and only there:
#   1. a program linked with //alloc:tamalloc alone has exactly one tamalloc constructor and one
#      destructor beyond the C runtime's (init.c's), and installs no SIGUSR2 handler even with
#      TAMALLOC_HEAP_MAP set, and writes no trace or map file;
#   2. the same program linked with the drop-in has the hooks' constructor and handler (so the
#      check above is not vacuous) and writes both files.
# Constructors are read from each binary's .init_array/.fini_array relocations and named with nm,
# then compared with a reference program that has no tamalloc.
# Args: $1 api-only binary, $2 drop-in binary, $3 reference binary.
set -euo pipefail
api=$1 dropin=$2 ref=$3
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/shim_split.XXXXXX")
fail() { echo "FAIL: $*"; exit 1; }

# The functions a binary's .init_array or .fini_array ($2) points at, one name per line, sorted.
array_funcs() {
    local bin=$1 section=$2 start size off type addend syms
    read -r start size < <(readelf -SW "$bin" | awk -v s="$section" '$2 == s { print $4, $6 }')
    [ -n "${start:-}" ] || return 0
    start=$((16#$start)) size=$((16#$size))
    syms=$(nm "$bin")
    # PIE: the entries are R_X86_64_RELATIVE relocations whose offset lies in the section.
    readelf -rW "$bin" | while read -r off _ type addend _; do
        [ "$type" = R_X86_64_RELATIVE ] || continue
        off=$((16#$off))
        [ "$off" -ge "$start" ] && [ "$off" -lt $((start + size)) ] || continue
        awk -v a="$(printf '%016x' $((16#$addend)))" '$1 == a && $2 ~ /^[tT]$/ { print $3; exit }' <<<"$syms"
    done | LC_ALL=C sort
}

for section in .init_array .fini_array; do
    array_funcs "$ref" "$section" >"$tmp/ref$section"
    array_funcs "$api" "$section" >"$tmp/api$section"
    array_funcs "$dropin" "$section" >"$tmp/dropin$section"
    [ -s "$tmp/ref$section" ] || fail "could not read $section of the reference binary"
done
extra() { LC_ALL=C comm -13 "$tmp/ref$1" "$tmp/$2$1" | tr '\n' ' '; }
[ "$(extra .init_array api)" = "init_at_load " ] ||
    fail "API-only program: constructors beyond the C runtime's are '$(extra .init_array api)', expected only init_at_load"
[ "$(extra .fini_array api)" = "init_at_exit " ] ||
    fail "API-only program: destructors beyond the C runtime's are '$(extra .fini_array api)', expected only init_at_exit"
extra .init_array dropin | grep -qw hooks_at_load ||
    fail "drop-in program: the hooks' constructor is missing (constructors: $(extra .init_array dropin))"
extra .fini_array dropin | grep -qw trace_at_exit ||
    fail "drop-in program: the trace's destructor is missing (destructors: $(extra .fini_array dropin))"

out=$(TAMALLOC_HEAP_MAP="$tmp/api_map.json" TAMALLOC_TRACE="$tmp/api_trace" "$api")
[ "$out" = "SIGUSR2 default" ] || fail "API-only program with TAMALLOC_HEAP_MAP set: '$out'"
[ ! -e "$tmp/api_map.json" ] || fail "API-only program wrote a TAMALLOC_HEAP_MAP file"
[ ! -e "$tmp/api_trace" ] || fail "API-only program wrote a TAMALLOC_TRACE file"
out=$(TAMALLOC_HEAP_MAP="$tmp/dropin_map.json" TAMALLOC_TRACE="$tmp/dropin_trace" "$dropin")
[ "$out" = "SIGUSR2 handled" ] || fail "drop-in program with TAMALLOC_HEAP_MAP set: '$out'"
[ -s "$tmp/dropin_map.json" ] || fail "drop-in program wrote no TAMALLOC_HEAP_MAP file at exit"
[ -s "$tmp/dropin_trace" ] || fail "drop-in program wrote no TAMALLOC_TRACE file"
echo "PASS: API-only: constructors +init_at_load, destructors +init_at_exit, SIGUSR2 untouched, no files;" \
    "drop-in: +$(extra .init_array dropin)and SIGUSR2 handled, map and trace written"
