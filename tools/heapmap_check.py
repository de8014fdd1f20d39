#!/usr/bin/python3
"""heapmap_check.py - compares a ta_heap_map JSON (MAP) with the heap_walk/stats view of the same
heap written by heapmap_gen (EXPECT). Fails (exit 1, one line per problem) unless:
  - the map parses as JSON and names the same arenas, in index order, as the walk;
  - every arena's blocks, as base + offset, size and state (0 allocated, 1 free, 2 cached in a
    thread cache), are exactly the walk's blocks, in
    address order, and tile each segment (offsets contiguous from 0, sizes summing to its size);
  - the rover is the block the walk marks is_rover (or null when the walk marks none);
  - the per-arena figures (used/free/cached bytes and blocks, largest free, external
    fragmentation) are those of the blocks, free bytes and blocks agree with ta_get_arena_stats,
    cached blocks with its cached_blocks, pending with its remote_pending; the totals agree with
    ta_get_stats;
  - the generator's arena has the free-block count and the pending count heapmap_gen built.
Usage: heapmap_check.py MAP.json EXPECT.json
"""
import json
import sys


def main(map_path, expect_path):
    errors = []

    def check(cond, msg):
        if not cond:
            errors.append(msg)

    with open(map_path) as f:
        doc = json.load(f)
    with open(expect_path) as f:
        exp = json.load(f)

    check(doc.get("tamalloc_heap_map") == 1, "missing tamalloc_heap_map marker")
    for k, v in exp["stats"].items():
        check(doc["stats"].get(k) == v, f"stats.{k}: map {doc['stats'].get(k)} != ta_get_stats {v}")

    walk = {w["arena"]: w["blocks"] for w in exp["walk"]}
    astats = {a["index"]: a for a in exp["arena_stats"]}
    map_indices = [a["index"] for a in doc["arenas"]]
    check(map_indices == sorted(astats), f"arenas {map_indices} != in-use arenas {sorted(astats)}")

    for arena in doc["arenas"]:
        i = arena["index"]
        blocks = []
        rover_addr = None
        for k, seg in enumerate(arena["segments"]):
            at = 0
            for off, size, state in seg["blocks"]:
                check(off == at, f"arena {i} seg {k}: block at offset {off}, expected {at} (not tiled)")
                check(state in (0, 1, 2), f"arena {i} seg {k}: block at offset {off} has state {state}")
                at = off + size
                blocks.append([seg["base"] + off, size, state])
                if arena["rover"] and arena["rover"]["segment"] == k and arena["rover"]["offset"] == off:
                    rover_addr = seg["base"] + off
            check(at == seg["size"], f"arena {i} seg {k}: blocks end at {at}, segment size {seg['size']}")
        wblocks = walk.get(i, [])
        check([b[:3] for b in wblocks] == blocks,
              f"arena {i}: {len(blocks)} map blocks differ from the walk's {len(wblocks)}")
        wrover = [b[0] for b in wblocks if b[3]]
        check(len(wrover) <= 1, f"arena {i}: the walk marks {len(wrover)} rovers")
        check((wrover[0] if wrover else None) == rover_addr,
              f"arena {i}: map rover {rover_addr} != walk rover {wrover}")
        if arena["rover"]:
            check(rover_addr is not None, f"arena {i}: the rover {arena['rover']} is not at a block start")

        free = [b[1] for b in blocks if b[2] == 1]
        used = [b[1] for b in blocks if b[2] == 0]
        cached = [b[1] for b in blocks if b[2] == 2]
        want = {"free_bytes": sum(free), "free_blocks": len(free), "largest_free": max(free, default=0),
                "used_bytes": sum(used), "used_blocks": len(used),
                "cached_bytes": sum(cached), "cached_blocks": len(cached)}
        for k, v in want.items():
            check(arena[k] == v, f"arena {i}: {k} {arena[k]} != {v} from its blocks")
        frag = 1.0 - want["largest_free"] / want["free_bytes"] if want["free_bytes"] else 0.0
        check(abs(float(arena["external_fragmentation"]) - frag) < 2e-6,
              f"arena {i}: external_fragmentation {arena['external_fragmentation']} != {frag:.6f}")
        st = astats.get(i, {})
        check(arena["free_bytes"] == st.get("free"), f"arena {i}: free_bytes != ta_get_arena_stats free {st.get('free')}")
        check(arena["free_blocks"] == st.get("free_blocks"), f"arena {i}: free_blocks != stats {st.get('free_blocks')}")
        check(arena["cached_blocks"] == st.get("cached_blocks"),
              f"arena {i}: cached_blocks != stats {st.get('cached_blocks')}")
        check(arena["pending"] == st.get("pending"), f"arena {i}: pending {arena['pending']} != stats {st.get('pending')}")
        check(arena["allocated"] == st.get("allocated"), f"arena {i}: allocated != stats {st.get('allocated')}")

    main = exp["main_arena"]
    a0 = next((a for a in doc["arenas"] if a["index"] == main), None)
    check(a0 is not None, f"no arena {main} (heapmap_gen's) in the map")
    if a0:
        check(a0["free_blocks"] == exp["expect_free_blocks"],
              f"arena {main}: {a0['free_blocks']} free blocks, heapmap_gen built {exp['expect_free_blocks']}")
        check(a0["pending"] == exp["expect_pending"],
              f"arena {main}: {a0['pending']} pending, heapmap_gen queued {exp['expect_pending']}")
        check(0.0 < float(a0["external_fragmentation"]) < 1.0,
              f"arena {main}: a fragmented heap must have 0 < ext. frag. < 1")

    for e in errors:
        print("FAIL:", e)
    if errors:
        return 1
    nblocks = sum(len(s["blocks"]) for a in doc["arenas"] for s in a["segments"])
    print(f"PASS: heap map of {len(doc['arenas'])} arenas, {nblocks} blocks matches ta_heap_walk and the stats")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
