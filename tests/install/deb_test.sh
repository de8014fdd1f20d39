#!/usr/bin/env bash
# deb_test.sh - the Debian package, installed and removed with apt as root. Run by .ci/run (not a
# Bazel test: it needs root, apt and a build of its own).
#   1. scripts/package-deb.sh builds tamalloc_<VERSION>_<arch>.deb (or --deb FILE takes one);
#      its contents are the library, its links, both archives, the header, the pkg-config files,
#      the tools and the man page;
#   2. `apt-get install -y ./tamalloc_*.deb`; dpkg says it is installed, ldconfig's cache has
#      libtamalloc.so.1 (the package's ldconfig trigger);
#   3. `LD_PRELOAD=libtamalloc.so.1 sort` of a generated file prints what plain `sort` prints, and
#      TAMALLOC_STATS=1 shows tamalloc served it; a program built with the system's
#      `pkg-config --cflags --libs tamalloc` runs on it with no LD_LIBRARY_PATH; tamalloc-run
#      finds the installed library; the man page renders;
#   4. `apt-get remove -y tamalloc` (then purge): the files are gone, and so is the library
#      from ldconfig's cache. The package is also removed when the test fails part-way.
# Prints "deb_test: PASS" and exits 0, or "deb_test: FAIL: ..." and exits 1.
# Bazel is run as $BAZEL (scripts/install.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "deb_test: FAIL: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || fail "'$1' is not installed (Debian package $2; scripts/install-packages.sh)"; }
[ "$(id -u)" -eq 0 ] || fail "must run as root (apt-get install)"
need apt-get apt
need dpkg-deb dpkg
need pkg-config pkg-config
need mandoc mandoc
need cc build-essential

deb=""
if [ "${1:-}" = --deb ]; then deb=$(readlink -f "$2"); fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/deb_test.XXXXXX")
installed=0
cleanup() {
    if [ "$installed" -eq 1 ]; then
        echo "deb_test: removing the package" >&2
        DEBIAN_FRONTEND=noninteractive apt-get purge -y tamalloc >/dev/null 2>&1 || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive

if dpkg -s tamalloc >/dev/null 2>&1; then
    echo "deb_test: tamalloc is installed already (an earlier run?); purging it first" >&2
    apt-get purge -y tamalloc >/dev/null || fail "could not purge the installed tamalloc"
fi

# ---- 1. build --------------------------------------------------------------------------------------
version=$(tr -d ' \t\n' <VERSION)
major=${version%%.*}
arch=$(dpkg --print-architecture)
multiarch=$(gcc -print-multiarch)
if [ -z "$deb" ]; then
    mkdir "$tmp/out"
    deb=$(scripts/package-deb.sh --out="$tmp/out" | tail -1) || fail "scripts/package-deb.sh failed"
fi
[ "$(basename "$deb")" = "tamalloc_${version}_${arch}.deb" ] || fail "the package is named $(basename "$deb"), expected tamalloc_${version}_${arch}.deb"
contents=$(dpkg-deb --contents "$deb" | awk '{ print $6 }' | sed 's|^\./|/|')
L=/usr/lib/$multiarch
for f in "$L/libtamalloc.so.$version" "$L/libtamalloc.so.$major" "$L/libtamalloc.so" "$L/libtamalloc.a" \
    "$L/libtamalloc_override.a" "$L/pkgconfig/tamalloc.pc" "$L/pkgconfig/tamalloc-override.pc" \
    /usr/include/tamalloc.h /usr/bin/tamalloc-run /usr/bin/tamalloc-heapmap /usr/bin/tamalloc-replay \
    /usr/share/man/man3/tamalloc.3.gz; do
    grep -qxF "$f" <<<"$contents" || fail "the package does not hold $f"
done
echo "deb_test: built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB): $(dpkg-deb --field "$deb" Depends)"

# ---- 2. install ------------------------------------------------------------------------------------
cp "$deb" "$tmp/"
installed=1
(cd "$tmp" && apt-get install -y "./$(basename "$deb")") >"$tmp/apt.log" 2>&1 ||
    { tail -20 "$tmp/apt.log" >&2; fail "apt-get install ./$(basename "$deb") failed"; }
status=$(dpkg-query -W -f='${Status} ${Version}' tamalloc 2>/dev/null || true)
[ "$status" = "install ok installed $version" ] || fail "dpkg-query says '$status'"
cache=$(ldconfig -p)
grep -q "libtamalloc.so.$major " <<<"$cache" || fail "libtamalloc.so.$major is not in ldconfig's cache (trigger?)"
echo "deb_test: installed: $status"

# ---- 3. use ----------------------------------------------------------------------------------------
awk 'BEGIN { srand(13); for (i = 0; i < 200000; i++) printf "%08d %s line %d\n", int(rand() * 1e8), (i % 7 ? "b" : "a"), i }' >"$tmp/input.txt"
sort "$tmp/input.txt" >"$tmp/plain.out"
LD_PRELOAD=libtamalloc.so.$major TAMALLOC_STATS=1 sort "$tmp/input.txt" >"$tmp/preload.out" 2>"$tmp/preload.err" ||
    { cat "$tmp/preload.err" >&2; fail "LD_PRELOAD=libtamalloc.so.$major sort failed"; }
cmp -s "$tmp/plain.out" "$tmp/preload.out" || fail "LD_PRELOAD=libtamalloc.so.$major sort printed something else than sort"
report=$(grep -m1 '^tamalloc stats: ' "$tmp/preload.err" || true)
[ -n "$report" ] || { cat "$tmp/preload.err" >&2; fail "LD_PRELOAD=libtamalloc.so.$major TAMALLOC_STATS=1 sort printed no 'tamalloc stats:' report"; }
mapped=$(sed -n 's/.*mapped \([0-9]*\),.*/\1/p' <<<"$report")
arenas=$(sed -n 's/.*arenas \([0-9]*\),.*/\1/p' <<<"$report")
[ "${mapped:-0}" -gt 0 ] && [ "${arenas:-0}" -ge 1 ] || fail "the report shows no memory mapped or no arena: $report"
echo "deb_test: LD_PRELOAD=libtamalloc.so.$major sort of $(wc -l <"$tmp/input.txt") lines: same output; $report"

[ "$(pkg-config --modversion tamalloc)" = "$version" ] || fail "pkg-config --modversion tamalloc is not $version"
# shellcheck disable=SC2046
cc -std=gnu11 tests/install/api_prog.c $(pkg-config --cflags --libs tamalloc) -o "$tmp/api_prog" ||
    fail "cc api_prog.c \$(pkg-config --cflags --libs tamalloc) failed"
out=$(env -u LD_LIBRARY_PATH "$tmp/api_prog" override) || fail "the program built with pkg-config tamalloc failed"
echo "deb_test: pkg-config tamalloc: $out"
/usr/bin/tamalloc-run --stats -- sort "$tmp/input.txt" >"$tmp/run.out" 2>"$tmp/run.err" || fail "tamalloc-run -- sort failed"
grep -q '^tamalloc stats: ' "$tmp/run.err" || fail "tamalloc-run --stats printed no report"
zcat /usr/share/man/man3/tamalloc.3.gz | mandoc -T ascii >"$tmp/man.txt" || fail "the installed man page does not render"
grep -q 'TAMALLOC_STATS' "$tmp/man.txt" || fail "the installed man page does not describe TAMALLOC_STATS"

# ---- 4. remove -------------------------------------------------------------------------------------
apt-get remove -y tamalloc >"$tmp/apt.log" 2>&1 || { tail -20 "$tmp/apt.log" >&2; fail "apt-get remove tamalloc failed"; }
apt-get purge -y tamalloc >>"$tmp/apt.log" 2>&1 || true
installed=0
if dpkg -s tamalloc >/dev/null 2>&1 && [ "$(dpkg-query -W -f='${Status}' tamalloc)" != "deinstall ok config-files" ]; then
    fail "tamalloc is still installed: $(dpkg-query -W -f='${Status}' tamalloc)"
fi
while read -r f; do
    [ -z "$f" ] || [ -d "$f" ] || ! [ -e "$f" ] || fail "$f is still there after apt-get remove"
done <<<"$contents"
cache=$(ldconfig -p)
if grep -q "=> $L/libtamalloc" <<<"$cache"; then fail "$L/libtamalloc* is still in ldconfig's cache after the removal"; fi
echo "deb_test: removed; no file left"
echo "deb_test: PASS"
