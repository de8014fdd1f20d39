#!/usr/bin/env bash
# shared_lib_test.sh - the versioned shared library //dist:libtamalloc.so.1:
#   - its SONAME is libtamalloc.so.M, M the major number of the VERSION file;
#   - it needs only libc.so.6;
#   - it exports exactly the names of alloc/tamalloc.map (the check tests/lint/exports_test.sh
#     makes for //alloc:libtamalloc.so);
#   - a program linked as users link it (-L DIR -ltamalloc, DIR holding libtamalloc.so ->
#     libtamalloc.so.M, as installed) records NEEDED libtamalloc.so.M, finds the library through
#     LD_LIBRARY_PATH, and gets tamalloc as its malloc (api_prog override).
# Args: libtamalloc.so.1 VERSION tamalloc.map tamalloc.h api_prog.c
set -euo pipefail
[ $# -eq 5 ] || { echo "usage: $0 libtamalloc.so.1 VERSION tamalloc.map tamalloc.h api_prog.c" >&2; exit 2; }
so=$1 version_file=$2 map=$3 header=$4 api_src=$5
CC=${CC:-cc}
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v readelf >/dev/null || fail "readelf is not installed (Debian package binutils)"

version=$(tr -d ' \t\n' <"$version_file")
major=${version%%.*}
dyn=$(readelf -d "$so")
soname=$(sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p' <<<"$dyn")
[ "$soname" = "libtamalloc.so.$major" ] ||
    fail "SONAME is '$soname'; VERSION $version wants libtamalloc.so.$major (alloc/BUILD's -soname, or VERSION)"
needed=$(sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' <<<"$dyn" | tr '\n' ' ')
[ "$needed" = "libc.so.6 " ] || fail "NEEDED is '$needed'; a preloaded library should need only libc.so.6"
echo "ok: SONAME $soname, NEEDED $needed"

tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/shared_lib_test.XXXXXX")
# The global: names of the version script against the global symbols the library defines.
sed 's|/\*.*\*/||g' "$map" | awk '/global:/ { on = 1; next } /local:/ { on = 0 } on' |
    tr -d ' \t;' | grep -v '^$' | sort -u >"$tmp/map"
[ -s "$tmp/map" ] || fail "no global: names read from $map"
nm -D -g --defined-only "$so" | awk '{ print $NF }' | sed 's/@.*//' | sort -u >"$tmp/so"
if ! diff -u "$tmp/map" "$tmp/so" >"$tmp/diff"; then
    grep '^[-+][^-+]' "$tmp/diff" >&2 || true
    fail "libtamalloc.so.1's exports differ from the global: list of tamalloc.map (- map, + .so)"
fi
echo "ok: exports the $(wc -l <"$tmp/so") names of tamalloc.map"
mkdir -p "$tmp/lib" "$tmp/include"
cp "$so" "$tmp/lib/libtamalloc.so.$major"
ln -s "libtamalloc.so.$major" "$tmp/lib/libtamalloc.so"
cp "$header" "$tmp/include/"
"$CC" -std=gnu11 -Wall -Wextra -Werror -I"$tmp/include" "$api_src" -L"$tmp/lib" -ltamalloc -pthread \
    -o "$tmp/api_prog" || fail "cc ... -ltamalloc failed"
prog_needed=$(readelf -d "$tmp/api_prog" | sed -n 's/.*(NEEDED).*\[\(libtamalloc[^]]*\)\]/\1/p')
[ "$prog_needed" = "libtamalloc.so.$major" ] || fail "the program needs '$prog_needed', not libtamalloc.so.$major"
out=$(LD_LIBRARY_PATH="$tmp/lib" TAMALLOC_STATS=1 "$tmp/api_prog" override 2>"$tmp/err") ||
    { cat "$tmp/err" >&2; fail "api_prog linked with -ltamalloc failed"; }
grep -q '^tamalloc stats: ' "$tmp/err" || fail "no TAMALLOC_STATS report"
echo "ok: cc -ltamalloc -> NEEDED $prog_needed; $out"
echo "PASS: libtamalloc.so.1"
