#!/bin/bash
# layering_test.sh - the include rules of alloc/ (STYLE.md §C1.6, §C2, §C8), checked mechanically:
#   1. only alloc/platform/ includes the OS headers (<sys/mman.h>, <pthread.h>, <stdatomic.h>,
#      <unistd.h>, <sys/syscall.h>, <sched.h>);
#   2. every alloc/ header (and source) includes alloc/ headers of its own layer or lower only,
#      per the table below; a header missing from the table is itself an error;
#   3. only alloc/shim/ defines the C library's allocation names (malloc(, free(, ...).
# Each violation is printed as file:line: reason. The script first runs itself on a small tree of
# planted violations and fails unless it reports every one of them (so it cannot pass vacuously).
set -u

# ---- the layer table ---------------------------------------------------------------------------
# L0 platform/*. L1 config assert fault options (track). L2 block bitmap segment freelist remote and
# segmap: segmap.h is listed at L2, not L3 as in STYLE.md §C2, because segment.h (L2) includes it
# for ta_span; segmap.h itself includes only config.h and platform/ headers, so L2 is consistent.
# L3 segment_ops large. L4 arena arena_table. L5 check stats init. L6 api_internal.
# tamalloc.h (the public contract, which includes no alloc/ header) counts as L1: any layer above
# the platform may use its types (stats.h does), the platform may not.
header_layer() {
    case "$1" in
        platform/*.h) echo 0 ;;
        tamalloc.h | include/tamalloc.h) echo 1 ;;
        config.h | assert.h | fault.h | options.h | track.h) echo 1 ;;
        block.h | bitmap.h | segment.h | freelist.h | remote.h | segmap.h) echo 2 ;;
        segment_ops.h | large.h) echo 3 ;;
        arena.h | arena_table.h) echo 4 ;;
        check.h | stats.h | init.h) echo 5 ;;
        api_internal.h | trace.h) echo 6 ;;
        *) echo "" ;;
    esac
}

# A source file's layer: that of its own header, with the exceptions spelled out.
source_layer() {
    case "$1" in
        platform/*.c) echo 0 ;;
        shim/*.c) echo 7 ;;
        api*.c) echo 6 ;;
        segment.c) echo 3 ;;   # implements segment_ops.h
        *.c) header_layer "${1%.c}.h" ;;
        *) echo "" ;;
    esac
}

OS_HEADERS='sys/mman\.h|pthread\.h|stdatomic\.h|unistd\.h|sys/syscall\.h|sched\.h'
LIBC_NAMES='malloc|free|calloc|realloc|reallocarray|posix_memalign|aligned_alloc|memalign|valloc|pvalloc|malloc_usable_size'

# lint ROOT: ROOT is an alloc/ directory. Prints violations; returns 1 if there were any.
lint() {
    local root="$1" bad=0 rel file line text layer inc inc_layer
    while IFS= read -r file; do
        rel="${file#"$root"/}"
        case "$rel" in
            *.h) layer="$(header_layer "$rel")" ;;
            *) layer="$(source_layer "$rel")" ;;
        esac
        if [ -z "$layer" ]; then
            echo "alloc/$rel:1: not in the layer table of tests/lint/layering_test.sh (add it with its layer)"
            bad=1
        fi
        # Rule 1: OS headers only in platform/.
        if [ "${rel#platform/}" = "$rel" ]; then
            while IFS=: read -r line text; do
                echo "alloc/$rel:$line: includes an OS header outside alloc/platform/: $text"
                bad=1
            done < <(grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*<($OS_HEADERS)>" "$file")
        fi
        # Rule 2: alloc/ includes go to the same layer or lower.
        if [ -n "$layer" ]; then
            while IFS=: read -r line text; do
                inc="$(sed -E 's/.*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/' <<<"$text")"
                inc="${inc#alloc/}"
                inc_layer="$(header_layer "$inc")"
                if [ -z "$inc_layer" ]; then
                    echo "alloc/$rel:$line: includes \"$inc\", which is not in the layer table"
                    bad=1
                elif [ "$inc_layer" -gt "$layer" ]; then
                    echo "alloc/$rel:$line: layer $layer file includes higher layer $inc_layer: $text"
                    bad=1
                fi
            done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file")
        fi
        # Rule 3: libc allocation names are defined only in shim/. A definition starts at column 0
        # with its return type (or the name itself) and does not end in ';', unless it is an alias.
        if [ "${rel#shim/}" = "$rel" ]; then
            while IFS=: read -r line text; do
                if [[ ! "$text" =~ \;[[:space:]]*$ || "$text" =~ alias ]]; then
                    echo "alloc/$rel:$line: defines a C library allocation function outside alloc/shim/: $text"
                    bad=1
                fi
            done < <(grep -nE "^([A-Za-z_][A-Za-z0-9_ ()\"]*[ *])?($LIBC_NAMES)[[:space:]]*\(" "$file")
        fi
    done < <(find -L "$root" -type f \( -name '*.c' -o -name '*.h' \) | LC_ALL=C sort)
    return $bad
}

# ---- self-test: every planted violation must be reported -------------------------------------
selftest() {
    local t out
    t="$(mktemp -d)"
    mkdir -p "$t/alloc/platform" "$t/alloc/shim"
    printf '#include <pthread.h>\n#include "alloc/platform/atomic.h"\n' >"$t/alloc/platform/lock.h"
    printf '#include "alloc/config.h"\n' >"$t/alloc/platform/atomic.h"                  # L0 -> L1
    printf '#include <stddef.h>\n' >"$t/alloc/config.h"
    printf '#include <sys/mman.h>\n#include "alloc/arena.h"\n' >"$t/alloc/block.h"       # OS + L2 -> L4
    printf '#include "alloc/block.h"\n' >"$t/alloc/arena.h"
    printf '#include "alloc/secret.h"\n' >"$t/alloc/check.h"                              # unknown include
    printf '/* nothing */\n' >"$t/alloc/mystery.h"                                        # not in the table
    printf '#include "alloc/block.h"\nvoid *malloc(size_t n) { return 0; }\n' >"$t/alloc/block.c"
    printf 'void free(void *p)\n{\n}\nvoid *calloc(size_t, size_t) __attribute__((alias("x")));\n' >"$t/alloc/options.c"
    printf '  p = malloc(3);\nvoid *realloc(void *, size_t);\n' >"$t/alloc/fault.c"   # a call and a declaration: fine
    printf '#include <unistd.h>\nvoid *malloc(size_t n) { return 0; }\n' >"$t/alloc/shim/override.c"
    out="$(lint "$t/alloc")"
    local want=(
        "alloc/platform/atomic.h:1: layer 0 file includes higher layer 1"
        "alloc/block.h:1: includes an OS header"
        "alloc/block.h:2: layer 2 file includes higher layer 4"
        "alloc/check.h:1: includes \"secret.h\", which is not in the layer table"
        "alloc/mystery.h:1: not in the layer table"
        "alloc/block.c:2: defines a C library allocation function"
        "alloc/options.c:1: defines a C library allocation function"
        "alloc/options.c:4: defines a C library allocation function"
        "alloc/shim/override.c:1: includes an OS header"
    )
    local ok=1 w
    for w in "${want[@]}"; do
        if ! grep -qF "$w" <<<"$out"; then echo "self-test: violation not reported: $w"; ok=0; fi
    done
    local n_out n_want=${#want[@]}
    n_out="$(grep -c . <<<"$out")"
    if [ "$n_out" -ne "$n_want" ]; then
        echo "self-test: expected $n_want reports, got $n_out:"; echo "$out"; ok=0
    fi
    rm -rf "$t"
    [ "$ok" = 1 ]
}

# ---- main --------------------------------------------------------------------------------------
if ! selftest; then
    echo "FAIL: the linter's self-test failed"
    exit 1
fi

ROOT=""
for cand in "${TEST_SRCDIR:-}/${TEST_WORKSPACE:-tamalloc}/alloc" "$(dirname "$0")/../../alloc"; do
    if [ -f "$cand/block.h" ]; then ROOT="$cand"; break; fi
done
if [ -z "$ROOT" ]; then
    echo "FAIL: cannot find the alloc/ sources (runfiles: ${TEST_SRCDIR:-unset})"
    exit 1
fi
nfiles="$(find -L "$ROOT" -type f \( -name '*.c' -o -name '*.h' \) | wc -l)"
if [ "$nfiles" -lt 20 ]; then
    echo "FAIL: only $nfiles alloc/ sources found under $ROOT"
    exit 1
fi
if lint "$ROOT"; then
    echo "PASS: $nfiles alloc/ files follow the layering rules"
    exit 0
fi
echo "FAIL: alloc/ breaks the layering rules (see above)"
exit 1
