#!/bin/bash
# heapmap_test.sh - the heap map end to end on a generated heap: heapmap_gen builds a known
# fragmented heap (990 free blocks and 50 pending remote frees in its thread's arena) and writes
# ta_heap_map's JSON beside the ta_heap_walk / ta_get_stats view; heapmap_check.py compares them;
# then the renderer must turn the map into a non-empty PNG (PNG signature) and an SVG (an <svg>
# document with the legend's figures), and must reject a file that is not a heap map.
# Args: $1 heapmap_gen, $2 heapmap_check.py, $3 the heapmap renderer.
set -euo pipefail
gen=$1 check=$2 render=$3
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/heapmap.XXXXXX")
py=/usr/bin/python3
if ! "$py" -c 'import matplotlib' 2>/dev/null; then
    echo "FAIL: $py cannot import matplotlib (install python3-matplotlib: scripts/install-packages.sh)"
    exit 1
fi

TAMALLOC_ARENAS=2 "$gen" "$tmp/map.json" "$tmp/expect.json"
"$py" "$check" "$tmp/map.json" "$tmp/expect.json"

"$py" "$render" "$tmp/map.json" -o "$tmp/map.png"
[ -s "$tmp/map.png" ] || { echo "FAIL: the renderer wrote no PNG"; exit 1; }
sig=$(head -c 8 "$tmp/map.png" | od -An -tx1 | tr -d ' \n')
[ "$sig" = 89504e470d0a1a0a ] || { echo "FAIL: map.png is not a PNG (signature $sig)"; exit 1; }
size=$(stat -c %s "$tmp/map.png")
[ "$size" -gt 5000 ] || { echo "FAIL: map.png is only $size bytes"; exit 1; }

"$py" "$render" "$tmp/map.json" -o "$tmp/map.svg"
grep -q '<svg' "$tmp/map.svg" || { echo "FAIL: map.svg is not an SVG document"; exit 1; }
# The legend carries the generator arena's figures: matplotlib draws SVG text as glyph paths by default, so
# render once more through the module with text kept as text, and look for them.
"$py" - "$render" "$tmp/map.json" "$tmp/text.svg" "$tmp/expect.json" <<'EOF'
import importlib.machinery, importlib.util, json, sys
import matplotlib
matplotlib.rcParams["svg.fonttype"] = "none"
loader = importlib.machinery.SourceFileLoader("heapmap", sys.argv[1])
spec = importlib.util.spec_from_loader("heapmap", loader)
mod = importlib.util.module_from_spec(spec)
loader.exec_module(mod)
doc = mod.load(sys.argv[2])
mod.render(doc, sys.argv[3])
svg = open(sys.argv[3]).read()
exp = json.load(open(sys.argv[4]))
a0 = next(a for a in doc["arenas"] if a["index"] == exp["main_arena"])
want = f"in {a0['free_blocks']} blocks"
if want not in svg or "pending 50" not in svg or "rover" not in svg:
    print(f"FAIL: the SVG legend lacks the arena's figures ({want!r}, 'pending 50') or the rover entry")
    sys.exit(1)
EOF

echo '{"not": "a heap map"}' >"$tmp/bad.json"
if "$py" "$render" "$tmp/bad.json" -o "$tmp/bad.png" 2>"$tmp/bad.err"; then
    echo "FAIL: the renderer accepted a file that is not a heap map"; exit 1
fi
grep -q 'not a tamalloc heap map' "$tmp/bad.err" || { echo "FAIL: no diagnostic for a bad map"; cat "$tmp/bad.err"; exit 1; }
echo "PASS: heap map checked against the walk and stats; PNG ($size bytes) and SVG rendered"
