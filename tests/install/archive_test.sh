#!/usr/bin/env bash
# archive_test.sh - the static archives, used as a program outside Bazel would use them: copied into
# a lib directory and linked with `cc prog.c -L DIR -lNAME`, plain and with -static.
#   libtamalloc.a           defines the ta_* API (every ta_* name of tamalloc.map) and none of the
#                           C library's names: api_prog gets the API and the C library keeps malloc
#   libtamalloc_override.a  defines every name of tamalloc.map: `cc malloc_prog.c -ltamalloc_override`
#                           replaces malloc (the TAMALLOC_STATS report shows tamalloc served it, and
#                           the output equals the output without tamalloc); api_prog sees its own
#                           malloc counted by tamalloc
# Args: libtamalloc.a libtamalloc_override.a tamalloc.h tamalloc.map api_prog.c malloc_prog.c
set -euo pipefail
[ $# -eq 6 ] || { echo "usage: $0 libtamalloc.a libtamalloc_override.a tamalloc.h tamalloc.map api_prog.c malloc_prog.c" >&2; exit 2; }
a_api=$1 a_override=$2 header=$3 map=$4 api_src=$5 malloc_src=$6
CC=${CC:-cc}
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v "$CC" >/dev/null || fail "no C compiler '$CC' (Debian package build-essential)"
command -v nm >/dev/null || fail "nm is not installed (Debian package binutils)"

tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/archive_test.XXXXXX")
mkdir -p "$tmp/lib" "$tmp/include"
cp "$a_api" "$tmp/lib/libtamalloc.a"
cp "$a_override" "$tmp/lib/libtamalloc_override.a"
cp "$header" "$tmp/include/tamalloc.h"

# ---- what each archive defines --------------------------------------------------------------------
sed 's|/\*.*\*/||g' "$map" | awk '/global:/ { on = 1; next } /local:/ { on = 0 } on' |
    tr -d ' \t;' | grep -v '^$' | sort -u >"$tmp/map"
grep '^ta_' "$tmp/map" >"$tmp/map_ta"
grep -v '^ta_' "$tmp/map" >"$tmp/map_libc"
[ -s "$tmp/map_ta" ] && [ -s "$tmp/map_libc" ] || fail "no names read from $map"
defined() { nm -g --defined-only "$1" 2>/dev/null | awk 'NF == 3 && $2 ~ /^[TWDBRV]$/ { print $3 }' | sort -u; }
defined "$tmp/lib/libtamalloc.a" >"$tmp/def_api"
defined "$tmp/lib/libtamalloc_override.a" >"$tmp/def_override"
missing=$(comm -23 "$tmp/map_ta" "$tmp/def_api")
[ -z "$missing" ] || fail "libtamalloc.a does not define: $missing"
extra=$(comm -12 "$tmp/map_libc" "$tmp/def_api")
[ -z "$extra" ] || fail "libtamalloc.a defines C library names (it must keep the C library's malloc): $extra"
missing=$(comm -23 "$tmp/map" "$tmp/def_override")
[ -z "$missing" ] || fail "libtamalloc_override.a does not define: $missing"
echo "ok: libtamalloc.a defines the $(wc -l <"$tmp/map_ta") ta_* names and no C library name;" \
    "libtamalloc_override.a all $(wc -l <"$tmp/map") names of tamalloc.map"

# ---- linking and running --------------------------------------------------------------------------
build() { # build OUT SRC [cc args...]
    local out=$1 src=$2
    shift 2
    "$CC" -std=gnu11 -O1 -Wall -Wextra -Werror -I"$tmp/include" "$src" -o "$tmp/$out" "$@" \
        >"$tmp/$out.cc.log" 2>&1 || { cat "$tmp/$out.cc.log" >&2; fail "could not build $out: $CC $src $*"; }
}
stats_report() { # stats_report STDERR_FILE NAME: the run printed exactly one TAMALLOC_STATS report
    local n
    n=$(grep -c '^tamalloc stats: ' "$1" || true)
    [ "$n" -eq 1 ] || { sed 's/^/  stderr: /' "$1" >&2; fail "$2: expected one 'tamalloc stats:' report, found $n"; }
    local mapped
    mapped=$(sed -n 's/^tamalloc stats: .*mapped \([0-9]*\),.*/\1/p' "$1")
    [ "${mapped:-0}" -gt 0 ] || fail "$2: the report shows no memory mapped: $(head -1 "$1")"
}
no_report() {
    ! grep -q '^tamalloc stats: ' "$1" || fail "$2: a tamalloc stats report, but tamalloc should not be linked in"
}
# (Output captured first: with pipefail, `cmd | grep -q` fails when grep quits before cmd is done.)
is_static() {
    local h
    h=$(readelf -l "$1")
    if grep -q 'INTERP' <<<"$h"; then fail "$1 is not statically linked"; fi
}

build malloc_ref "$malloc_src" -pthread
"$tmp/malloc_ref" >"$tmp/ref.out" || fail "malloc_prog without tamalloc failed"

for mode in plain static; do
    flags=()
    [ "$mode" = plain ] || flags=(-static)

    # libtamalloc.a: the ta_* API; malloc stays the C library's.
    build "api_$mode" "$api_src" "${flags[@]}" -L"$tmp/lib" -ltamalloc -pthread
    [ "$mode" = plain ] || is_static "$tmp/api_$mode"
    TAMALLOC_STATS=1 "$tmp/api_$mode" system >"$tmp/out" 2>"$tmp/err" ||
        { cat "$tmp/out" "$tmp/err" >&2; fail "api_prog linked with -ltamalloc ($mode) failed"; }
    stats_report "$tmp/err" "api_prog -ltamalloc ($mode)"
    echo "ok: api_prog -ltamalloc ($mode): $(cat "$tmp/out")"

    # A program that knows nothing of tamalloc, linked with -ltamalloc: nothing of it is linked in.
    build "malloc_api_$mode" "$malloc_src" "${flags[@]}" -L"$tmp/lib" -ltamalloc -pthread
    TAMALLOC_STATS=1 "$tmp/malloc_api_$mode" >"$tmp/out" 2>"$tmp/err" || fail "malloc_prog -ltamalloc ($mode) failed"
    no_report "$tmp/err" "malloc_prog -ltamalloc ($mode)"

    # libtamalloc_override.a: replaces malloc.
    build "override_$mode" "$malloc_src" "${flags[@]}" -L"$tmp/lib" -ltamalloc_override -pthread
    [ "$mode" = plain ] || is_static "$tmp/override_$mode"
    TAMALLOC_STATS=1 "$tmp/override_$mode" >"$tmp/out" 2>"$tmp/err" ||
        { cat "$tmp/out" "$tmp/err" >&2; fail "malloc_prog linked with -ltamalloc_override ($mode) failed"; }
    stats_report "$tmp/err" "malloc_prog -ltamalloc_override ($mode)"
    cmp -s "$tmp/out" "$tmp/ref.out" || fail "malloc_prog -ltamalloc_override ($mode) printed '$(cat "$tmp/out")', without tamalloc '$(cat "$tmp/ref.out")'"
    syms=$(nm "$tmp/override_$mode")
    grep -qE ' T malloc$' <<<"$syms" || fail "malloc_prog -ltamalloc_override ($mode) does not define malloc"
    echo "ok: malloc_prog -ltamalloc_override ($mode): $(cat "$tmp/out"); $(grep -m1 "^tamalloc stats: " "$tmp/err")"

    build "api_override_$mode" "$api_src" "${flags[@]}" -L"$tmp/lib" -ltamalloc_override -pthread
    "$tmp/api_override_$mode" override >"$tmp/out" 2>"$tmp/err" ||
        { cat "$tmp/out" "$tmp/err" >&2; fail "api_prog linked with -ltamalloc_override ($mode) failed"; }
    echo "ok: api_prog -ltamalloc_override ($mode): $(cat "$tmp/out")"
done
echo "PASS: both archives link and serve programs, plain and -static"
