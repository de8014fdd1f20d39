#!/usr/bin/env bash
# preload_introspect_test.sh - the C library's heap introspection (mallinfo, mallinfo2, malloc_stats,
# malloc_info, mallopt) under LD_PRELOAD=libtamalloc.so answers from tamalloc (introspect_prog):
#   1. interposition: libc.so.6 defines the five names too (weak), libtamalloc.so exports them, and
#      the program's look-up finds libc's without the preload and tamalloc's with it;
#   2. introspect_prog check: every mallinfo2 field against ta_get_stats at the same moment,
#      mallinfo's saturation at INT_MAX, mallopt's parameters (M_MMAP_THRESHOLD moves the threshold
#      by ta stats, refused values return 0 and change nothing, M_ARENA_MAX confines new threads);
#      without the preload it must refuse to run (exit 77), so its checks cannot pass on glibc;
#   3. malloc_stats: tamalloc's report on stderr, one row per arena in use, nothing on stdout;
#   4. malloc_info: well-formed XML (python3's parser) in glibc's shape, one <heap> per arena in use,
#      each heap's free-size classes summing to its "rest" total, process totals equal to the heaps'
#      sums and to mallinfo2 of the same moment; options 1 gives -1/EINVAL and writes nothing.
# Args: $1 libtamalloc.so, $2 introspect_prog.
. "$(dirname "$0")/lib.sh"
ta_setup "$1"
ta_require python3 python3
ta_require nm binutils
prog=$(readlink -f "$2")
names="mallinfo mallinfo2 malloc_stats malloc_info mallopt"

# 1. Both define the names; the preloaded definitions are the ones the program gets.
libc=$(ldd "$prog" | awk '$1 == "libc.so.6" { print $3 }')
[ -f "$libc" ] || ta_fail "cannot find the program's libc.so.6 (ldd: $(ldd "$prog" | tr '\n' ' '))"
nm -D --defined-only "$libc" >"$TA_TMP/libc.nm"
nm -D --defined-only "$TA_LIB" >"$TA_TMP/ta.nm"
for n in $names; do
    grep -qE " [TW] $n(@|\$)" "$TA_TMP/libc.nm" || ta_fail "$libc does not define $n: nothing to interpose"
    grep -qE " T $n\$" "$TA_TMP/ta.nm" || ta_fail "libtamalloc.so does not export $n"
done
"$prog" names >"$TA_TMP/names.plain" || ta_fail "introspect_prog names failed without tamalloc"
LD_PRELOAD="$TA_LIB" "$prog" names >"$TA_TMP/names.ta" || ta_fail "introspect_prog names failed under tamalloc"
for n in $names; do
    grep -qE "^$n .*/libc\.so\.6\$" "$TA_TMP/names.plain" || { cat "$TA_TMP/names.plain" >&2; ta_fail "$n: not libc's without the preload"; }
    grep -qxF "$n $TA_LIB" "$TA_TMP/names.ta" || { cat "$TA_TMP/names.ta" >&2; ta_fail "$n: the preloaded definition does not win"; }
done
echo "interposition: $libc defines $(echo $names | wc -w) names ($(grep -cE " W (mallinfo2?|malloc_stats|malloc_info|mallopt)@" "$TA_TMP/libc.nm") of them weak); under the preload all come from libtamalloc.so"

# 2. The checks, which need tamalloc's own figures.
set +e
"$prog" check >"$TA_TMP/plain_check.out" 2>"$TA_TMP/plain_check.err"
rc=$?
set -e
[ "$rc" -eq 77 ] && grep -q 'not preloaded' "$TA_TMP/plain_check.err" ||
    ta_fail "introspect_prog check without the preload: expected exit 77 (not preloaded), got $rc"
LD_PRELOAD="$TA_LIB" "$prog" check >"$TA_TMP/check.out" 2>"$TA_TMP/check.err" ||
    { cat "$TA_TMP/check.err" >&2; ta_fail "introspect_prog check failed under tamalloc"; }
grep -E '^PASS: [0-9]+ checks$' "$TA_TMP/check.out" || ta_fail "introspect_prog check printed no PASS line"

# 3. malloc_stats: the report on stderr.
LD_PRELOAD="$TA_LIB" "$prog" stats >"$TA_TMP/stats.out" 2>"$TA_TMP/stats.err" ||
    { cat "$TA_TMP/stats.err" >&2; ta_fail "introspect_prog stats failed"; }
want=$(awk '$1 == "arenas" { print $2 }' "$TA_TMP/stats.out")
[ -n "$want" ] && [ "$want" -ge 3 ] || ta_fail "stats: the program reported '$want' arenas, expected at least 3"
! grep -q 'tamalloc stats' "$TA_TMP/stats.out" || ta_fail "malloc_stats wrote on stdout"
grep -q '^arena threads *allocated' "$TA_TMP/stats.err" || { cat "$TA_TMP/stats.err" >&2; ta_fail "malloc_stats: no arena table header"; }
ta_check_stats "$TA_TMP/stats.err" 1 "$want" malloc_stats
[ "$TA_ARENAS" -eq "$want" ] || ta_fail "malloc_stats reports $TA_ARENAS arenas, ta_get_stats $want"

# 4. malloc_info.
LD_PRELOAD="$TA_LIB" "$prog" info "$TA_TMP/info.xml" >"$TA_TMP/info.out" 2>"$TA_TMP/info.err" ||
    { cat "$TA_TMP/info.err" >&2; ta_fail "introspect_prog info failed"; }
python3 - "$TA_TMP/info.xml" "$TA_TMP/info.out" <<'EOF' || ta_fail "malloc_info: the XML is not what tamalloc's heap holds (above)"
import sys
import xml.etree.ElementTree as ET

xml_path, expect_path = sys.argv[1], sys.argv[2]
want = {}
for line in open(expect_path):
    f = line.split()
    if f and f[0] == "mallinfo2":
        want.update({f[i]: int(f[i + 1]) for i in range(1, len(f), 2)})
    elif f and f[0] == "arenas":
        want["arenas"] = int(f[1])

def fail(msg):
    print("malloc_info: " + msg, file=sys.stderr)
    sys.exit(1)

try:
    root = ET.parse(xml_path).getroot()
except ET.ParseError as e:
    fail("not well-formed XML: %s" % e)
if root.tag != "malloc" or root.get("version") != "1":
    fail("the root is <%s version=%r>, expected <malloc version=\"1\">" % (root.tag, root.get("version")))

def one(parent, tag, kind, where):
    found = [e for e in parent.findall(tag) if e.get("type") == kind]
    if len(found) != 1:
        fail("%s: %d <%s type=\"%s\"> elements, expected 1" % (where, len(found), tag, kind))
    return found[0]

def num(e, attr):
    return int(e.get(attr))

heaps = root.findall("heap")
if len(heaps) != want["arenas"]:
    fail("%d <heap> elements, ta_get_stats says %d arenas in use" % (len(heaps), want["arenas"]))
nrs = [h.get("nr") for h in heaps]
if len(set(nrs)) != len(nrs):
    fail("heap numbers repeat: %s" % nrs)
sums = {"fast_n": 0, "fast": 0, "rest_n": 0, "rest": 0, "system": 0}
for h in heaps:
    where = "heap %s" % h.get("nr")
    sizes = h.find("sizes")
    if sizes is None:
        fail(where + ": no <sizes>")
    fast, rest = one(h, "total", "fast", where), one(h, "total", "rest", where)
    current = one(h, "system", "current", where)
    one(h, "system", "max", where)
    one(h, "aspace", "total", where)
    one(h, "aspace", "mprotect", where)
    classes = sizes.findall("size")
    if sum(num(c, "count") for c in classes) != num(rest, "count") or sum(num(c, "total") for c in classes) != num(rest, "size"):
        fail(where + ": the size classes do not sum to the rest total")
    for c in classes:
        lo, hi, total, count = num(c, "from"), num(c, "to"), num(c, "total"), num(c, "count")
        if not (count > 0 and lo * count <= total <= hi * count):
            fail(where + ": size class %d..%d holds %d bytes in %d blocks" % (lo, hi, total, count))
    if num(current, "size") <= 0 or num(current, "size") % (4 << 20):
        fail(where + ": system size %d is not a whole number of segments" % num(current, "size"))
    sums["fast_n"] += num(fast, "count")
    sums["fast"] += num(fast, "size")
    sums["rest_n"] += num(rest, "count")
    sums["rest"] += num(rest, "size")
    sums["system"] += num(current, "size")
checks = [
    ("fast count", num(one(root, "total", "fast", "totals"), "count"), sums["fast_n"], want["smblks"]),
    ("fast size", num(one(root, "total", "fast", "totals"), "size"), sums["fast"], want["fsmblks"]),
    ("rest count", num(one(root, "total", "rest", "totals"), "count"), sums["rest_n"], want["ordblks"]),
    ("rest size", num(one(root, "total", "rest", "totals"), "size"), sums["rest"], want["fordblks"] - want["fsmblks"]),
    ("system current", num(one(root, "system", "current", "totals"), "size"), sums["system"], want["arena"]),
]
for name, total, heap_sum, info in checks:
    if not total == heap_sum == info:
        fail("%s: total %d, heaps' sum %d, mallinfo2 %d" % (name, total, heap_sum, info))
mmap = one(root, "total", "mmap", "totals")
if num(mmap, "count") != want["hblks"] or num(mmap, "size") != want["hblkhd"] or want["hblks"] < 1:
    fail("mmap total count %s size %s, mallinfo2 hblks %d hblkhd %d (one live block expected)"
         % (mmap.get("count"), mmap.get("size"), want["hblks"], want["hblkhd"]))
print("malloc_info: %d heaps, rest %d blocks / %d bytes in %d size classes, fast %d blocks, mmap %d blocks / %d bytes:"
      " well-formed and equal to mallinfo2" % (len(heaps), sums["rest_n"], sums["rest"],
      sum(len(h.find("sizes").findall("size")) for h in heaps), sums["fast_n"], want["hblks"], want["hblkhd"]))
EOF
echo "PASS"
