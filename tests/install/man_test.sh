#!/usr/bin/env bash
# man_test.sh - tamalloc(3) (docs/tamalloc.3, mdoc) is clean under `mandoc -T lint` and complete:
#   - no mandoc message of level warning or above, and no style message other than the
#     cross-reference check (which depends on the machine's mandoc.db);
#   - the sections NAME, LIBRARY, SYNOPSIS, DESCRIPTION, RETURN VALUES, ENVIRONMENT, STATISTICS
#     FORMAT, HEAP MAP FORMAT, FILES, EXAMPLES, DIAGNOSTICS, SEE ALSO;
#   - ENVIRONMENT has an `.It Ev NAME` entry for exactly the TAMALLOC_* variables alloc/options.c
#     reads (a variable added there must be documented here, and none documented that is gone);
#   - DIAGNOSTICS has an `.It NAME` entry for every fault name of alloc/fault.c;
#   - every function of tamalloc.h is in the SYNOPSIS (.Fn) and described (.It Fn).
# Args: tamalloc.3 options.c fault.c tamalloc.h
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: $0 tamalloc.3 options.c fault.c tamalloc.h" >&2; exit 2; }
page=$1 options=$2 faults=$3 header=$4
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }
command -v mandoc >/dev/null ||
    { echo "FAIL: 'mandoc' is not installed (Debian package mandoc; install with scripts/install-packages.sh)" >&2; exit 1; }

# mandoc: warnings and above fail; style messages too, except the Xr look-ups in mandoc.db.
rc=0
lint=$(mandoc -T lint -W style "$page" 2>&1) || rc=$?
lint=$(grep -vE 'mandoc\.db|referenced manual not found' <<<"$lint" || true)
if [ -n "$lint" ]; then bad "mandoc -T lint -W style:"; echo "$lint" >&2; fi
if [ -z "$lint" ] && [ "$rc" -gt 1 ]; then
    # Exit 1 is "style messages only" (the filtered look-ups); above that, a real problem.
    bad "mandoc -T lint exited $rc"
fi
# Renders without error.
mandoc -T ascii "$page" >/dev/null || bad "mandoc -T ascii failed"

sections=$(sed -n 's/^\.Sh //p' "$page")
for s in NAME LIBRARY SYNOPSIS DESCRIPTION "RETURN VALUES" ENVIRONMENT "STATISTICS FORMAT" \
    "HEAP MAP FORMAT" FILES EXAMPLES DIAGNOSTICS "SEE ALSO"; do
    grep -qxF "$s" <<<"$sections" || bad "no section $s"
done

section() { # the lines of section $1
    awk -v s="$1" '/^\.Sh / { on = (substr($0, 5) == s); next } on' "$page"
}

# Environment variables.
read_vars=$(grep -oE 'getenv\("TAMALLOC_[A-Z0-9_]+"\)' "$options" | grep -oE 'TAMALLOC_[A-Z0-9_]+' | sort -u)
[ -n "$read_vars" ] || bad "no TAMALLOC_* variable found in $options"
doc_vars=$(section ENVIRONMENT | sed -n 's/^\.It Ev \(TAMALLOC_[A-Z0-9_]*\).*/\1/p' | sort -u)
for v in $(comm -23 <(echo "$read_vars") <(echo "$doc_vars")); do
    bad "$options reads $v, but tamalloc.3 does not document it (add an '.It Ev $v' entry to ENVIRONMENT)"
done
for v in $(comm -13 <(echo "$read_vars") <(echo "$doc_vars")); do
    bad "tamalloc.3 documents $v, which $options does not read"
done

# Fault names: the strings of fault_names[] ([TA_FAULT_X] = "name",).
fault_names=$(sed -n 's/^ *\[TA_FAULT_[A-Z_]*\] *= *"\(.*\)",*$/\1/p' "$faults")
[ -n "$fault_names" ] || bad "no fault names found in $faults"
diag=$(section DIAGNOSTICS)
while IFS= read -r f; do
    [ -n "$f" ] || continue
    grep -qxF ".It $f" <<<"$diag" || bad "fault '$f' ($faults) has no '.It $f' entry in DIAGNOSTICS"
done <<<"$fault_names"

# Functions of the header.
funcs=$(grep -oE '\bta_[a-z_]+\(' "$header" | tr -d '(' | sort -u)
synopsis=$(section SYNOPSIS)
description=$(section DESCRIPTION)
for fn in $funcs; do
    grep -qE "^\.Fn $fn( |$)" <<<"$synopsis" || bad "$fn (tamalloc.h) is not in the SYNOPSIS"
    grep -qE "^\.It Fn $fn( |$)" <<<"$description" || bad "$fn (tamalloc.h) is not described ('.It Fn $fn')"
done

[ "$fail" -eq 0 ] || exit 1
echo "PASS: tamalloc.3 lints clean; documents $(wc -w <<<"$read_vars") variables, $(grep -c . <<<"$fault_names") faults, $(wc -w <<<"$funcs") functions"
