#!/bin/bash
# layering_test.sh - the include rules of alloc/ (STYLE.md §C1.6, §C2, §C8), checked mechanically:
#   1. only alloc/platform/ includes the OS headers (<sys/mman.h>, <pthread.h>, <stdatomic.h>,
#      <unistd.h>, <sys/syscall.h>, <sched.h>);
#   2. every alloc/ file includes only its own module's header and headers of strictly lower rank,
#      per the table below (an include between equal ranks is an error); a file missing from the
#      table is itself an error;
#   3. only alloc/shim/ defines the C library's allocation names (malloc(, free(, ...);
#   4. the include graph between modules has no cycle.
# Each violation is printed as file:line: reason. The script first runs itself on a small tree of
# planted violations and fails unless it reports every one of them (so it cannot pass vacuously).
set -u

# ---- the rank table ----------------------------------------------------------------------------
# A module is a header and the source that implements it (x.h + x.c; platform/os.h + os_linux.c).
# Every module has a rank; a file includes its own module's header and headers of strictly lower
# rank only, so an include between two modules of equal rank is an error just as an include of a
# higher one is, and the module graph cannot have a cycle (checked on its own below as well).
# Layers (STYLE.md §C2) are the tens: L0 platform, L1 config/fault/options/assert/track, L2 the
# heap structures in a strict order (block < bitmap, segmap < fittree < segment < fitindex < freelist, remote <
# diagnose), L3 large, L4 arena < arena_table, decay, L5 the cache, check, stats < init, L6 the API, L7 the
# drop-in shim (trace < hooks < override, introspect). tamalloc.h (the public contract, which includes no
# alloc/ header) ranks with config.h: any layer above the platform may use its types.
header_rank() {
    case "$1" in
        platform/compiler.h) echo 0 ;;
        platform/atomic.h) echo 1 ;;
        platform/os.h | platform/lock.h | platform/tls.h | platform/thread.h | platform/symbolize.h | platform/unwind.h) echo 2 ;;
        config.h | tamalloc.h | include/tamalloc.h | track.h) echo 10 ;;
        fault.h | options.h) echo 11 ;;
        assert.h) echo 12 ;;
        block.h) echo 20 ;;
        bitmap.h | segmap.h) echo 21 ;;
        fittree.h) echo 22 ;;
        segment.h) echo 23 ;;
        fitindex.h) echo 24 ;;
        freelist.h | remote.h) echo 25 ;;
        diagnose.h) echo 26 ;;
        large.h) echo 30 ;;
        arena.h) echo 40 ;;
        arena_table.h) echo 41 ;;
        decay.h) echo 42 ;;
        background.h) echo 43 ;;
        prof.h) echo 44 ;;
        cache.h) echo 50 ;;
        check.h | stats.h) echo 51 ;;
        init.h) echo 52 ;;
        api_internal.h) echo 60 ;;
        api_fast.h) echo 61 ;;
        shim/trace.h) echo 70 ;;
        shim/hooks.h) echo 71 ;;
        *) echo "" ;;
    esac
}

# A source file's module header ("" when it has none: its rank is given directly).
source_module() {
    case "$1" in
        platform/os_linux.c) echo platform/os.h ;;
        api*.c | shim/override.c | shim/introspect.c) echo "" ;;
        *.c) echo "${1%.c}.h" ;;
    esac
}

# A file's rank: its module header's; api*.c, shim/override.c and shim/introspect.c rank above what
# they include.
file_rank() {
    case "$1" in
        *.h) header_rank "$1" ;;
        api*.c) echo 62 ;;
        shim/override.c | shim/introspect.c) echo 72 ;;
        *.c) header_rank "$(source_module "$1")" ;;
    esac
}

OS_HEADERS='sys/mman\.h|pthread\.h|stdatomic\.h|unistd\.h|sys/syscall\.h|sched\.h'
LIBC_NAMES='malloc|free|calloc|realloc|reallocarray|posix_memalign|aligned_alloc|memalign|valloc|pvalloc|malloc_usable_size|mallinfo2?|mallopt|malloc_info|malloc_stats'

# lint ROOT: ROOT is an alloc/ directory. Prints violations; returns 1 if there were any.
lint() {
    local root="$1" bad=0 rel file line text rank own inc inc_rank edges
    edges="$(mktemp)"
    while IFS= read -r file; do
        rel="${file#"$root"/}"
        rank="$(file_rank "$rel")"
        own=""
        case "$rel" in *.c) own="$(source_module "$rel")" ;; *) own="$rel" ;; esac
        if [ -z "$rank" ]; then
            echo "alloc/$rel:1: not in the rank table of tests/lint/layering_test.sh (add it with its rank)"
            bad=1
        fi
        # Rule 1: OS headers only in platform/.
        if [ "${rel#platform/}" = "$rel" ]; then
            while IFS=: read -r line text; do
                echo "alloc/$rel:$line: includes an OS header outside alloc/platform/: $text"
                bad=1
            done < <(grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*<($OS_HEADERS)>" "$file")
        fi
        # Rule 2: alloc/ includes go to the file's own module header or to a strictly lower rank.
        while IFS=: read -r line text; do
            inc="$(sed -E 's/.*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/' <<<"$text")"
            inc="${inc#alloc/}"
            case "$inc" in include/tamalloc.h) inc=tamalloc.h ;; esac
            [ "$inc" = "$own" ] && continue
            echo "${own:-$rel} $inc" >>"$edges"
            [ -n "$rank" ] || continue
            inc_rank="$(header_rank "$inc")"
            if [ -z "$inc_rank" ]; then
                echo "alloc/$rel:$line: includes \"$inc\", which is not in the rank table"
                bad=1
            elif [ "$inc_rank" -gt "$rank" ]; then
                echo "alloc/$rel:$line: rank $rank file includes higher rank $inc_rank: $text"
                bad=1
            elif [ "$inc_rank" -eq "$rank" ]; then
                echo "alloc/$rel:$line: rank $rank file includes another module of equal rank: $text"
                bad=1
            fi
        done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file")
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
    # Rule 4: the module include graph has no cycle (tsort names the modules of one).
    local loop
    loop="$(tsort "$edges" 2>&1 >/dev/null | grep -v 'input contains a loop' | sed 's/^tsort: //' | tr '\n' ' ')"
    if [ -n "$loop" ]; then
        echo "alloc: include cycle among modules: $loop"
        bad=1
    fi
    rm -f "$edges"
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
    printf '#include "alloc/remote.h"\n' >"$t/alloc/freelist.h"                          # equal rank (25)
    printf '#include "alloc/freelist.h"\n' >"$t/alloc/remote.h"                          # ... and a cycle
    printf '#include "alloc/stats.h"\n' >"$t/alloc/check.c"                              # equal rank (51)
    out="$(lint "$t/alloc")"
    local want=(
        "alloc/platform/atomic.h:1: rank 1 file includes higher rank 10"
        "alloc/block.h:1: includes an OS header"
        "alloc/block.h:2: rank 20 file includes higher rank 40"
        "alloc/check.h:1: includes \"secret.h\", which is not in the rank table"
        "alloc/mystery.h:1: not in the rank table"
        "alloc/block.c:2: defines a C library allocation function"
        "alloc/options.c:1: defines a C library allocation function"
        "alloc/options.c:4: defines a C library allocation function"
        "alloc/shim/override.c:1: includes an OS header"
        "alloc/freelist.h:1: rank 25 file includes another module of equal rank"
        "alloc/remote.h:1: rank 25 file includes another module of equal rank"
        "alloc/check.c:1: rank 51 file includes another module of equal rank"
        "alloc: include cycle among modules: "
    )
    local ok=1 w
    for w in "${want[@]}"; do
        if ! grep -qF "$w" <<<"$out"; then echo "self-test: violation not reported: $w"; ok=0; fi
    done
    # the cycle report names both modules of the planted cycle, and only them
    if ! grep -E '^alloc: include cycle' <<<"$out" | grep -q 'freelist.h' ||
        ! grep -E '^alloc: include cycle' <<<"$out" | grep -q 'remote.h'; then
        echo "self-test: the planted freelist.h <-> remote.h cycle is not named"; ok=0
    fi
    local n_out n_want=${#want[@]}
    n_out="$(grep -c . <<<"$out")"
    if [ "$n_out" -ne "$n_want" ]; then
        echo "self-test: expected $n_want reports, got $n_out:"; echo "$out"; ok=0
    fi
    # A cycle alone (modules outside the rank table, so no rank report) is still reported.
    rm -rf "$t"; t="$(mktemp -d)"; mkdir -p "$t/alloc"
    printf '#include "alloc/b_mod.h"\n' >"$t/alloc/a_mod.h"
    printf '#include "alloc/a_mod.h"\n' >"$t/alloc/b_mod.h"
    out="$(lint "$t/alloc")"
    if ! grep -q '^alloc: include cycle among modules: .*a_mod.h' <<<"$out"; then
        echo "self-test: a cycle between two unranked modules was not reported:"; echo "$out"; ok=0
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
    echo "PASS: $nfiles alloc/ files follow the rank and layering rules; no include cycle"
    exit 0
fi
echo "FAIL: alloc/ breaks the layering rules (see above)"
exit 1
