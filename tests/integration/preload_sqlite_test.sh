#!/usr/bin/env bash
# preload_sqlite_test.sh - Debian's sqlite3 running sqlite_workload.sql (50,000 inserted rows, two
# indexes, updates that grow blobs, deletes, group-by, join, sort, WAL checkpoint, VACUUM,
# integrity_check) on a file database, with and without LD_PRELOAD=libtamalloc.so. Checks: both
# reports are identical; the aggregate lines equal values computed here independently (awk); the
# integrity check says "ok"; the database written under tamalloc, read back by a plain sqlite3,
# holds the same data as the one written without it; and tamalloc's stats show it served the run.
# Args: $1 libtamalloc.so, $2 sqlite_workload.sql.
. "$(dirname "$0")/lib.sh"
ta_setup "$1"
script=$(readlink -f "$2")
ta_require sqlite3 sqlite3

sqlite3 -batch -bail "$TA_TMP/plain.db" <"$script" >"$TA_TMP/plain.out" 2>"$TA_TMP/plain.err" ||
    { cat "$TA_TMP/plain.err" >&2; ta_fail "sqlite3 failed without tamalloc"; }
ta_preload sqlite3 -batch -bail "$TA_TMP/ta.db" <"$script" >"$TA_TMP/ta.out" 2>"$TA_TMP/ta.err" ||
    { cat "$TA_TMP/ta.err" >&2; ta_fail "sqlite3 failed under tamalloc"; }
ta_same "$TA_TMP/plain.out" "$TA_TMP/ta.out" "sqlite3 report"

# The expected aggregates, from the workload's definitions.
expected=$(awk 'BEGIN {
    for (i = 1; i <= 50000; i++) {
        g = i % 97; nl = 12 + 26 - i % 26; pl = 16 + (i % 13) * 40
        c++; sid += i; sg += g; sn += nl; sp += pl
        if (i % 11 == 0) continue
        if (g % 5 == 0) { pl *= 2; up++ }
        ac++; asid += i; asp += pl
    }
    printf "count|%d|%d|%d|%d|%d\nafter|%d|%d|%d|%d\n", c, sid, sg, sn, sp, ac, asid, asp, up
}')
while read -r line; do
    grep -qxF "$line" "$TA_TMP/ta.out" || { cat "$TA_TMP/ta.out" >&2; ta_fail "sqlite3: expected the line '$line'"; }
done <<<"$expected"
grep -qx 'ok' "$TA_TMP/ta.out" || ta_fail "sqlite3: integrity_check did not say ok"
grep -qx 'final|45455|1' "$TA_TMP/ta.out" || ta_fail "sqlite3: wrong final row count"

# The file tamalloc's run wrote, read without tamalloc, equals the plain run's.
dump() { sqlite3 -batch -bail "$1" 'PRAGMA integrity_check; SELECT id, grp, name, hex(payload) FROM item ORDER BY id; SELECT * FROM tag ORDER BY rowid;' | cksum; }
[ "$(dump "$TA_TMP/ta.db")" = "$(dump "$TA_TMP/plain.db")" ] || ta_fail "sqlite3: the database written under tamalloc differs"

echo "sqlite3: $(grep -c . "$TA_TMP/ta.out") result lines identical; $(sed -n 2,3p "$TA_TMP/ta.out" | tr '\n' ' ')"
ta_check_stats "$TA_TMP/ta.err" 50000 1 sqlite3
echo "PASS"
