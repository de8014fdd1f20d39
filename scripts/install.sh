#!/usr/bin/env bash
# install.sh - build tamalloc with --config=opt and install it under a prefix (or remove it again).
#
#   scripts/install.sh [--prefix=/usr/local] [--destdir=DIR] [--libdir=DIR]
#   scripts/install.sh --uninstall [--prefix=/usr/local] [--destdir=DIR] [--libdir=DIR]
#
#     --prefix=DIR   where it is installed and later found (default /usr/local)
#     --destdir=DIR  stage the files under DIR instead (DIR/PREFIX/...), for packaging; the files
#                    still name PREFIX (the .pc files, tamalloc-run's library path)
#     --libdir=DIR   libraries and pkgconfig/ (default PREFIX/lib; relative = under PREFIX), e.g.
#                    /usr/lib/x86_64-linux-gnu for a Debian package
#     --uninstall    remove the files an install with the same options put there
#     --bin-dir=DIR  do not build: take the built files from DIR, laid out like bazel-bin
#                    (DIR/dist/libtamalloc.a, ...). For tests/install, which runs inside Bazel.
#
# Installs (version from the VERSION file, V = 1.0.0, major M = 1):
#   LIBDIR/libtamalloc.a             the ta_* API (//dist:libtamalloc_a)
#   LIBDIR/libtamalloc_override.a    the C library's malloc names + the API (//dist:libtamalloc_override_a)
#   LIBDIR/libtamalloc.so.V          the shared library, SONAME libtamalloc.so.M (//dist:libtamalloc.so.1),
#   LIBDIR/libtamalloc.so.M -> .so.V, LIBDIR/libtamalloc.so -> .so.M
#   LIBDIR/pkgconfig/tamalloc.pc, tamalloc-override.pc
#   PREFIX/include/tamalloc.h
#   PREFIX/bin/tamalloc-run (tools/tamalloc-run, defaulting to LIBDIR/libtamalloc.so.M),
#   PREFIX/bin/tamalloc-heapmap (tools/heapmap), PREFIX/bin/tamalloc-replay (//tools:replay)
#   PREFIX/share/man/man3/tamalloc.3 (docs/tamalloc.3)
# Without --destdir, as root, and when LIBDIR is one of the dynamic linker's directories, ldconfig
# then updates its cache. Bazel is run as $BAZEL (default "bazel"; for example
# BAZEL="bazel --output_base=/tmp/ob" to leave the default server alone).
set -euo pipefail

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }
die() { echo "install.sh: $*" >&2; exit 1; }

src=$(cd "$(dirname "$0")/.." && pwd)
prefix=/usr/local destdir="" libdir="" bin_dir="" uninstall=0
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix=*) prefix=${1#*=} ;;
        --destdir=*) destdir=${1#*=} ;;
        --libdir=*) libdir=${1#*=} ;;
        --bin-dir=*) bin_dir=${1#*=} ;;
        --prefix | --destdir | --libdir | --bin-dir)
            [ $# -ge 2 ] || usage
            case "$1" in
                --prefix) prefix=$2 ;; --destdir) destdir=$2 ;; --libdir) libdir=$2 ;; --bin-dir) bin_dir=$2 ;;
            esac
            shift ;;
        --uninstall) uninstall=1 ;;
        -h | --help) usage ;;
        *) echo "install.sh: unknown argument '$1'" >&2; usage ;;
    esac
    shift
done
case "$prefix" in /*) ;; *) die "--prefix must be an absolute path, not '$prefix'" ;; esac
prefix=${prefix%/}
[ -n "$prefix" ] || die "--prefix=/ is not supported (use /usr, /usr/local, /opt/tamalloc, ...)"
case "$libdir" in "") libdir=$prefix/lib ;; /*) ;; *) libdir=$prefix/$libdir ;; esac
libdir=${libdir%/}
if [ -n "$destdir" ]; then
    mkdir -p "$destdir"
    destdir=$(cd "$destdir" && pwd)
fi
D=${destdir%/}
includedir=$prefix/include
bindir=$prefix/bin
mandir=$prefix/share/man
pcdir=$libdir/pkgconfig

version=$(tr -d ' \t\n' <"$src/VERSION")
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "VERSION holds '$version', expected MAJOR.MINOR.PATCH"
major=${version%%.*}

# Every file (or link) an install creates, without DESTDIR.
installed_files() {
    printf '%s\n' \
        "$libdir/libtamalloc.a" "$libdir/libtamalloc_override.a" \
        "$libdir/libtamalloc.so.$version" "$libdir/libtamalloc.so.$major" "$libdir/libtamalloc.so" \
        "$pcdir/tamalloc.pc" "$pcdir/tamalloc-override.pc" \
        "$includedir/tamalloc.h" \
        "$bindir/tamalloc-run" "$bindir/tamalloc-heapmap" "$bindir/tamalloc-replay" \
        "$mandir/man3/tamalloc.3"
}

# ldconfig's cache covers only its own directories; refresh it when the library went into one.
maybe_ldconfig() {
    [ -z "$D" ] && [ "$(id -u)" -eq 0 ] && command -v ldconfig >/dev/null || return 0
    local dirs
    dirs=$(ldconfig -v -N 2>/dev/null | sed -n 's|^\(/[^:]*\):.*|\1|p') || return 0
    if grep -qxF "$libdir" <<<"$dirs"; then
        ldconfig
        echo "install.sh: ran ldconfig ($libdir)"
    fi
}

if [ "$uninstall" -eq 1 ]; then
    removed=0
    while read -r f; do
        if [ -e "$D$f" ] || [ -L "$D$f" ]; then rm -f "$D$f"; removed=$((removed + 1)); fi
    done < <(installed_files)
    # Shared libraries of other versions with the same major (an install of an earlier VERSION).
    for f in "$D$libdir/libtamalloc.so.$major".*; do
        if [ -e "$f" ] || [ -L "$f" ]; then rm -f "$f"; removed=$((removed + 1)); fi
    done
    maybe_ldconfig
    echo "install.sh: removed $removed files from ${D}${prefix}"
    exit 0
fi

if [ -z "$bin_dir" ]; then
    read -r -a bazel <<<"${BAZEL:-bazel}"
    targets=(//dist:dist)
    echo "+ ${bazel[*]} build --config=opt ${targets[*]}" >&2
    (cd "$src" && "${bazel[@]}" build --config=opt "${targets[@]}") || die "the build failed"
    bin_dir=$(cd "$src" && "${bazel[@]}" info --config=opt bazel-bin 2>/dev/null) || die "bazel info bazel-bin failed"
fi
for f in dist/libtamalloc.a dist/libtamalloc_override.a dist/libtamalloc.so.1 tools/replay; do
    [ -f "$bin_dir/$f" ] || die "$bin_dir/$f is missing (not built?)"
done
soname=$(readelf -d "$bin_dir/dist/libtamalloc.so.1" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libtamalloc.so.$major" ] ||
    die "the shared library's SONAME is '$soname', but VERSION $version wants libtamalloc.so.$major (dist/BUILD)"

install -d "$D$libdir" "$D$pcdir" "$D$includedir" "$D$bindir" "$D$mandir/man3"
install -m 0644 "$bin_dir/dist/libtamalloc.a" "$D$libdir/libtamalloc.a"
install -m 0644 "$bin_dir/dist/libtamalloc_override.a" "$D$libdir/libtamalloc_override.a"
install -m 0755 "$bin_dir/dist/libtamalloc.so.1" "$D$libdir/libtamalloc.so.$version"
ln -sfn "libtamalloc.so.$version" "$D$libdir/libtamalloc.so.$major"
ln -sfn "libtamalloc.so.$major" "$D$libdir/libtamalloc.so"
install -m 0644 "$src/alloc/include/tamalloc.h" "$D$includedir/tamalloc.h"
install -m 0644 "$src/docs/tamalloc.3" "$D$mandir/man3/tamalloc.3"
install -m 0755 "$src/tools/heapmap" "$D$bindir/tamalloc-heapmap"
install -m 0755 "$bin_dir/tools/replay" "$D$bindir/tamalloc-replay"
# tamalloc-run: its library is the installed one unless --lib or $TAMALLOC_LIB says otherwise.
sed "s|^installed_lib=\"\".*|installed_lib=\"$libdir/libtamalloc.so.$major\"|" "$src/tools/tamalloc-run" >"$D$bindir/tamalloc-run.tmp"
grep -q "^installed_lib=\"$libdir/" "$D$bindir/tamalloc-run.tmp" || die "tools/tamalloc-run has no installed_lib=\"\" line to set"
chmod 0755 "$D$bindir/tamalloc-run.tmp"
mv -f "$D$bindir/tamalloc-run.tmp" "$D$bindir/tamalloc-run"

# pkg-config files: ${prefix}-relative where the directory is under the prefix.
rel() { case "$1" in "$prefix"/*) echo "\${prefix}${1#"$prefix"}" ;; *) echo "$1" ;; esac; }
pc_head() {
    printf 'prefix=%s\nlibdir=%s\nincludedir=%s\n\n' "$prefix" "$(rel "$libdir")" "$(rel "$includedir")"
}
{
    pc_head
    cat <<PC
Name: tamalloc
Description: Thread-safe multi-arena memory allocator: the ta_* API. Linked against the shared library, which also exports malloc and the other C library names, tamalloc is the malloc of the whole process; with --static, libtamalloc.a adds the ta_* API only.
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -ltamalloc
Libs.private: -pthread
PC
} >"$D$pcdir/tamalloc.pc"
{
    pc_head
    cat <<PC
Name: tamalloc-override
Description: tamalloc linked statically as the program's malloc (the C library names), with the ta_* API. Works with -static too.
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -ltamalloc_override -pthread
PC
} >"$D$pcdir/tamalloc-override.pc"
chmod 0644 "$D$pcdir/tamalloc.pc" "$D$pcdir/tamalloc-override.pc"

maybe_ldconfig
echo "install.sh: installed tamalloc $version under ${D}${prefix}:"
installed_files | sed "s|^|  $D|"
