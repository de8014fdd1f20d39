"""python_workload.py - a threaded workload for preload_python_test.sh.

Eight producer threads build dicts, lists, strings and bytes of many sizes (from a few bytes to
hundreds of KiB), keep some in a bounded window and drop the rest, and hand every fourth object to a
consumer thread through a queue, which verifies it and drops it there (a cross-thread free). Each
thread's results are a digest of what it built, so the printed report depends only on the seed and
never on scheduling: the test compares it between runs with and without tamalloc.
"""
import hashlib
import queue
import random
import sys
import threading

THREADS = 8
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
SEED = int(sys.argv[2], 0) if len(sys.argv) > 2 else 12345


def build(rng, kind):
    n = rng.choice((1, 3, 10, 60, 400, 3000, 20000))
    if kind == 0:
        return {("k%d" % i): ("v%d" % (i * 7)) * (i % 5 + 1) for i in range(n)}
    if kind == 1:
        base = rng.randrange(1 << 40)
        return [base + i * i for i in range(n)]
    if kind == 2:
        return rng.randbytes(min(n, 4096)).hex() * (n // 4096 + 1)
    return rng.randbytes(n)


def digest_of(obj):
    if isinstance(obj, dict):
        data = "|".join("%s=%s" % kv for kv in sorted(obj.items())).encode()
    elif isinstance(obj, list):
        data = ",".join(map(str, obj)).encode()
    elif isinstance(obj, str):
        data = obj.encode()
    else:
        data = obj
    return hashlib.sha256(data).hexdigest()[:16]


handoff = queue.Queue(maxsize=256)
results = {}
consumed = {"count": 0, "bad": 0}


def producer(tid):
    rng = random.Random(SEED * 1000 + tid)
    window = []
    h = hashlib.sha256()
    built = 0
    for r in range(ROUNDS):
        kind = rng.randrange(4)
        obj = build(rng, kind)
        d = digest_of(obj)
        h.update(d.encode())
        built += 1
        if r % 4 == 0:
            handoff.put((obj, d))
        else:
            window.append(obj)
            if len(window) > 32:
                # drop a random element, then grow and shrink a list of survivors
                window.pop(rng.randrange(len(window)))
                survivors = [x for x in window if len(x) % 2 == 0]
                del survivors
    results[tid] = (built, h.hexdigest()[:16])


def consumer():
    while True:
        item = handoff.get()
        if item is None:
            return
        obj, d = item
        consumed["count"] += 1
        if digest_of(obj) != d:
            consumed["bad"] += 1


def main():
    c = threading.Thread(target=consumer)
    c.start()
    ts = [threading.Thread(target=producer, args=(i,)) for i in range(THREADS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    handoff.put(None)
    c.join()
    total = 0
    for tid in sorted(results):
        built, dig = results[tid]
        total += built
        print("thread %d: built %d objects, digest %s" % (tid, built, dig))
    print("objects built %d, handed to the consumer %d, corrupted %d" % (total, consumed["count"], consumed["bad"]))
    if consumed["bad"]:
        sys.exit(1)


main()
