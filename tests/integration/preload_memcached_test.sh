#!/usr/bin/env bash
# preload_memcached_test.sh - memcached -t 4 (Debian's memcached) serving 32 concurrent connections
# of set/get/multi-get/delete with every value verified (memcached_client.c), run twice: with the C
# library's malloc and with LD_PRELOAD=libtamalloc.so. Each run must lose or corrupt no value, the
# server's counters must match the client's, the two runs' reports must be identical, the server
# must shut down cleanly (exit status 0) and tamalloc's stats report must show it served the server
# from several arenas, with memcached's slab pages (1 MiB mallocs) in tamalloc's large blocks.
# Args: $1 libtamalloc.so, $2 memcached_client.
. "$(dirname "$0")/lib.sh"
ta_setup "$1"
client=$(readlink -f "$2")
ta_require memcached memcached

CONNS=32
OPS=${MEMCACHED_TEST_OPS:-5000}   # per connection
SEED=${TAMALLOC_TEST_SEED:-0x6d656d63}

# run_server NAME PRELOAD(0|1): starts memcached on a free loopback port, drives it, shuts it down.
run_server() {
    local name=$1 preload=$2 attempt port pid rc
    local -a cmd=(memcached -t 4 -m 64 -c 256 -U 0 -l 127.0.0.1 -A)
    [ "$(id -u)" -ne 0 ] || cmd+=(-u root)
    for attempt in 1 2 3 4 5; do
        port=$("$client" free-port) || ta_fail "no free port"
        if [ "$preload" = 1 ]; then
            ta_preload "${cmd[@]}" -p "$port" 2>"$TA_TMP/$name.err" &
        else
            "${cmd[@]}" -p "$port" 2>"$TA_TMP/$name.err" &
        fi
        pid=$!
        # Polls up to 100 times, 0.1 s apart, for the server to accept (no timed assertion).
        if "$client" wait "$port" 100; then break; fi
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        pid=""
        echo "memcached did not start on port $port (attempt $attempt):" >&2
        cat "$TA_TMP/$name.err" >&2
    done
    [ -n "$pid" ] || ta_fail "$name: memcached never started"
    if ! "$client" run "$port" "$CONNS" "$OPS" "$SEED" >"$TA_TMP/$name.out"; then
        kill "$pid" 2>/dev/null || true
        cat "$TA_TMP/$name.err" >&2
        ta_fail "$name: the client found a lost, stale or corrupted value"
    fi
    "$client" shutdown "$port" || ta_fail "$name: shutdown command"
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" -eq 0 ] || { cat "$TA_TMP/$name.err" >&2; ta_fail "$name: memcached exited with status $rc"; }
    echo "$name: $(head -1 "$TA_TMP/$name.out")"
}

run_server plain 0
run_server tamalloc 1
ta_same "$TA_TMP/plain.out" "$TA_TMP/tamalloc.out" "memcached client report"
cat "$TA_TMP/tamalloc.out"

# memcached's workers and its main thread allocate: expect at least 4 arenas, some hundreds of
# arena operations (connections, buffers) and its slab memory (>= 4 MiB of 1 MiB pages) in tamalloc.
ta_check_stats "$TA_TMP/tamalloc.err" 40 4 memcached
[ "$TA_LARGE" -ge $((4 << 20)) ] || ta_fail "memcached: only $TA_LARGE bytes of slab pages in tamalloc's large blocks"
if grep -v '^tamalloc stats: ' "$TA_TMP/tamalloc.err" | grep -q '^tamalloc: '; then
    cat "$TA_TMP/tamalloc.err" >&2
    ta_fail "memcached: tamalloc reported a fault"
fi
echo "PASS"
