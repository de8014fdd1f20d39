#!/bin/bash
# exports_test.sh - the dynamic symbols libtamalloc.so defines are exactly the global: list of
# alloc/tamalloc.map (the golden file), and the map's ta_* names are exactly the functions declared
# in alloc/include/tamalloc.h. So a public function missing from the .so, an internal symbol leaking
# out of it, or a drift between header and map fails here.
# Args: $1 libtamalloc.so, $2 tamalloc.map, $3 tamalloc.h.
set -euo pipefail
so=$1 map=$2 header=$3
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/exports.XXXXXX")
fail=0

# The global: section of the version script, comments removed, one name per line.
sed 's|/\*.*\*/||g' "$map" | awk '/global:/ { on = 1; next } /local:/ { on = 0 } on' |
    tr -d ' \t;' | grep -v '^$' | sort >"$tmp/map"
[ -s "$tmp/map" ] || { echo "FAIL: no global: names found in $map"; exit 1; }
sort -c -u "$tmp/map" 2>/dev/null || { echo "FAIL: $map lists a name twice"; exit 1; }

# Global symbols the .so defines (nm -D lists the dynamic symbol table; -g keeps global ones, so
# local TLS entries the linker keeps for initial-exec relocations are not counted).
nm -D -g --defined-only "$so" | awk '{ print $NF }' | sed 's/@.*//' | sort -u >"$tmp/so"
[ -s "$tmp/so" ] || { echo "FAIL: $so defines no dynamic symbols"; exit 1; }

if ! diff -u "$tmp/map" "$tmp/so" >"$tmp/diff"; then
    echo "FAIL: libtamalloc.so's exports differ from the global: list of tamalloc.map (- map, + .so):"
    grep '^[-+][^-+]' "$tmp/diff"
    fail=1
fi

# The ta_* functions the public header declares (a name followed by "(").
grep -oE '\bta_[a-z_]+\(' "$header" | tr -d '(' | sort -u >"$tmp/header"
grep '^ta_' "$tmp/map" >"$tmp/map_ta" || true
if ! diff -u "$tmp/header" "$tmp/map_ta" >"$tmp/diff2"; then
    echo "FAIL: the ta_* names of tamalloc.map differ from the functions of tamalloc.h (- header, + map):"
    grep '^[-+][^-+]' "$tmp/diff2"
    fail=1
fi

[ "$fail" -eq 0 ] || exit 1
echo "PASS: $(wc -l <"$tmp/so") exported symbols match tamalloc.map ($(wc -l <"$tmp/map_ta") ta_* from tamalloc.h)"
