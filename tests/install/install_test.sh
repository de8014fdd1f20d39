#!/usr/bin/env bash
# install_test.sh - scripts/install.sh into a temporary prefix, used as its users would:
#   1. install.sh --prefix=P (--bin-dir: the libraries and tools Bazel built for this test, so no
#      nested build); every file is there, the .so links are right, the man page is the source's;
#   2. pkg-config: --modversion is VERSION; `cc prog.c $(pkg-config --cflags --libs tamalloc)`
#      links the shared library (NEEDED libtamalloc.so.M), and the program runs with tamalloc as
#      its malloc (TAMALLOC_STATS=1 prints the "tamalloc stats:" report); tamalloc-override links
#      statically (no NEEDED libtamalloc) and replaces malloc, also with --static / -static;
#   3. the installed tools: tamalloc-run finds the installed library by itself (--stats, --trace,
#      --heap-map on `sort`), tamalloc-replay reads the trace, tamalloc-heapmap draws the map;
#   4. --destdir stages the same tree under DESTDIR with the files naming the final prefix;
#   5. --uninstall leaves no file behind, in both.
# Args: path/to/scripts/install.sh (in the runfiles, beside the built files it installs).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 scripts/install.sh" >&2; exit 2; }
install_sh=$1
CC=${CC:-cc}
fail() { echo "FAIL: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || fail "'$1' is not installed (Debian package $2; install with scripts/install-packages.sh)"; }
need "$CC" build-essential
need pkg-config pkg-config
need readelf binutils
need sort coreutils
need python3 python3

runfiles=$PWD  # the test runs in its workspace's runfiles, laid out like bazel-bin and the source
version=$(tr -d ' \t\n' <VERSION)
major=${version%%.*}
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/install_test.XXXXXX")
P=$tmp/prefix

# ---- 1. install ------------------------------------------------------------------------------------
"$install_sh" --prefix="$P" --bin-dir="$runfiles" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "install.sh --prefix=$P failed"; }
expected=(
    lib/libtamalloc.a lib/libtamalloc_override.a "lib/libtamalloc.so.$version" "lib/libtamalloc.so.$major"
    lib/libtamalloc.so lib/pkgconfig/tamalloc.pc lib/pkgconfig/tamalloc-override.pc include/tamalloc.h
    bin/tamalloc-run bin/tamalloc-heapmap bin/tamalloc-replay share/man/man3/tamalloc.3
)
for f in "${expected[@]}"; do [ -e "$P/$f" ] || fail "install.sh did not install $f"; done
got=$(cd "$P" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort)
want=$(printf '%s\n' "${expected[@]}" | sort)
[ "$got" = "$want" ] || fail "installed files differ from the expected list:$(diff <(echo "$want") <(echo "$got") | sed 's/^/\n  /')"
[ "$(readlink "$P/lib/libtamalloc.so")" = "libtamalloc.so.$major" ] || fail "lib/libtamalloc.so does not point to libtamalloc.so.$major"
[ "$(readlink "$P/lib/libtamalloc.so.$major")" = "libtamalloc.so.$version" ] || fail "lib/libtamalloc.so.$major does not point to libtamalloc.so.$version"
for b in tamalloc-run tamalloc-heapmap tamalloc-replay; do [ -x "$P/bin/$b" ] || fail "bin/$b is not executable"; done
cmp -s "$P/share/man/man3/tamalloc.3" docs/tamalloc.3 || fail "the installed man page differs from docs/tamalloc.3"
cmp -s "$P/include/tamalloc.h" alloc/include/tamalloc.h || fail "the installed header differs from alloc/include/tamalloc.h"
echo "ok: install.sh --prefix installed the ${#expected[@]} files"

# ---- 2. pkg-config ---------------------------------------------------------------------------------
export PKG_CONFIG_PATH=$P/lib/pkgconfig
unset PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR || true
for pc in tamalloc tamalloc-override; do
    v=$(pkg-config --modversion "$pc") || fail "pkg-config does not find $pc"
    [ "$v" = "$version" ] || fail "pkg-config --modversion $pc says $v, VERSION says $version"
done
cflags=$(pkg-config --cflags --libs tamalloc)
[[ " $cflags " == *" -I$P/include "* ]] || fail "pkg-config --cflags tamalloc gives '$cflags'"

# shellcheck disable=SC2046 # the flags are words
"$CC" -std=gnu11 -Wall -Werror tests/install/api_prog.c $(pkg-config --cflags --libs tamalloc) -o "$tmp/api_shared" ||
    fail "cc api_prog.c \$(pkg-config --cflags --libs tamalloc) failed"
needed=$(readelf -d "$tmp/api_shared" | sed -n 's/.*(NEEDED).*\[\(libtamalloc[^]]*\)\]/\1/p')
[ "$needed" = "libtamalloc.so.$major" ] || fail "the program needs '$needed', not libtamalloc.so.$major"
out=$(LD_LIBRARY_PATH=$P/lib TAMALLOC_STATS=1 "$tmp/api_shared" override 2>"$tmp/err") ||
    { cat "$tmp/err" >&2; fail "the program built with pkg-config tamalloc failed"; }
grep -q '^tamalloc stats: ' "$tmp/err" || { cat "$tmp/err" >&2; fail "no 'tamalloc stats:' report from the pkg-config tamalloc program"; }
echo "ok: pkg-config tamalloc: NEEDED $needed; $out; $(grep -m1 '^tamalloc stats: ' "$tmp/err" | cut -c1-90)..."

ref=$("$CC" -std=gnu11 tests/install/malloc_prog.c -pthread -o "$tmp/malloc_ref" && "$tmp/malloc_ref") || fail "malloc_prog without tamalloc failed"
for mode in plain static; do
    static=() pcstatic=()
    [ "$mode" = plain ] || { static=(-static); pcstatic=(--static); }
    # shellcheck disable=SC2046
    "$CC" -std=gnu11 -Wall -Werror "${static[@]}" tests/install/malloc_prog.c $(pkg-config "${pcstatic[@]}" --cflags --libs tamalloc-override) \
        -o "$tmp/override_$mode" || fail "cc malloc_prog.c \$(pkg-config --cflags --libs tamalloc-override) ($mode) failed"
    dyn=$(readelf -d "$tmp/override_$mode" 2>/dev/null || true)
    if grep -q 'libtamalloc' <<<"$dyn"; then fail "tamalloc-override ($mode) linked the shared library"; fi
    out=$(TAMALLOC_STATS=1 "$tmp/override_$mode" 2>"$tmp/err") || { cat "$tmp/err" >&2; fail "the tamalloc-override program ($mode) failed"; }
    [ "$out" = "$ref" ] || fail "tamalloc-override ($mode) printed '$out', without tamalloc '$ref'"
    grep -q '^tamalloc stats: ' "$tmp/err" || fail "no 'tamalloc stats:' report from the tamalloc-override program ($mode)"
    echo "ok: pkg-config tamalloc-override ($mode): $out; tamalloc served it"
done

# ---- 3. the installed tools ------------------------------------------------------------------------
seq 1 20000 | awk '{ print ($1 * 7919) % 10007 " line " $1 }' >"$tmp/input.txt"
sort "$tmp/input.txt" >"$tmp/sorted.ref"
env -u TAMALLOC_LIB "$P/bin/tamalloc-run" --stats --trace "$tmp/trace.bin" --heap-map "$tmp/map.json" \
    -- sort "$tmp/input.txt" >"$tmp/sorted" 2>"$tmp/err" || { cat "$tmp/err" >&2; fail "tamalloc-run -- sort failed"; }
cmp -s "$tmp/sorted" "$tmp/sorted.ref" || fail "sort under tamalloc-run sorted differently"
grep -q '^tamalloc stats: ' "$tmp/err" || { cat "$tmp/err" >&2; fail "tamalloc-run --stats printed no report"; }
[ -s "$tmp/trace.bin" ] || fail "tamalloc-run --trace wrote no trace"
[ -s "$tmp/map.json" ] || fail "tamalloc-run --heap-map wrote no map"
counts=$("$P/bin/tamalloc-replay" --counts "$tmp/trace.bin") || fail "tamalloc-replay --counts failed"
"$P/bin/tamalloc-heapmap" "$tmp/map.json" -o "$tmp/map.svg" >"$tmp/heapmap.log" 2>&1 ||
    { cat "$tmp/heapmap.log" >&2; fail "tamalloc-heapmap failed (Debian package python3-matplotlib?)"; }
grep -q '<svg' "$tmp/map.svg" || fail "tamalloc-heapmap wrote no SVG"
echo "ok: tamalloc-run (installed library), tamalloc-replay ($(tr '\n' ' ' <<<"$counts" | cut -c1-60)...), tamalloc-heapmap"

# ---- 4. --destdir ----------------------------------------------------------------------------------
S=$tmp/stage
"$install_sh" --prefix=/usr --libdir=lib/x86_64-linux-gnu --destdir="$S" --bin-dir="$runfiles" >"$tmp/install2.log" 2>&1 ||
    { cat "$tmp/install2.log" >&2; fail "install.sh --destdir failed"; }
[ -f "$S/usr/lib/x86_64-linux-gnu/libtamalloc.so.$version" ] || fail "--destdir/--libdir: no $S/usr/lib/x86_64-linux-gnu/libtamalloc.so.$version"
[ -f "$S/usr/lib/x86_64-linux-gnu/pkgconfig/tamalloc.pc" ] || fail "--destdir/--libdir: no pkgconfig/tamalloc.pc under the libdir"
grep -qx 'prefix=/usr' "$S/usr/lib/x86_64-linux-gnu/pkgconfig/tamalloc.pc" || fail "the staged tamalloc.pc does not name prefix=/usr"
grep -qx "installed_lib=\"/usr/lib/x86_64-linux-gnu/libtamalloc.so.$major\"" "$S/usr/bin/tamalloc-run" ||
    fail "the staged tamalloc-run does not name /usr/lib/x86_64-linux-gnu/libtamalloc.so.$major"
[ "$(cd "$S" && find . \( -type f -o -type l \) | wc -l)" -eq "${#expected[@]}" ] || fail "--destdir staged a different number of files"
echo "ok: install.sh --prefix=/usr --libdir=lib/x86_64-linux-gnu --destdir staged the tree"

# ---- 5. --uninstall --------------------------------------------------------------------------------
"$install_sh" --uninstall --prefix="$P" >"$tmp/uninstall.log" 2>&1 || { cat "$tmp/uninstall.log" >&2; fail "install.sh --uninstall failed"; }
left=$(cd "$P" && find . \( -type f -o -type l \))
[ -z "$left" ] || fail "install.sh --uninstall left: $left"
"$install_sh" --uninstall --prefix=/usr --libdir=lib/x86_64-linux-gnu --destdir="$S" >"$tmp/uninstall.log" 2>&1 ||
    fail "install.sh --uninstall --destdir failed"
left=$(cd "$S" && find . \( -type f -o -type l \))
[ -z "$left" ] || fail "install.sh --uninstall --destdir left: $left"
echo "ok: install.sh --uninstall removed everything"
echo "PASS: install.sh"
