#!/usr/bin/env bash
# package-deb.sh - build the Debian package tamalloc_<VERSION>_<arch>.deb with dpkg-deb from the
# install tree of scripts/install.sh (--prefix=/usr, libraries in /usr/lib/<multiarch>).
#
#   scripts/package-deb.sh [--out=DIR]     (default: the current directory)
#
# The package holds the shared library (libtamalloc.so.V, .so.1, .so), both static archives, the
# header, the two pkg-config files, tamalloc-run, tamalloc-heapmap, tamalloc-replay and the man
# page tamalloc(3) (gzip -9n), with an ldconfig trigger, a shlibs file and md5sums. Depends: the
# C library version the binaries need (read from their symbol versions); Recommends python3 and
# python3-matplotlib (tamalloc-heapmap). Prints the path of the .deb on its last line.
# Bazel is run as $BAZEL (see scripts/install.sh). Maintainer: $DEBFULLNAME <$DEBEMAIL> if set.
set -euo pipefail
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }
die() { echo "package-deb.sh: $*" >&2; exit 1; }

src=$(cd "$(dirname "$0")/.." && pwd)
out=$PWD
while [ $# -gt 0 ]; do
    case "$1" in
        --out=*) out=${1#*=} ;;
        --out) [ $# -ge 2 ] || usage; out=$2; shift ;;
        -h | --help) usage ;;
        *) echo "package-deb.sh: unknown argument '$1'" >&2; usage ;;
    esac
    shift
done
for t in dpkg-deb dpkg gzip objdump md5sum; do
    command -v "$t" >/dev/null || die "'$t' is not installed"
done
mkdir -p "$out"
out=$(cd "$out" && pwd)

version=$(tr -d ' \t\n' <"$src/VERSION")
major=${version%%.*}
arch=$(dpkg --print-architecture)
multiarch=$(gcc -print-multiarch 2>/dev/null || true)
[ -n "$multiarch" ] || die "cannot tell the multiarch directory (gcc -print-multiarch)"

stage=$(mktemp -d "${TMPDIR:-/tmp}/tamalloc-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/root
"$src/scripts/install.sh" --prefix=/usr --libdir="lib/$multiarch" --destdir="$root" >&2 ||
    die "scripts/install.sh failed"

# Debian's layout: compressed man pages, no execute bit on shared libraries' links' targets needed.
gzip -9n "$root/usr/share/man/man3/tamalloc.3"
libdir=usr/lib/$multiarch

# The C library version the binaries need: the highest GLIBC_x.y their dynamic symbols name.
glibc=$(objdump -T "$root/$libdir/libtamalloc.so.$version" "$root/usr/bin/tamalloc-replay" |
    grep -oE 'GLIBC_[0-9]+\.[0-9]+(\.[0-9]+)?' | sed 's/GLIBC_//' | sort -V | tail -1)
[ -n "$glibc" ] || die "no GLIBC symbol versions found in the binaries"
size=$(du -sk --apparent-size "$root" | cut -f1)

mkdir -p "$root/DEBIAN"
cat >"$root/DEBIAN/control" <<CONTROL
Package: tamalloc
Version: $version
Architecture: $arch
Maintainer: ${DEBFULLNAME:-tamalloc developers} <${DEBEMAIL:-tamalloc@localhost}>
Installed-Size: $size
Depends: libc6 (>= $glibc)
Recommends: python3, python3-matplotlib
Section: libs
Priority: optional
Description: thread-safe multi-arena memory allocator
 tamalloc gives each thread an arena with an address-ordered, next-fit free
 list, splits and coalesces blocks, checks a keyed tag in every block header on
 free, and returns cross-thread frees through lock-free queues.
 .
 This package holds the shared library libtamalloc.so.$major (the ta_* API and
 the C library's malloc names: LD_PRELOAD=libtamalloc.so.$major runs any program on
 tamalloc), the static archives libtamalloc.a and libtamalloc_override.a, the
 header tamalloc.h, the pkg-config files tamalloc and tamalloc-override, the
 tools tamalloc-run, tamalloc-heapmap and tamalloc-replay, and tamalloc(3).
CONTROL
echo "activate-noawait ldconfig" >"$root/DEBIAN/triggers"
echo "libtamalloc $major tamalloc (>= $version)" >"$root/DEBIAN/shlibs"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | sort | xargs md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/triggers" "$root/DEBIAN/shlibs" "$root/DEBIAN/md5sums"
find "$root" -type d -exec chmod 0755 {} +

deb=$out/tamalloc_${version}_${arch}.deb
dpkg-deb --root-owner-group --build "$root" "$deb" >&2
echo "$deb"
