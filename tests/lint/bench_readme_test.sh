#!/bin/bash
# bench_readme_test.sh - the README's benchmark figures come only from the runner (bench/run.py):
#   1. the lines between <!-- bench:begin --> and <!-- bench:end --> are exactly what
#      `bench/run.py --readme README.md --from docs/bench` writes from docs/bench/summary.json
#      (regenerated into a copy of the README and diffed);
#   2. outside those lines the README holds no benchmark-like figure: a number directly followed by
#      x or ×, or followed by % (a space allowed), " instructions" or " ops" (hex such as 0x… is
#      not a figure), or a pair of decimals "0.34 / 0.22" as the block's ratio table prints them,
#      apart from the workload parameters and other-report figures allowed below.
# The checker then runs on copies with planted violations (a number changed inside the block;
# figures added to the prose, one of them next to allowed text) and the test fails unless it rejects
# every one, for the right reason, so it cannot pass vacuously.
# Args: $1 bench/run.py, $2 README.md, $3 docs/bench/summary.json.
set -u
export LC_ALL=C # byte-wise matching: × and – are fixed byte sequences
run=$1 readme=$2 summary=$3
report=$(dirname "$summary")
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/bench_readme.XXXXXX")
py=/usr/bin/python3 # Debian's, as bench/run.sh uses
[ -x "$py" ] || py=python3
begin='<!-- bench:begin -->' end='<!-- bench:end -->'

# Text removed from a line before the figure pattern is applied to it (the rest of the line is
# still checked). Only figures that are not results of bench/run.py belong here.
allowed=(
    "plus 1% of 128 KiB..1 MiB"                               # churn's size mix (bench/churn.c)
    "30% of operations grow a block with realloc (1.25x..2x)" # churn's realloc growth
    "(90% get, 10% set"                                       # mc_bench's request mix
    "(20-33 % more heap)" # docs/policies.md (tools/record_traces.sh), not a bench/run.py result
)
figure='(?<![\w.])(?!0x)\d[\d.,]*[kMG]?(?:(?:x|×)(?!\w)|\s?%|\s(?:instructions|ops)\b)'
figure+='|\d\.\d+ / \d\.\d+'

# check FILE: prints what is wrong with FILE; status 1 if anything is.
check() {
    local f=$1 bad=0 nb ne line a
    nb=$(grep -c -x -F "$begin" "$f") ne=$(grep -c -x -F "$end" "$f")
    if [ "$nb" != 1 ] || [ "$ne" != 1 ]; then
        echo "FAIL: $f needs one line $begin and one line $end (has $nb and $ne)"
        return 1
    fi

    cp "$f" "$tmp/regen.md"
    if ! "$py" "$run" --readme "$tmp/regen.md" --from "$report" >"$tmp/gen.log" 2>&1; then
        echo "FAIL: bench/run.py --readme ... --from $report failed:"
        cat "$tmp/gen.log"
        return 1
    fi
    if ! diff -u "$f" "$tmp/regen.md" >"$tmp/diff"; then
        echo "FAIL: the benchmark block differs from what bench/run.py writes from $summary" \
            "(- README, + generated; to update it:" \
            "python3 bench/run.py --readme README.md --from docs/bench):"
        tail -n +3 "$tmp/diff" | grep '^[-+]'
        bad=1
    fi

    # The lines outside the block, as "line number: text", allowed text removed.
    awk -v b="$begin" -v e="$end" '$0 == b { on = 1 } !on { print NR ": " $0 } $0 == e { on = 0 }' \
        "$f" >"$tmp/prose"
    while IFS= read -r line; do
        for a in "${allowed[@]}"; do line=${line//"$a"/}; done
        printf '%s\n' "$line"
    done <"$tmp/prose" >"$tmp/prose_checked"
    if grep -P "$figure" "$tmp/prose_checked" >"$tmp/hits"; then
        echo "FAIL: benchmark-like figures outside the generated block of $f (line: text); put" \
            "them in the block (bench/run.py, from summary.json) or delete them:"
        cat "$tmp/hits"
        bad=1
    fi
    return $bad
}

if ! check "$readme"; then
    exit 1
fi

# ---- planted violations: each must be rejected, for its own reason ------------------------------
fail=0
# (a) a number inside the block changed: the first ratio of the first table row, one digit up.
awk -v b="$begin" '
    $0 == b { on = 1 }
    on && !done && /^\| [a-z_]+ \| [0-9]+\.[0-9]/ {
        i = match($0, /[0-9]/); d = substr($0, i, 1)
        $0 = substr($0, 1, i - 1) ((d + 1) % 10) substr($0, i + 1); done = 1
    }
    { print }' "$readme" >"$tmp/planted.md"
if cmp -s "$readme" "$tmp/planted.md"; then
    echo "FAIL: could not plant a changed number in the block (no table row found)"
    fail=1
elif check "$tmp/planted.md" >"$tmp/out" || ! grep -q "the benchmark block differs" "$tmp/out"; then
    echo "FAIL: a changed number in the block was not caught:"
    cat "$tmp/out"
    fail=1
fi
# (b) figures added to the prose outside the block, one at a time.
planted=(
    "tamalloc is 2.5x faster than glibc on larson."
    "TAMALLOC_CHECK=0 runs 0-4 % faster than level 1."
    "The fast path costs 644 instructions per pair."
    "It reaches 11.5M ops/s on xmalloc."
    "Level 2 is 6,600× slower."
    "| larson | 0.34 / 0.22 | 0.40 / 0.20 |"
)
for p in "${planted[@]}"; do
    { cat "$readme"; printf '\n%s\n' "$p"; } >"$tmp/planted.md"
    if check "$tmp/planted.md" >"$tmp/out" ||
        ! grep -q "benchmark-like figures outside" "$tmp/out" ||
        grep -q "the benchmark block differs" "$tmp/out"; then
        echo "FAIL: the planted prose figure \"$p\" was not caught (or not for that reason):"
        cat "$tmp/out"
        fail=1
    fi
done
# (c) a figure added to a line that also holds allowed text: only that text is exempt.
sed 's/(90% get, 10% set/(90% get, 10% set, 2.6x glibc/' "$readme" >"$tmp/planted.md"
if cmp -s "$readme" "$tmp/planted.md"; then
    echo "FAIL: could not plant a figure next to allowed text (mc_bench's request mix not found)"
    fail=1
elif check "$tmp/planted.md" >"$tmp/out" || ! grep -q "benchmark-like figures outside" "$tmp/out"
then
    echo "FAIL: a figure next to allowed text was not caught:"
    cat "$tmp/out"
    fail=1
fi
[ "$fail" -eq 0 ] || exit 1
echo "PASS: the README's benchmark block is what bench/run.py writes from $summary, the prose" \
    "outside it holds no benchmark figure, and $((2 + ${#planted[@]})) planted violations" \
    "were caught"
