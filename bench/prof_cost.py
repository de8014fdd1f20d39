#!/usr/bin/env python3
"""prof_cost.py - what the heap profiler costs, on every workload of bench/run.py.

Three variants of tamalloc run each cell, interleaved within each repetition:
  before  a libtamalloc.so built without the profiler (--base-lib, e.g. from the commit before it)
  off     the library under test, profiler off (the default)
  on      the same library with TAMALLOC_PROF_SAMPLE=524288 (on, at the default rate)
and the table gives the medians of operations per second and of peak RSS, with off/before (the
cost of the profiler's branch when it is off) and on/off (the cost of sampling). The workloads, their
arguments and scales are run.py's (its full scale by default), so the rows are the benchmark's rows.

Usage: python3 bench/prof_cost.py --base-lib OLD.so --lib NEW.so [--reps 5] [--threads 1,2]
                                  [--scale full|quick] [--workloads a,b] [--out FILE.md]
The workload binaries are taken from bazel-bin/bench (bazel build --config=opt //bench/...)."""
import argparse
import importlib.util
import os
import re
import statistics
import subprocess
import tempfile
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("bench_run", os.path.join(HERE, "run.py"))
run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run)

# Callgrind pass: single-thread workloads, whose instruction counts are deterministic; each is run at
# two scales, so the difference is the steady state (start-up, the dlopen of libunwind, excluded).
CALLGRIND_CELLS = [("fastpath", 400, 800), ("batch", 100, 200), ("larson", 200, 400), ("churn", 20, 40),
                   ("frag", 4, 8), ("grow", 4, 8)]


def preload_env(lib, env):
    """The environment of a run under lib: the caller's, without its own profiler settings, plus env."""
    e = dict(os.environ)
    for k in ("TAMALLOC_PROF", "TAMALLOC_PROF_SAMPLE"):
        e.pop(k, None)
    e.update(env)
    e["LD_PRELOAD"] = lib
    return e


def callgrind_instructions(binary, argv, lib, env):
    e = preload_env(lib, env)
    p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", binary] + argv,
                       env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    m = re.search(r"Collected : (\d+)", p.stderr)
    return int(m.group(1)) if m else None


# The profiler's own functions: sampling (the stack, its bucket, the table of live samples, the next
# interval) and a sample's free (out of the table, its bucket counted). Called from the exits, never
# from one another, so their inclusive counts add up without overlap.
SAMPLER_FUNCTIONS = ["ta_os_backtrace_from", "ta_prof_record", "ta_prof_track", "ta_prof_next",
                     "ta_prof_untrack", "ta_prof_unsample", "ta_prof_release", "ta_prof_unrecord"]


def sampler_share(binary, argv, lib, env):
    """Instructions inside SAMPLER_FUNCTIONS (inclusive) and of the whole process, one callgrind run."""
    e = preload_env(lib, env)
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "cg.out")
        subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, binary] + argv,
                       env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not os.path.exists(out):
            return None, None
        p = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", out],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    total, own = None, 0
    for line in p.stdout.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S+)", line)
        if not m:
            continue
        n = int(m.group(1).replace(",", ""))
        if m.group(2) == "PROGRAM":
            total = n
        elif m.group(2).split(":")[-1] in SAMPLER_FUNCTIONS:
            own += n
    return own, total


VARIANTS = [("before", "base", {}), ("off", "lib", {}), ("on", "lib", {"TAMALLOC_PROF_SAMPLE": "524288"})]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base-lib", required=True)
    ap.add_argument("--lib", required=True)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--scale", choices=["quick", "full"], default="full",
                    help="run.py's quick or full SCALE per workload (default full: longer runs, less noise)")
    ap.add_argument("--workloads", default=",".join(w.key for w in run.WORKLOADS))
    ap.add_argument("--bin-dir", default=os.path.join(HERE, "..", "bazel-bin"))
    ap.add_argument("--out")
    ap.add_argument("--no-callgrind", action="store_true", help="skip the instruction counts")
    args = ap.parse_args()
    libs = {"base": os.path.abspath(args.base_lib), "lib": os.path.abspath(args.lib)}
    threads = [int(t) for t in args.threads.split(",")]
    keys = args.workloads.split(",")
    workloads = [w for w in run.WORKLOADS if w.key in keys]
    cells = {}
    t0 = time.time()
    load = open("/proc/loadavg").read().split()[0]
    for r in range(args.reps):
        for w in workloads:
            for t in threads:
                scale = w.scale(w.quick if args.scale == "quick" else w.full, t)
                argv = [str(t), str(scale)] + w.extra
                for name, which, env in VARIANTS:
                    fields, err = run.run_once(os.path.join(args.bin_dir, "bench", w.binary), argv, libs[which],
                                               w.key == "memcached", 600, extra_env=env,
                                               drop=["TAMALLOC_PROF", "TAMALLOC_PROF_SAMPLE"])
                    c = cells.setdefault((w.key, t), {}).setdefault(name, {"ops": [], "rss": [], "failed": 0})
                    if fields is None:
                        c["failed"] += 1
                        print("FAILED %s %d %s: %s" % (w.key, t, name, err), file=sys.stderr)
                        continue
                    c["ops"].append(float(fields["ops_per_sec"]))
                    c["rss"].append(float(fields.get("server_rss_kb", fields.get("maxrss_kb"))))
        print("rep %d of %d done (%.0f s)" % (r + 1, args.reps, time.time() - t0), file=sys.stderr)
    lines = ["# The heap profiler's cost", "",
             "bench/prof_cost.py, %d repetitions interleaved, %s scale, %s UTC, %.0f s, load %s at start."
             % (args.reps, args.scale, time.strftime("%Y-%m-%d %H:%M", time.gmtime()), time.time() - t0, load),
             "before: %s; off and on: %s (on = TAMALLOC_PROF_SAMPLE=524288, the default rate)."
             % (os.path.basename(libs["base"]), os.path.basename(libs["lib"])), "",
             "Medians of operations per second (and their spread, max-min over median) and of peak RSS.", "",
             "| workload | threads | before ops/s | off ops/s | on ops/s | off / before | on / off | RSS on / off |",
             "|---|---|---|---|---|---|---|---|"]
    worst_off, worst_on = [], []
    for w in workloads:
        for t in threads:
            c = cells.get((w.key, t), {})
            med = {}
            for name, _, _ in VARIANTS:
                v = c.get(name, {"ops": [], "rss": []})
                if v["ops"]:
                    m = statistics.median(v["ops"])
                    med[name] = (m, (max(v["ops"]) - min(v["ops"])) / m, statistics.median(v["rss"]))
            if len(med) < 3:
                lines.append("| %s | %d | failed | | | | | |" % (w.key, t))
                continue
            off_b = med["off"][0] / med["before"][0]
            on_off = med["on"][0] / med["off"][0]
            worst_off.append((off_b, w.key, t))
            worst_on.append((on_off, w.key, t))
            lines.append("| %s | %d | %s (%.0f%%) | %s (%.0f%%) | %s (%.0f%%) | %.3f | %.3f | %.3f |" % (
                w.key, t, run.fmt_ops(med["before"][0]) if hasattr(run, "fmt_ops") else "%.3g" % med["before"][0],
                100 * med["before"][1],
                run.fmt_ops(med["off"][0]) if hasattr(run, "fmt_ops") else "%.3g" % med["off"][0], 100 * med["off"][1],
                run.fmt_ops(med["on"][0]) if hasattr(run, "fmt_ops") else "%.3g" % med["on"][0], 100 * med["on"][1],
                off_b, on_off, med["on"][2] / med["off"][2]))
    if worst_off:
        lines += ["", "Lowest off / before: %.3f (%s, %d threads); lowest on / off: %.3f (%s, %d threads)."
                  % (min(worst_off) + min(worst_on))]
    if not args.no_callgrind:
        lines += ["", "## Instructions (callgrind, 1 thread)", "",
                  "Instructions of the whole process at two scales; their difference is the steady state (start-up "
                  "drops out). Deterministic: the wall-clock ratios above carry this "
                  "machine's noise (their spread column), these do not. On / off is the whole "
                  "process: where sampled blocks fall moves the heap's layout a little, and a workload whose "
                  "cost depends on it (churn: realloc in place or moved and copied) moves with the draw of "
                  "the intervals, either way. The last column is the profiler's own share of the "
                  "instructions (inclusive counts of " + ", ".join(SAMPLER_FUNCTIONS) + ") at the higher "
                  "scale, profiling on: what sampling itself costs.", "",
                  "| workload | scales | before | off | on | off / before | on / off | sampler's own, on |",
                  "|---|---|---|---|---|---|---|---|"]
        for key, lo, hi in CALLGRIND_CELLS:
            w = next((x for x in run.WORKLOADS if x.key == key), None)
            if w is None or key not in keys:
                continue
            b = os.path.join(args.bin_dir, "bench", w.binary)
            ins = {}
            for name, which, env in VARIANTS:
                a1 = callgrind_instructions(b, ["1", str(lo)] + w.extra, libs[which], env)
                a2 = callgrind_instructions(b, ["1", str(hi)] + w.extra, libs[which], env)
                ins[name] = a2 - a1 if a1 is not None and a2 is not None else None
            own, total = sampler_share(b, ["1", str(hi)] + w.extra, libs["lib"], VARIANTS[2][2])
            share = "%.2f%%" % (100.0 * own / total) if own is not None and total else "failed"
            if ins.get("before") and ins.get("off") and ins.get("on"):
                lines.append("| %s | %d, %d | %d | %d | %d | %.4f | %.4f | %s |" % (
                    key, lo, hi, ins["before"], ins["off"], ins["on"], ins["off"] / ins["before"], ins["on"] / ins["off"],
                    share))
            else:
                lines.append("| %s | %d, %d | failed | | | | | |" % (key, lo, hi))
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
