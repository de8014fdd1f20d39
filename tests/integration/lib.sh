# lib.sh - shared by the preload_*_test.sh integration tests (sourced, not run).
# Usage in a test: . "$(dirname "$0")/lib.sh"; ta_setup "$1" (the $(location) of libtamalloc.so).
#   ta_require PROGRAM PACKAGE   fails the test ("FAIL: 'PROGRAM' is not installed ...", exit 1)
#                                when PROGRAM is not on the test's PATH: a missing program is a
#                                broken set-up, never a pass (scripts/packages.txt lists them)
#   ta_preload CMD...            runs CMD with LD_PRELOAD=libtamalloc.so and TAMALLOC_STATS=1
#   ta_check_stats FILE MIN_OPS MIN_ARENAS NAME
#                                finds the "tamalloc stats:" report in FILE (a captured stderr) and
#                                fails unless tamalloc served the run: at least MIN_ARENAS arenas,
#                                mapped memory, and at least MIN_OPS arena lock acquisitions (the sum
#                                of the report's "acquired" column: the thread caches serve most small
#                                calls without the lock, so these count refills, flushes, drains and
#                                calls of uncached sizes).
#                                Sets TA_OPS, TA_ARENAS, TA_REMOTE (remote frees pushed) and TA_LARGE
#                                (bytes in live direct-mapped blocks at exit).
set -euo pipefail

ta_fail() { echo "FAIL: $*" >&2; exit 1; }

ta_setup() {
    [ $# -ge 1 ] || ta_fail "usage: $0 path/to/libtamalloc.so"
    TA_LIB=$(readlink -f "$1")
    [ -f "$TA_LIB" ] || ta_fail "libtamalloc.so not found at $1"
    TA_TMP=$(mktemp -d "${TEST_TMPDIR:-/tmp}/ta_integration.XXXXXX")
    export TA_LIB TA_TMP
    # The environment of the comparison runs must not differ except for the preload.
    unset LD_PRELOAD $(compgen -e | grep '^TAMALLOC_') || true
}

ta_require() {
    command -v "$1" >/dev/null 2>&1 ||
        ta_fail "'$1' is not installed (Debian package $2; install with scripts/install-packages.sh)"
}

ta_preload() { LD_PRELOAD="$TA_LIB" TAMALLOC_STATS=1 "$@"; }

ta_check_stats() {
    local file=$1 min_ops=$2 min_arenas=$3 name=$4 parsed
    grep -q '^tamalloc stats: ' "$file" || { sed 's/^/  stderr: /' "$file" >&2; ta_fail "$name: no tamalloc stats report (was it preloaded?)"; }
    parsed=$(awk '
        /^tamalloc stats: / {
            n++; if (n > 1) next; inrep = 1
            for (i = 1; i <= NF; i++) {
                if ($i == "mapped") mapped = $(i + 1) + 0
                if ($i == "arenas") arenas = $(i + 1) + 0
                if ($i == "pushed") pushed = $(i + 1) + 0
                if ($i == "large") large = $(i + 1) + 0
            }
            next
        }
        inrep && $1 == "arena" { next }
        inrep && NF == 13 && $1 ~ /^[0-9]+$/ { ops += $11; rows++; next }
        inrep { inrep = 0 }
        END { printf "%d %d %d %d %d %d %d\n", n, mapped, arenas, pushed, ops, rows, large }' "$file")
    local reports mapped rows
    read -r reports mapped TA_ARENAS TA_REMOTE TA_OPS rows TA_LARGE <<<"$parsed"
    [ "$reports" -eq 1 ] || ta_fail "$name: expected one stats report, found $reports"
    [ "$mapped" -gt 0 ] || ta_fail "$name: tamalloc mapped no memory"
    [ "$rows" -eq "$TA_ARENAS" ] || ta_fail "$name: $rows arena rows for $TA_ARENAS arenas"
    [ "$TA_ARENAS" -ge "$min_arenas" ] || ta_fail "$name: $TA_ARENAS arenas in use, expected at least $min_arenas"
    [ "$TA_OPS" -ge "$min_ops" ] || ta_fail "$name: only $TA_OPS arena operations, expected at least $min_ops"
    echo "$name: tamalloc served it: $TA_OPS arena lock acquisitions, $TA_ARENAS arenas, $TA_REMOTE remote frees, $mapped bytes mapped ($TA_LARGE in large blocks)"
}

# Fails unless the two files are identical, showing the difference.
ta_same() {
    if ! cmp -s "$1" "$2"; then
        diff "$1" "$2" | head -20 >&2 || true
        ta_fail "$3: output differs with LD_PRELOAD=libtamalloc.so"
    fi
}
