#!/usr/bin/python3
"""Rebuilds a report folder's summary.json from its results.md, for a report whose summary.json and
raw.csv were not kept (docs/bench, the full run of 2026-11-22, was committed without them).

    python3 bench/summary_from_results.py docs/bench

Every value is parsed from results.md at its printed precision (rates 3 significant figures, RSS
0.1 MiB, spreads whole per cent, callgrind counts whole instructions); the ratios are the printed
ones, not recomputed from the rounded medians, and a check level's slowdown gives level 2's ratio.
What results.md does not print stays null (the min and max of the repetitions, the host name). The
file's meta says it was rebuilt ("rebuilt_from").

Before writing, it renders results.md again from the rebuilt data with bench/run.py's own
write_report and fails unless that equals the original byte for byte: nothing was lost or changed.
Only Debian's python3 standard library is used.
"""

import decimal
import json
import os
import re
import sys
import tempfile

sys.dont_write_bytecode = True  # no bench/__pycache__ from importing the runner
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (bench/run.py)

SUFFIX = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9}


def die(msg):
    print("summary_from_results: " + msg, file=sys.stderr)
    sys.exit(1)


def number(text, scale=1):
    """A printed number times scale, without binary rounding noise (7.1 MiB -> 7270.4 KiB)."""
    return float(decimal.Decimal(text) * scale)


def rate(text):
    m = re.fullmatch(r"([0-9.]+)([kMG]?)", text)
    if not m:
        die("not a rate: %r" % text)
    return number(m.group(1), SUFFIX[m.group(2)])


def cell(text, parse):
    """(median, spread) of a "median (spread%)" cell; (None, None) for "—" or FAIL."""
    if text in ("—", "FAIL"):
        return None, None
    m = re.fullmatch(r"(\S+) \((\d+)%\)", text)
    if not m:
        die("not a table cell: %r" % text)
    return parse(m.group(1)), number(m.group(2), decimal.Decimal("0.01"))


def ratio(text):
    """(ratio, best peer name or None) of "0.22 (tcmalloc)", "3.75" or "—"."""
    if text == "—":
        return None, None
    m = re.fullmatch(r"([0-9.]+)(?: \((\w+)\))?", text)
    if not m:
        die("not a ratio: %r" % text)
    return number(m.group(1)), m.group(2)


def sections(text):
    """{"## title": [lines]} of results.md, and the lines before the first section."""
    out, cur, head = {}, None, []
    for line in text.split("\n"):
        if line.startswith("## "):
            cur = out.setdefault(line[3:], [])
        elif cur is None:
            head.append(line)
        else:
            cur.append(line)
    return head, out


def table(lines, after=None):
    """The rows (lists of cells) of the first markdown table in lines (after the line starting
    with `after`, if given), header excluded."""
    if after:
        lines = lines[next(i for i, l in enumerate(lines) if l.startswith(after)):]
    rows, seen = [], False
    for line in lines:
        if line.startswith("|"):
            seen = True
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif seen:
            break
    if len(rows) < 2:
        die("no table%s" % (" after " + after if after else ""))
    return rows[0], rows[2:]


def main():
    if len(sys.argv) != 2:
        die("usage: summary_from_results.py REPORT_DIR")
    folder = sys.argv[1]
    src = os.path.join(folder, "results.md")
    with open(src) as f:
        original = f.read()
    head, sec = sections(original)

    meta = {}
    for line in head:
        m = re.match(r"- (Date|Machine|Load average at start / end|Mode|Allocators): (.*)$", line)
        if m:
            meta[m.group(1)] = m.group(2)
    mm = re.fullmatch(r"(\d+) CPUs \(nproc\), (.*), kernel (\S+), (.*)", meta["Machine"])
    lm = re.fullmatch(r"(\S+) / (\S+)", meta["Load average at start / end"])
    rm = re.fullmatch(r"(\w+); (\d+) repetitions per cell, allocators interleaved; (\d+) runs in "
                      r"(\d+) s", meta["Mode"])
    if not (mm and lm and rm):
        die("unexpected header lines in " + src)
    alloc_text = meta["Allocators"].split("; ")
    allocators = [a.split()[0] for a in alloc_text]
    if re.search(r"^\*\*\d+ runs failed\*\*", original, re.M):
        # Which cells lost how many repetitions is not printed (only the first 20 failures are).
        die("%s reports failed runs; their per-cell counts cannot be rebuilt from it" % src)
    reps = int(rm.group(2))
    out_meta = {
        "date": meta["Date"],
        "machine": {"nproc": int(mm.group(1)), "cpu": mm.group(2), "kernel": mm.group(3),
                    "memory": mm.group(4), "hostname": None},
        "mode": rm.group(1),
        "reps": reps,
        "runs": int(rm.group(3)),
        "elapsed": float(rm.group(4)),
        "load_start": lm.group(1),
        "load_end": lm.group(2),
        "allocators": dict(zip(allocators, alloc_text)),
        "rebuilt_from": "results.md",
        "rebuilt_note": "raw.csv and summary.json of this run were not kept; every value is "
                        "parsed from results.md at its printed precision by "
                        "bench/summary_from_results.py, ratios as printed; null = not printed",
    }

    summary, ratios = {}, {}
    metrics = [("Throughput (higher is better)", "ops_med", "ops_spread", rate),
               ("Peak RSS, MiB (lower is better)", "rss_med", "rss_spread",
                lambda x: number(x, 1024)),
               ("memcached p99 latency, µs (lower is better)", "p99_med", "p99_spread", number)]
    for title, key, spread_key, parse in metrics:
        if title not in sec:
            continue
        hdr, rows = table(sec[title])
        if hdr[2:2 + len(allocators)] != allocators:
            die("allocator columns of %r differ from the header's list" % title)
        for row in rows:
            wk, t = row[0], int(row[1])
            for a, text in zip(allocators, row[2:2 + len(allocators)]):
                s = summary.setdefault(wk, {}).setdefault(t, {}).setdefault(a, {
                    "failed": 0, "n": reps, "ops_med": None, "ops_spread": None,
                    "ops_min": None, "ops_max": None, "rss_med": None, "rss_spread": None,
                    "p99_med": None, "p99_spread": None, "frag_med": None})
                s[key], s[spread_key] = cell(text, parse)
            rg, _ = ratio(row[-2])
            rb, best = ratio(row[-1])
            if summary[wk][t]["tamalloc"][key] is not None:
                ratios.setdefault(key, {}).setdefault(wk, {})[t] = {
                    "glibc": rg, "best_peer": rb, "best_peer_name": best}
    for key, _ in run.RATIO_METRICS:
        ratios.setdefault(key, {})
    workloads = [w for w in run.WORKLOADS if w.key in summary]
    if [w.key for w in workloads] != list(summary):
        die("workloads of %s are not bench/run.py's, in its order" % src)
    threads = sorted(next(iter(summary.values())))

    frag_title = "Fragmentation: peak RSS over peak live bytes"
    if frag_title in sec:
        hdr, rows = table(sec[frag_title])
        for row in rows:
            for a, text in zip(hdr[1:], row[1:]):
                summary["frag"][int(row[0])][a]["frag_med"] = \
                    None if text == "—" else number(text.rstrip("%"))

    callgrind = {}
    cg_title = "Fast path: instructions per malloc/free pair (callgrind)"
    if cg_title in sec:
        hdr, rows = table(sec[cg_title])
        row = rows[0]
        for a, text in zip(hdr, row):
            if a in allocators and text != "—":
                callgrind[a] = number(text)
        rg, _ = ratio(row[-2])
        rb, best = ratio(row[-1])
        ratios["callgrind"] = {"glibc": rg, "best_peer": rb, "best_peer_name": best}

    check_levels = None
    cl_title = "Cost of the check levels (TAMALLOC_CHECK)"
    if cl_title in sec:
        lines = sec[cl_title]
        runs = {}
        for size, after, levels in (("small", "| workload | scale | level 0 | level 1 | level 2",
                                     run.CHECK_LEVELS),
                                    ("normal", "| workload | scale | level 0 | level 1 | level 0",
                                     run.CHECK_LEVELS[:2])):
            if not any(l.startswith(after) for l in lines):
                continue
            _, rows = table(lines, after)
            for row in rows:
                lv_cells = row[2:2 + len(levels)]
                r = {"scale": int(row[1]), "levels": {}, "ratio": {}}
                for lv, text in zip(levels, lv_cells):
                    med, spread = cell(text, rate)
                    r["levels"][lv] = {"ops_med": med, "ops_spread": spread,
                                       "n": reps if med is not None else None,
                                       "failed": 0 if med is not None else None}
                r["ratio"][0], _ = ratio(row[2 + len(levels)])
                r["ratio"][1] = 1.0 if r["levels"][1]["ops_med"] else None
                if size == "small":  # level 2: 1 / the printed slowdown ("6651×")
                    slow = row[-1].rstrip("×")
                    r["ratio"][2] = None if slow == "—" else 1 / number(slow)
                runs.setdefault(size, {})[row[0]] = r
        pm = re.search(r"Level 2 is run at (\d+)k pairs only .* and at (\d+)k like",
                       "\n".join(lines))
        cg, cgr = {}, {}
        if pm:
            pairs = {"small": int(pm.group(1)), "normal": int(pm.group(2))}
            _, rows = table(lines, "| level | ")
            for row in rows:
                lv = int(row[0])
                for size, (v, r) in zip(("small", "normal"), ((row[1], row[2]), (row[3], row[4]))):
                    if v != "—":
                        cg.setdefault(size, {})[lv] = number(v)
                        cgr.setdefault(size, {})[lv] = number(r)
        else:
            pairs = {"small": run.CHECK_CALLGRIND_SMALL, "normal": run.CALLGRIND_PAIRS["full"]}
        check_levels = {"runs": runs, "callgrind": cg, "callgrind_pairs": pairs,
                        "callgrind_ratio": cgr}

    data = {"meta": out_meta, "summary": summary, "ratios": ratios, "callgrind": callgrind,
            "check_levels": check_levels, "failures": []}

    # Round trip: the rebuilt file, loaded as bench/run.py loads it, renders results.md as it is.
    plots = re.findall(r"^!\[[^\]]*\]\(([^)]+)\)$", "\n".join(sec.get("Plots", [])), re.M)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "summary.json")
        with open(path, "w") as f:
            json.dump(data, f, indent=1)
        d = run.load_summary(path)
        run.write_report(tmp, d["meta"], allocators, threads, d["summary"], d["callgrind"], plots,
                         workloads, d["failures"], d["check_levels"], d["ratios"])
        with open(os.path.join(tmp, "results.md")) as f:
            again = f.read()
    if again != original:
        import difflib
        sys.stderr.writelines(difflib.unified_diff(original.splitlines(True),
                                                   again.splitlines(True), src, "re-rendered"))
        die("results.md rendered from the rebuilt summary differs from %s; not written" % src)
    out = os.path.join(folder, "summary.json")
    with open(out, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    print("wrote %s (results.md re-rendered from it is identical to %s)" % (out, src))


if __name__ == "__main__":
    main()
