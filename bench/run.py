#!/usr/bin/python3
"""Runs the benchmark workloads under tamalloc, glibc, jemalloc, tcmalloc and mimalloc.

Called by bench/run.sh (which installs the Debian packages first). Builds the workloads and
//alloc:libtamalloc.so with --config=opt, runs every (workload, thread count) with the allocators
interleaved (A B C D E, A B C D E, ...) for several repetitions, checks every result line (ok=1,
same checksum under every allocator), and writes results.md, raw.csv, summary.json and gnuplot
charts into the output folder, whose path it prints at the end. Every ratio the report prints
(tamalloc / glibc, tamalloc / best peer, check level / level 1) is computed once, from the unrounded
medians, and stored in summary.json ("ratios", "check_levels"), so whatever prints it later prints
the same value.

The resident size at the END of a run, once the workload has joined its threads and freed
everything (where giving memory back shows), is measured in a separate, smaller pass after the
timed runs, not in them: --end-rss-reps runs (default 1) per (workload, thread count), allocators
interleaved, at the same SCALE, with BENCH_END_RSS_MS=1200 set, so the workload then sleeps 1.2 s
(time-based decay), makes 100 malloc(5000)/free pairs (decay driven by the allocator's own calls),
reads its resident size from /proc/self/statm (end_rss_kb), calls malloc_trim(0) when the allocator
in use has one of its own (tamalloc, glibc) and reads it again (trim_rss_kb). One sleep per run,
so the timed runs keep their pace; the pass adds 140 runs of 1.5-2 s (about 4 min) to a full run,
where the sleep in all 800 timed runs would add 16 min. memcached is left out (its server
keeps its items). Those runs go to raw.csv (pass=end_rss) and to their own tables in results.md,
never into the throughput or peak-RSS medians; --end-rss-reps 0 skips the pass.

It also measures the cost of tamalloc's check levels (TAMALLOC_CHECK=0, 1, 2: the same .so, only
the environment differs) on a few workloads at one thread, interleaved the same way; those runs go
to check_levels.csv and their own section of results.md, never into the tamalloc-vs-peers tables.

The scaling pass (after the timed runs; --scaling-only runs nothing else) runs frag and grow
(those of --workloads) with 16, 64, 256 and 1024 MiB of live data in all (--scales; --quick:
16,64), at 1, 2 and 4 threads (--scaling-threads; default those of --threads up to 4), under every
allocator, interleaved as above, --scaling-reps times (default 3; --quick: 1). results.md gets a
table per workload (rows allocator x threads, columns live MiB, M ops/s), the ratios the scaling
targets are read from (tamalloc at the largest size / tamalloc at the smallest; tamalloc / the
best of glibc and mimalloc at every size and thread count; both also in summary.json, "scaling")
and a chart per workload and thread count (plots/scaling_<workload>_<T>t.png: throughput against
live MiB, both on log scales, one line per allocator). A full run's scaling pass takes about 16
minutes on 2 cores (360 runs, 5.4 min per repetition: the 1024 MiB runs take 3-12 s each and
reach 1.6 GiB (frag) to 2.3 GiB (grow) of peak RSS, so it needs about 3 GiB of free memory);
--quick's, under half a minute (60 runs).

The idle pass (after the end-RSS pass; --idle-only runs nothing else, --no-idle skips it; the name
"idle" in --workloads, there by default, selects it) runs bench/idle: THREADS threads allocate 200
MiB in all in small and medium blocks, other threads free them all, then for --idle-ms
milliseconds (default 3000, passed as BENCH_IDLE_MS) the program reads its resident size every
250 ms, in one of two modes: "idle", making no allocator call; "light" (BENCH_IDLE_LIGHT=1),
serving light traffic from its thread cache, 20 malloc(64)/free pairs every 10 ms, as a server
does between bursts. Thread counts 1 and 4 (those of --threads when it is given). Every allocator runs
in both modes, in its default configuration and, where it has a background purge, with it on too
(tamalloc: TAMALLOC_BACKGROUND=1; jemalloc: MALLOC_CONF=background_thread:true, whose thread the
run must show in /proc/self/task; glibc, tcmalloc and mimalloc have none: default configuration
only); TAMALLOC_BACKGROUND, MALLOC_CONF and BENCH_IDLE_LIGHT are removed from every idle run's
environment otherwise. Modes and configurations interleaved, --idle-reps runs per cell (default 3;
--quick: 1); every run's line must name its mode (light=0, or light=1 with light_pairs, the pairs
it made). A full run's pass is 84 runs of about 4-5 s (about 6 minutes); --quick's, 28. Never in
the throughput tables: results.md gets a table of its own per mode (rows: allocator and
configuration; per thread count: resident size after the frees, at the end of the idle time, and
the first time it was back within 4 MiB of its size before the burst), each with one of issue
19's targets, at most 1.5: idle, tamalloc (background) / jemalloc (background_thread) idle RSS;
light traffic with the defaults, tamalloc (default) / jemalloc (background_thread) end RSS.
summary.json keeps mode idle under "idle" as it always did, and mode light under "idle"'s "light"
(same cells and ratio, absent from older files); the runs go to idle.csv (column mode).

Every result line also carries the process's resource usage at report time (bench/common.h:
utime_s, stime_s, minflt, majflt from getrusage(RUSAGE_SELF): the whole process, its setup, its
checking and its frees included, not only the measured interval; for memcached the runner keeps
the server's instead, server_utime_s etc., which mc_bench takes from wait4 once it has killed the
server: its whole life, start-up and fill included). Every pass stores them in its raw.csv or
idle.csv rows; the timed runs' medians go to summary.json (utime_med, stime_med, minflt_med and
their spreads, per workload x threads x allocator, with the ratios of stime_med under "ratios"),
and results.md shows "Kernel time (s, lower is better)", with tamalloc / glibc and tamalloc / best
peer, then issue 19's target (reuse's and churn's kernel time at or below glibc's at 1, 2 and 4
threads), and
"Minor page faults (thousands)". Older summary.json files have none of these fields.

The syscall pass (after the idle pass; --syscalls-only runs nothing else, --no-syscalls skips it)
runs every workload of --workloads but memcached (its allocator is in the server, which the traced
program only starts) once per thread count of --threads and allocator, at the workload's --quick
SCALE, allocators interleaved, under `strace -f -c -e trace=madvise,munmap,mmap,mremap,brk -o
FILE` (every thread; the preload is given to the traced program only, with strace's -E, and never
put in strace's own environment). FILE, strace's summary table (% time, seconds, usecs/call,
calls, errors, syscall; a call never made has no row), is kept as
strace/<workload>_<T>t_<allocator>.txt and read into call counts. The counts are the whole
process's: the dynamic loader's and the C library's start-up mappings are in them (alike for every
allocator, apart from the preloaded library's own). results.md gets "System calls per run (strace
-c, one run at quick scale)": per workload and thread count, each allocator's madvise / munmap /
mmap+mremap / brk calls side by side; summary.json keeps them under "syscalls", raw.csv has the
runs (pass=syscalls). Checked like the timed runs (ok=1, the same checksum for a row under every
allocator); strace slows the runs down, so they enter no other table. idle has a pass of its own
and is not traced.

Under libtamalloc.so every result line also carries tamalloc's next-fit search counters
(searches, search_steps, search_max_steps: ta_get_stats, read by bench/common.h through dlsym at
the end of the run) and, for frag and grow, free_blocks_peak (the most free blocks on the arenas'
lists, sampled at the workloads' phase ends). results.md shows them as "Next-fit search steps
(tamalloc)": per workload and thread count (and per size in the scaling pass), the searches, the
mean steps per search (search_steps / searches, median over the repetitions), the most steps one
search read (max over the repetitions) and, next to the peak free-block count, 2 log2 of it (what
a balanced search over those blocks would read); summary.json keeps them under "search_steps".
The other allocators have no such counters.

With --readme README.md it also writes the README's benchmark block (the throughput-ratio table,
the end-RSS ratio table when the run measured it, and one paragraph of measured figures, between
the lines <!-- bench:begin --> and <!-- bench:end -->) from the run's summary.json. With --readme
README.md --from DIR it runs nothing and writes that block from DIR/summary.json (DIR = docs/bench
for the committed report; a summary.json without end-RSS data gives the block without that table);
//tests/lint:bench_readme_test fails when the README's block differs from that.

Only Debian's python3 standard library is used.
"""

import argparse
import csv
import datetime
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import textwrap
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBDIR = "/usr/lib/x86_64-linux-gnu"

# name -> (preload path or None, Debian package or None)
PEERS = {
    "glibc": (None, "libc6"),
    "jemalloc": (LIBDIR + "/libjemalloc.so.2", "libjemalloc2"),
    "tcmalloc": (LIBDIR + "/libtcmalloc_minimal.so.4", "libtcmalloc-minimal4"),
    "mimalloc": (LIBDIR + "/libmimalloc.so.2", "libmimalloc2.0"),
}
ALL_ALLOCATORS = ["tamalloc", "glibc", "jemalloc", "tcmalloc", "mimalloc"]
THREADS = [1, 2, 4, 8]

# The end-RSS pass (bench/common.h, bench_end_rss): the workload sleeps this long after freeing
# everything, then makes 100 malloc(5000)/free pairs, then reads its resident size. (The module
# docstring, i.e. --help, states these values too.)
END_RSS_SLEEP_MS = 1200
END_RSS_PAIRS = 100  # fixed in bench/common.h; recorded in summary.json's meta


class Workload:
    """One row group of the tables: a binary, its fixed extra arguments, and its total work."""

    def __init__(self, key, binary, extra, quick, full, split, title, what, end_rss=True):
        self.key = key  # name in tables and file names
        self.binary = binary  # bench/<binary>
        self.extra = extra  # arguments after THREADS SCALE
        self.quick = quick  # total SCALE in --quick mode
        self.full = full  # total SCALE in the full run
        self.split = split  # how SCALE relates to threads: per_thread, per_producer, total
        self.title = title  # one line for plots and tables
        self.what = what  # what one "op" is
        self.end_rss = end_rss  # frees everything before it reports: measured in the end-RSS pass

    def scale(self, total, threads):
        """SCALE argument giving about `total` work in all, whatever the thread count."""
        if self.split == "per_thread":
            return max(1, total // threads)
        if self.split == "per_producer":
            producers = 1 if threads < 2 else threads // 2
            return max(1, total // producers)
        return total


WORKLOADS = [
    Workload("larson", "larson", [], 300, 1800, "per_thread",
             "server simulation (Larson-style)", "malloc+free calls"),
    Workload("xmalloc", "xmalloc", [], 200, 1200, "per_producer",
             "producer/consumer (xmalloc-style), every free cross-thread", "malloc+free calls"),
    Workload("cache_thrash", "false_sharing", ["active"], 200, 1200, "per_thread",
             "false sharing, active (cache-thrash-style)", "object writes"),
    Workload("cache_scratch", "false_sharing", ["passive"], 200, 1200, "per_thread",
             "false sharing, passive (cache-scratch-style)", "object writes"),
    Workload("churn", "churn", [], 100, 600, "per_thread",
             "size churn 8 B..64 KiB + tail to 1 MiB, realloc growth", "malloc+realloc+free calls"),
    Workload("frag", "frag", [], 32, 160, "total",
             "fragmentation (free every other, then larger blocks)", "malloc+free calls"),
    Workload("grow", "grow", [], 32, 160, "total",
             "growing entries (small blocks, free every other, then larger and larger classes)",
             "malloc+free calls"),
    Workload("reuse", "reuse", [], 128, 256, "total",
             "reuse: SCALE MiB allocated, written and freed (half cross-thread), 8 rounds",
             "malloc+free calls"),
    Workload("batch", "batch", [], 1500, 6000, "per_thread",
             "batches of one size: N = 16/256/4096 blocks of 16 B..4 KiB, then freed first-in first-out",
             "malloc+free calls"),
    Workload("fastpath", "fastpath", [], 3000, 24000, "per_thread",
             "single-thread fast path, malloc/free of 16..256 B", "malloc+free calls"),
    Workload("memcached", "mc_bench", [], 10, 60, "total",
             "memcached 1.6, 16 connections, 90% get / 10% set", "requests", end_rss=False),
]

CALLGRIND_PAIRS = {"quick": 100, "full": 400}  # thousand malloc/free pairs under valgrind

# The idle pass (bench/idle.c): THREADS threads allocate IDLE_SCALE MiB in all, other threads free
# it all, then for BENCH_IDLE_MS the program reads its resident size every 250 ms and, in mode
# "idle", makes no allocator call; in mode "light" (BENCH_IDLE_LIGHT=1), only light traffic (20
# malloc(64)/free pairs every 10 ms, from its thread cache). Never in the throughput tables (the run
# is mostly a sleep). Selected by the name "idle" in --workloads (there by default), not a
# Workload: it has a pass of its own.
IDLE_KEY = "idle"
IDLE_BINARY = "idle"
IDLE_SCALE = 200  # MiB allocated in all
IDLE_THREADS = [1, 4]  # unless --threads is given
IDLE_REPS = {"full": 3, "quick": 1}
IDLE_MS = 3000  # default of --idle-ms (and of bench/idle.c)
IDLE_NEAR_KB = 4096  # bench/idle.c's rss_ms: the first reading within 4 MiB of base_rss_kb
# Issue 19: kernel time on multi-threaded churn at or below glibc's at 1, 2 and 4 threads. reuse is
# the purge/re-fault case (the heap's need goes to nothing and back every round); churn the sizes.
KERNEL_TARGET_WORKLOADS = ["reuse", "churn"]
IDLE_TARGET = 1.5  # issue 19: tamalloc (background) idle RSS / jemalloc (background_thread)
IDLE_FIELDS = ["base_rss_kb", "peak_rss_kb", "freed_rss_kb", "idle_rss_kb", "rss_ms",
               "idle_tasks", "light_pairs", "ta_background_rounds"]
# The modes of the idle pass, every one run for every IDLE_VARIANTS entry and thread count: (mode,
# environment). summary.json's "idle" holds mode idle's cells where it always did; light's go under
# "idle"'s "light" (absent from files written before the mode).
IDLE_MODES = [("idle", {}), ("light", {"BENCH_IDLE_LIGHT": "1"})]
LIGHT_EVERY_MS, LIGHT_PAIRS, LIGHT_SIZE = 10, 20, 64  # fixed in bench/idle.c
# Each allocator in its default configuration and, where it has one, with its background purge on:
# (row key, allocator, configuration as the table prints it, environment). The variables of the
# background variants are removed from every idle run's environment, so "default" is the default.
IDLE_VARIANTS = [
    ("tamalloc", "tamalloc", "default", {}),
    ("tamalloc_background", "tamalloc", "background: TAMALLOC_BACKGROUND=1",
     {"TAMALLOC_BACKGROUND": "1"}),
    ("glibc", "glibc", "default only (no background purge)", {}),
    ("jemalloc", "jemalloc", "default", {}),
    ("jemalloc_background", "jemalloc", "background: MALLOC_CONF=background_thread:true",
     {"MALLOC_CONF": "background_thread:true"}),
    ("tcmalloc", "tcmalloc", "default only (no background purge)", {}),
    ("mimalloc", "mimalloc", "default only (no background purge)", {}),
]
IDLE_CLEAR_ENV = ["TAMALLOC_BACKGROUND", "MALLOC_CONF", "BENCH_IDLE_LIGHT"]
IDLE_RATIO = ("tamalloc_background", "jemalloc_background")  # the target's numerator, denominator
# Issue 19's second target: light traffic with the defaults, tamalloc (default) / jemalloc
# (background_thread) RSS at the end of the idle time, at most LIGHT_TARGET.
LIGHT_RATIO = ("tamalloc", "jemalloc_background")
LIGHT_TARGET = 1.5

# The scaling pass: workloads whose SCALE is MiB of live data in all ("total"), run at each size.
SCALING_WORKLOADS = ["frag", "grow"]
SCALES = {"full": [16, 64, 256, 1024], "quick": [16, 64]}  # MiB of live data
SCALING_THREADS = [1, 2, 4]  # of --threads, by default
SCALING_REPS = {"full": 3, "quick": 1}
SCALING_PEERS = ["glibc", "mimalloc"]  # the scaling target compares tamalloc with the best of these
SCALING_TIMEOUT = 600  # s; a 1024 MiB run takes 3-12 s

# tamalloc's search counters in the result line (bench/common.h, bench_ta_fields); absent under
# the other allocators, free_blocks_peak also absent from workloads that do not sample the heap.
TA_FIELDS = ["searches", "search_steps", "search_max_steps", "free_blocks_peak"]

# The process's resource usage in every result line (bench/common.h, bench_usage_fields):
# getrusage(RUSAGE_SELF) of the whole process at report time. mc_bench also reports its server's,
# the same names prefixed with "server_" (wait4), and the runner keeps those for memcached.
USAGE_FIELDS = ["utime_s", "stime_s", "minflt", "majflt"]

# The syscall pass: one run per (workload, threads, allocator) at the --quick SCALE under strace -c.
STRACE = "/usr/bin/strace"  # Debian package strace (bench/packages.txt)
SYSCALLS = ["madvise", "munmap", "mmap", "mremap", "brk"]  # traced: strace -e trace=...
SYSCALL_COLS = [sc + "_calls" for sc in SYSCALLS]  # raw.csv
SYSCALL_SKIP = {  # workload -> why the pass leaves it out
    "memcached": "its allocator is in the memcached server, which the traced program only starts",
}
SYSCALL_TIMEOUT = 600  # s; strace slows a run down

# Cost of the check levels. TAMALLOC_CHECK=2 runs a full arena check after every operation: about
# 0.25 ms per operation on a 2-core machine whatever the heap (the check walks the whole 4 MiB
# segment), i.e. ~4k ops/s, so every level is run at a small SCALE (the same for the three levels,
# so their rates compare) chosen so one level-2 run takes 1-2 s. Levels 0 and 1 are also run at
# the workload's ordinary SCALE (1 thread), where their difference is big enough to measure.
CHECK_LEVELS = [0, 1, 2]
CHECK_WORKLOADS = [("fastpath", 2), ("larson", 2), ("churn", 3), ("frag", 1)]  # (key, small SCALE)
CHECK_CALLGRIND_SMALL = 1  # thousand pairs: the least fastpath takes; 20-50 s under callgrind at 2


def log(msg):
    print(msg, flush=True)


def die(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


# ---------------------------------------------------------------------------------------------
# Build


def build(args, allocators):
    """Builds the workloads (and libtamalloc.so if wanted); returns bazel-bin."""
    bazel = ["bazel"]
    opts = ["--config=opt"]
    if args.output_base:
        bazel.append("--output_base=" + args.output_base)
        # no bazel-bin/bazel-out symlinks: the workspace's stay those of the developer's builds
        opts.append("--symlink_prefix=/")
    targets = sorted({"//bench:" + w.binary for w in WORKLOADS} | {"//bench:" + IDLE_BINARY})
    log("building (bazel build --config=opt): " + " ".join(targets))
    r = subprocess.run(bazel + ["build"] + opts + targets, cwd=ROOT)
    if r.returncode != 0:
        die("building the workloads failed")
    if "tamalloc" in allocators:
        log("building //alloc:libtamalloc.so (--config=opt)")
        r = subprocess.run(bazel + ["build"] + opts + ["//alloc:libtamalloc.so"], cwd=ROOT)
        if r.returncode != 0:
            die("building //alloc:libtamalloc.so failed; to measure only the peers, pass "
                "--allocators glibc,jemalloc,tcmalloc,mimalloc")
    out = subprocess.run(bazel + ["info", "--config=opt", "bazel-bin"], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if out.returncode != 0:
        die("bazel info bazel-bin failed")
    return out.stdout.strip()


# ---------------------------------------------------------------------------------------------
# Running

LINE_RE = re.compile(r"^BENCH (\S+=\S+( \S+=\S+)*)$")


def parse_line(stdout):
    lines = [l for l in stdout.splitlines() if l.startswith("BENCH ")]
    if len(lines) != 1 or not LINE_RE.match(lines[0]):
        return None
    return dict(kv.split("=", 1) for kv in lines[0].split()[1:])


def checksum_disagrees(seen, checksum, label):
    """Records which run (label) first gave checksum for a row; the same arguments must give the
    same checksum under every allocator and level. Returns an error message, or None."""
    if seen and checksum not in seen:
        first_sum, first_label = next(iter(seen.items()))
        return "checksum %s differs from %s's %s" % (checksum, first_label, first_sum)
    seen.setdefault(checksum, label)
    return None


def run_once(binary, argv, preload, server, timeout, extra_env=None, drop=()):
    """Runs one workload process (without the environment variables named in drop); returns
    (fields or None, error text)."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("TAMALLOC_CHECK", None)  # the default level unless a check-level run sets it
    env.pop("BENCH_END_RSS_MS", None)  # no end-of-run probe unless the end-RSS pass sets it
    for k in drop:
        env.pop(k, None)
    env.update(extra_env or {})
    if server:  # the allocator goes into memcached, not into our client
        env["BENCH_SERVER_PRELOAD"] = preload or ""
    elif preload:
        env["LD_PRELOAD"] = preload
    try:
        p = subprocess.run([binary] + argv, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "timed out after %ds" % timeout
    fields = parse_line(p.stdout)
    if p.returncode != 0 or fields is None or fields.get("ok") != "1":
        err = (p.stdout + p.stderr).strip().splitlines()[-3:]
        return None, "exit %d: %s" % (p.returncode, " | ".join(err))
    return fields, ""


def usage_of(fields, server):
    """The USAGE_FIELDS of a result line: the process's own or, for a workload whose allocator is
    in a server it starts (memcached), the server's (server_utime_s, ...)."""
    return {k: fields.get("server_" + k if server else k) for k in USAGE_FIELDS}


# A row of strace -c's summary: % time, seconds, usecs/call, calls, errors (blank if none), syscall.
STRACE_ROW_RE = re.compile(r"^\s*[\d.]+\s+[\d.]+\s+[\d.]+\s+(\d+)\s+(?:\d+\s+)?([a-z_0-9]+)\s*$")


def parse_strace_counts(text):
    """{syscall: calls} from strace -c's summary table (its total line left out; strace prints no
    row for a call that was never made), or None when text has no such table."""
    if not re.search(r"^% time\s+seconds\s+usecs/call\s+calls\s+errors\s+syscall\s*$", text,
                     re.M):
        return None
    counts = {}
    for line in text.splitlines():
        m = STRACE_ROW_RE.match(line)
        if m and m.group(2) != "total":
            counts[m.group(2)] = counts.get(m.group(2), 0) + int(m.group(1))
    return counts


def strace_once(binary, argv, preload, timeout, trace_file):
    """Runs one workload process under strace -f -c, tracing SYSCALLS, its summary written to
    trace_file. The preload is given to the traced program only (strace -E), never put in strace's
    own environment. Returns (fields or None, {syscall: calls} for every name of SYSCALLS, error
    text)."""
    env = dict(os.environ)
    for k in ("LD_PRELOAD", "TAMALLOC_CHECK", "BENCH_END_RSS_MS"):
        env.pop(k, None)
    cmd = [STRACE, "-f", "-c", "-e", "trace=" + ",".join(SYSCALLS), "-o", trace_file]
    if preload:
        cmd += ["-E", "LD_PRELOAD=" + preload]
    try:
        p = subprocess.run(cmd + [binary] + argv, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, None, "timed out after %ds under strace" % timeout
    fields = parse_line(p.stdout)
    if p.returncode != 0 or fields is None or fields.get("ok") != "1":
        err = (p.stdout + p.stderr).strip().splitlines()[-3:]
        return None, None, "exit %d under strace: %s" % (p.returncode, " | ".join(err))
    try:
        with open(trace_file) as f:
            counts = parse_strace_counts(f.read())
    except OSError:
        counts = None
    if counts is None:
        return None, None, "no strace -c summary in " + trace_file
    return fields, {sc: counts.get(sc, 0) for sc in SYSCALLS}, ""


def callgrind_once(binary, pairs, preload, timeout, extra_env=None):
    """Instructions executed inside fastpath_loop, per malloc/free pair."""
    if not shutil.which("valgrind"):
        return None, "valgrind not installed"
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("TAMALLOC_CHECK", None)
    env.pop("BENCH_END_RSS_MS", None)
    env.update(extra_env or {})
    if preload:
        env["LD_PRELOAD"] = preload
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
           "--toggle-collect=fastpath_loop", binary, "1", str(pairs)]
    try:
        p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "timed out"
    m = re.search(r"Collected : (\d+)", p.stderr)
    fields = parse_line(p.stdout)
    if p.returncode != 0 or not m or not fields or fields.get("ok") != "1":
        return None, "valgrind run failed: " + " | ".join(p.stderr.strip().splitlines()[-3:])
    return int(m.group(1)) / (pairs * 1000.0), ""


# ---------------------------------------------------------------------------------------------
# Summaries


def fmt_rate(x):
    if x is None:
        return "—"
    for div, suf in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if x >= div:
            return "%.3g%s" % (x / div, suf)
    return "%.3g" % x


def fmt_ratio(x):
    return "—" if x is None else "%.2f" % x


def steps_note(rec):
    """", 9.7 steps/search (max 39)" for a run that reported tamalloc's search counters."""
    if rec.get("searches") in (None, "") or not int(rec["searches"]):
        return ""
    return ", %.1f steps/search (max %s)" % (int(rec["search_steps"]) / int(rec["searches"]),
                                             rec["search_max_steps"])


def summarize(values):
    """(median, spread) where spread = (max - min) / median; None for no values."""
    if not values:
        return None, None
    med = statistics.median(values)
    spread = (max(values) - min(values)) / med if med else 0.0
    return med, spread


def machine_info():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = "%.0f GiB RAM" % (kb / 2**20)
    except (OSError, ValueError, IndexError):
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "kernel": platform.release(),
        "memory": mem,
        "hostname": platform.node(),
    }


def source_state():
    """"<commit>" of the work tree, with the files under alloc/ and bench/ that differ from it
    (what the measured library and workloads were built from), or None outside a git checkout."""
    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    if r.returncode != 0:
        return None
    d = subprocess.run(["git", "status", "--porcelain", "--", "alloc", "bench"], cwd=ROOT,
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    changed = [l[3:] for l in d.stdout.splitlines() if l[3:]]
    return r.stdout.strip() + ("" if not changed else " with uncommitted changes to " +
                               ", ".join(changed))


def package_version(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    return r.stdout.strip() if r.returncode == 0 else "?"


# ---------------------------------------------------------------------------------------------
# Plots (gnuplot)


def gnuplot(script, cwd):
    r = subprocess.run(["gnuplot"], input=script, cwd=cwd, text=True, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if r.returncode != 0:
        log("warning: gnuplot failed: " + r.stderr.strip()[-300:])
        return False
    return True


STYLE = {  # allocator -> gnuplot line style
    "tamalloc": "lw 3 lc rgb '#d62728' pt 7",
    "glibc": "lw 2 lc rgb '#7f7f7f' pt 5",
    "jemalloc": "lw 2 lc rgb '#1f77b4' pt 9",
    "tcmalloc": "lw 2 lc rgb '#2ca02c' pt 11",
    "mimalloc": "lw 2 lc rgb '#9467bd' pt 13",
}


def plot_all(out, allocators, threads, summary, workloads):
    pdir = os.path.join(out, "plots")
    os.makedirs(pdir, exist_ok=True)
    made = []
    for w in workloads:
        dat = os.path.join(pdir, w.key + ".dat")
        with open(dat, "w") as f:
            f.write("# threads, then median min max (ops/s / 1e6) for: %s\n" % " ".join(allocators))
            for t in threads:
                row = [str(t)]
                for a in allocators:
                    s = summary[w.key][t][a]
                    if s["ops_med"] is None:
                        row += ["NaN"] * 3
                    else:
                        row += ["%.6g" % (v / 1e6) for v in (s["ops_med"], s["ops_min"],
                                                              s["ops_max"])]
                f.write(" ".join(row) + "\n")
        plots = []
        for i, a in enumerate(allocators):
            c = 2 + 3 * i
            plots.append("'%s.dat' using 1:%d:%d:%d with yerrorlines %s title '%s'"
                         % (w.key, c, c + 1, c + 2, STYLE.get(a, "lw 2"), a))
        script = """set terminal pngcairo noenhanced size 900,520 font 'DejaVu Sans,10'
set output '%s.png'
set title "%s: %s\\nthroughput by thread count (higher is better; bars: min..max of the repetitions)"
set xlabel 'threads (2 cores: 4 and 8 are oversubscribed)'
set ylabel 'million %s per second'
set logscale x 2
set xtics (%s)
set xrange [%g:%g]
set yrange [0:*]
set grid
set key outside right top
plot %s
""" % (w.key, w.key, w.title, w.what, ", ".join(str(t) for t in threads),
       threads[0] / 1.3, threads[-1] * 1.3, ", \\\n     ".join(plots))
        with open(os.path.join(pdir, w.key + ".gp"), "w") as f:
            f.write(script)
        if gnuplot(script, pdir):
            made.append("plots/%s.png" % w.key)

    # Peak memory: peak RSS relative to glibc, per workload, at one thread count.
    tmem = 4 if 4 in threads else threads[-1]
    mem_allocs = allocators
    with open(os.path.join(pdir, "memory.dat"), "w") as f:
        f.write("# workload, peak RSS / glibc's at %d threads for: %s\n"
                % (tmem, " ".join(mem_allocs)))
        for w in workloads:
            base = summary[w.key][tmem].get("glibc", {}).get("rss_med")
            row = [w.key]
            for a in mem_allocs:
                v = summary[w.key][tmem][a]["rss_med"]
                row.append("%.4g" % (v / base) if v and base else "NaN")
            f.write(" ".join(row) + "\n")
    plots = []
    for i, a in enumerate(mem_allocs):
        colour = re.search(r"rgb '([^']+)'", STYLE.get(a, "rgb '#000000'")).group(1)
        plots.append("'memory.dat' using %d%s title '%s' lc rgb '%s'"
                     % (i + 2, ":xtic(1)" if i == 0 else "", a, colour))
    script = """set terminal pngcairo noenhanced size 1000,520 font 'DejaVu Sans,10'
set output 'memory.png'
set title "peak RSS relative to glibc, %d threads (lower is better; memcached: the server's)"
set ylabel 'peak RSS / glibc peak RSS'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -25
set yrange [0:*]
set grid ytics
set key outside right top
plot %s, 1 with lines lc rgb '#000000' dt 2 notitle
""" % (tmem, ", \\\n     ".join(plots))
    with open(os.path.join(pdir, "memory.gp"), "w") as f:
        f.write(script)
    if gnuplot(script, pdir):
        made.append("plots/memory.png")
    return made


def plot_scaling(out, sc, allocators, search):
    """Charts of the scaling pass: per workload and thread count, throughput against live MiB (both
    log scales), one line per allocator (bars: min..max of the repetitions); and tamalloc's mean
    steps per search against live MiB. Returns ([(workload, threads, path)], the steps chart or
    None)."""
    pdir = os.path.join(out, "plots")
    os.makedirs(pdir, exist_ok=True)
    scales = sc["scales"]
    xr = "set xrange [%g:%g]\nset xtics (%s)" % (
        min(scales) / 1.4, max(scales) * 1.4, ", ".join("'%d' %d" % (m, m) for m in scales))
    made = []
    for wk, by_mib in sc["cells"].items():
        for t in sc["threads"]:
            name = "scaling_%s_%dt" % (wk, t)
            with open(os.path.join(pdir, name + ".dat"), "w") as f:
                f.write("# live MiB, then median min max (ops/s / 1e6) for: %s\n"
                        % " ".join(allocators))
                for m in scales:
                    row = [str(m)]
                    for a in allocators:
                        c = by_mib[m][t][a]
                        row += ["NaN"] * 3 if c["ops_med"] is None else [
                            "%.6g" % (v / 1e6) for v in (c["ops_med"], c["ops_min"], c["ops_max"])]
                    f.write(" ".join(row) + "\n")
            plots = ["'%s.dat' using 1:%d:%d:%d with yerrorlines %s title '%s'"
                     % (name, 2 + 3 * i, 3 + 3 * i, 4 + 3 * i, STYLE.get(a, "lw 2"), a)
                     for i, a in enumerate(allocators)]
            script = """set terminal pngcairo noenhanced size 900,520 font 'DejaVu Sans,10'
set output '%s.png'
set title "%s: throughput against live heap size, %d thread%s\\n(higher is better; flat = does not slow down as the heap grows; bars: min..max of the repetitions)"
set xlabel 'live data, MiB (log scale)'
set ylabel 'million malloc+free calls per second (log scale)'
set logscale x 2
set logscale y
set ytics (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200)
set mytics 1
%s
set grid
set key outside right top
plot %s
""" % (name, wk, t, "" if t == 1 else "s", xr, ", \\\n     ".join(plots))
            with open(os.path.join(pdir, name + ".gp"), "w") as f:
                f.write(script)
            if gnuplot(script, pdir):
                made.append((wk, t, "plots/%s.png" % name))

    steps = (search or {}).get("scaling") or {}
    if not steps:
        return made, None
    cols, plots = [], []
    colours = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    with open(os.path.join(pdir, "scaling_search_steps.dat"), "w") as f:
        for wk, by_mib in steps.items():
            for t in sc["threads"]:
                cols.append(("%s, %d thread%s: mean steps" % (wk, t, "" if t == 1 else "s"),
                             wk, t, "steps_mean_med", "lw 2 pt 7 dt 1"))
            t0 = sc["threads"][0]
            cols.append(("%s: 2 log2(peak free blocks), %d thread%s" % (
                wk, t0, "" if t0 == 1 else "s"), wk, t0, "free_blocks_2log2", "lw 1 pt 6 dt 2"))
        f.write("# live MiB, then: %s\n" % "; ".join(c[0] for c in cols))
        for m in scales:
            row = [str(m)]
            for _, wk, t, key, _ in cols:
                v = steps.get(wk, {}).get(m, {}).get(t, {}) or {}
                row.append("NaN" if v.get(key) is None else "%.4g" % v[key])
            f.write(" ".join(row) + "\n")
    wks = list(steps)
    for i, (title, wk, t, key, style) in enumerate(cols):
        plots.append("'scaling_search_steps.dat' using 1:%d with linespoints %s lc rgb '%s' "
                     "title '%s'" % (i + 2, style, colours[
                         (wks.index(wk) * len(sc["threads"]) + sc["threads"].index(t))
                         % len(colours)], title))
    script = """set terminal pngcairo noenhanced size 1000,520 font 'DejaVu Sans,10'
set output 'scaling_search_steps.png'
set title "tamalloc: next-fit search steps against live heap size\\n(mean steps per search, median of the repetitions; dashed: 2 log2 of the peak free-block count)"
set xlabel 'live data, MiB (log scale)'
set ylabel 'steps per search'
set logscale x 2
%s
set yrange [0:*]
set grid
set key outside right top
plot %s
""" % (xr, ", \\\n     ".join(plots))
    with open(os.path.join(pdir, "scaling_search_steps.gp"), "w") as f:
        f.write(script)
    return made, "plots/scaling_search_steps.png" if gnuplot(script, pdir) else None


# ---------------------------------------------------------------------------------------------
# Cost of the check levels


def check_level_jobs(workloads, mode, reps):
    """(workload, size, scale, rep, level) runs, levels interleaved within each repetition.
    size is "small" (all three levels at a SCALE level 2 can afford) or "normal" (levels 0 and 1
    at the workload's own SCALE for one thread)."""
    jobs = []
    for key, small in CHECK_WORKLOADS:
        w = next((x for x in workloads if x.key == key), None)
        if w is None:
            continue
        normal = w.scale(w.quick if mode == "quick" else w.full, 1)
        for r in range(reps):
            for lv in CHECK_LEVELS:
                jobs.append((w, "small", small, r, lv))
        for r in range(reps):
            for lv in CHECK_LEVELS[:2]:
                jobs.append((w, "normal", normal, r, lv))
    return jobs


def summarize_check_levels(raw):
    """{size: {workload: {"scale", "levels": {level: {...}}, "ratio": {level: x / level 1}}}}."""
    out = {}
    for rec in raw:
        out.setdefault(rec["size"], {}).setdefault(rec["workload"], {"scale": rec["scale"],
                                                                     "levels": {}})
    for size, rows in out.items():
        for key, row in rows.items():
            for lv in CHECK_LEVELS:
                rs = [x for x in raw if x["size"] == size and x["workload"] == key
                      and x["level"] == lv]
                if not rs:
                    continue
                ops = [float(x["ops_per_sec"]) for x in rs if x["ok"]]
                med, spread = summarize(ops)
                row["levels"][lv] = {"ops_med": med, "ops_spread": spread, "n": len(ops),
                                     "failed": len(rs) - len(ops)}
            base = row["levels"].get(1, {}).get("ops_med")
            row["ratio"] = {lv: (s["ops_med"] / base if s["ops_med"] and base else None)
                            for lv, s in row["levels"].items()}
    return out


def check_level_callgrind_ratios(cg):
    """{size: {level: instructions / level 1's}} of the check-level callgrind counts."""
    return {size: {lv: v / row[1] for lv, v in row.items() if row.get(1)}
            for size, row in cg.items()}


def check_level_section(L, cl, workloads):
    """Appends the "Cost of the check levels" section to the report lines L."""
    L.append("## Cost of the check levels (TAMALLOC_CHECK)")
    L.append("")
    L.append("tamalloc only, one thread, the same `libtamalloc.so` run with `TAMALLOC_CHECK=0` "
             "(cheapest: no neighbour-header check on free), `1` (the default, what every other "
             "table measures) and `2` (full: also `ta_check` of the arena after every allocation "
             "and free, and poisoned free memory), interleaved (0 1 2, 0 1 2, ...). These runs "
             "are not in the tables above. Cells: median ops/s over the repetitions (spread); "
             "ratios are level / level 1 (higher is faster).")
    L.append("")
    what = {w.key: w.what for w in workloads}
    small = cl["runs"].get("small", {})
    if small:
        L.append("All three levels at a **small SCALE** (the `scale` column, the workload's "
                 "`THREADS SCALE` argument with THREADS = 1), chosen so that one level-2 run "
                 "takes a second or two: level 2 does an O(heap) check per operation. At this "
                 "size levels 0 and 1 run for well under a millisecond, so their rates here are "
                 "dominated by start-up effects; compare them in the next table.")
        L.append("")
        L.append("| workload | scale | level 0 | level 1 | level 2 | level 0 / level 1 "
                 "| level 2 / level 1 | level 2 slowdown |")
        L.append("|---|---|---|---|---|---|---|---|")
        for key, _ in CHECK_WORKLOADS:
            row = small.get(key)
            if not row:
                continue
            cells = []
            for lv in CHECK_LEVELS:
                s = row["levels"].get(lv)
                if not s or s["ops_med"] is None:
                    cells.append("FAIL" if s and s["failed"] else "—")
                else:
                    cells.append("%s (%.0f%%)" % (fmt_rate(s["ops_med"]),
                                                 100 * (s["ops_spread"] or 0)))
            r0, r2 = row["ratio"].get(0), row["ratio"].get(2)
            L.append("| %s | %s | %s | %s | %s | %s |" % (
                key, row["scale"], " | ".join(cells), fmt_ratio(r0),
                "—" if r2 is None else ("%.2g" % r2 if r2 < 0.01 else "%.3f" % r2),
                "—" if not r2 else "%.0f×" % (1 / r2)))
        L.append("")
    normal = cl["runs"].get("normal", {})
    if normal:
        L.append("Levels 0 and 1 at the workload's **ordinary SCALE** for one thread (as in the "
                 "throughput table), where the difference between them is measurable:")
        L.append("")
        L.append("| workload | scale | level 0 | level 1 | level 0 / level 1 |")
        L.append("|---|---|---|---|---|")
        for key, _ in CHECK_WORKLOADS:
            row = normal.get(key)
            if not row:
                continue
            cells = []
            for lv in CHECK_LEVELS[:2]:
                s = row["levels"].get(lv)
                if not s or s["ops_med"] is None:
                    cells.append("FAIL" if s and s["failed"] else "—")
                else:
                    cells.append("%s (%.0f%%)" % (fmt_rate(s["ops_med"]),
                                                 100 * (s["ops_spread"] or 0)))
            L.append("| %s | %s | %s | %s |" % (key, row["scale"], " | ".join(cells),
                                                fmt_ratio(row["ratio"].get(0))))
        L.append("")
        L.append("What one op is: " + "; ".join(
            "%s = %s" % (k, what[k]) for k, _ in CHECK_WORKLOADS if k in normal or k in small)
            + ".")
        L.append("")
    cg = cl.get("callgrind") or {}
    if cg:
        L.append("fastpath under `valgrind --tool=callgrind --toggle-collect=fastpath_loop`: "
                 "instructions per malloc/free pair (deterministic). Level 2 is run at %dk "
                 "pairs only (tens of seconds under valgrind); levels 0 and 1 at %dk too, for a "
                 "like-for-like ratio, and at %dk like the callgrind table above."
                 % (cl["callgrind_pairs"]["small"], cl["callgrind_pairs"]["small"],
                    cl["callgrind_pairs"]["normal"]))
        L.append("")
        L.append("| level | %dk pairs | / level 1 | %dk pairs | / level 1 |"
                 % (cl["callgrind_pairs"]["small"], cl["callgrind_pairs"]["normal"]))
        L.append("|---|---|---|---|---|")
        cgr = cl.get("callgrind_ratio") or {}
        for lv in CHECK_LEVELS:
            cells = []
            for size in ("small", "normal"):
                v = cg.get(size, {}).get(lv)
                r = cgr.get(size, {}).get(lv)
                cells.append("—" if v is None else "%.0f" % v)
                cells.append("—" if r is None else "%.0f" % r if r >= 100 else fmt_ratio(r))
            L.append("| %d | %s |" % (lv, " | ".join(cells)))
        L.append("")


# ---------------------------------------------------------------------------------------------
# Report


def ratio_cells(summary_row, allocators, key, higher_better):
    """(tamalloc/glibc, tamalloc/best peer, best peer name) for one row and metric. The best peer
    is the best of every other allocator in the row, glibc included."""
    ta = summary_row.get("tamalloc", {}).get(key)
    if ta is None:
        return None, None, None
    g = summary_row.get("glibc", {}).get(key)
    peers = [(summary_row[a][key], a) for a in allocators
             if a != "tamalloc" and summary_row.get(a, {}).get(key) is not None]
    if not peers:
        return (ta / g if g else None), None, None
    best = max(peers) if higher_better else min(peers)
    return (ta / g if g else None), (ta / best[0] if best[0] else None), best[1]


# (summary key, higher is better) of the metrics whose tables carry tamalloc's ratio columns.
# end_rss_med and trim_rss_med (the end-RSS pass) and stime_med (the kernel time of the result
# lines' usage fields) are absent from older summary.json files.
RATIO_METRICS = [("ops_med", True), ("rss_med", False), ("p99_med", False),
                 ("end_rss_med", False), ("trim_rss_med", False), ("stime_med", False)]


def compute_ratios(summary, allocators, callgrind):
    """tamalloc / glibc and tamalloc / best peer of every table row and of the callgrind counts:
    {metric: {workload: {threads: {"glibc", "best_peer", "best_peer_name"}}}, "callgrind": {...}};
    a row where tamalloc has no value is left out."""
    out = {}
    if "tamalloc" not in allocators:
        return out

    def cell(row, key, higher_better):
        rg, rb, best = ratio_cells(row, allocators, key, higher_better)
        return {"glibc": rg, "best_peer": rb, "best_peer_name": best}

    for key, higher_better in RATIO_METRICS:
        out[key] = {}
        for wk, rows in summary.items():
            for t, row in rows.items():
                if row.get("tamalloc", {}).get(key) is not None:
                    out[key].setdefault(wk, {})[t] = cell(row, key, higher_better)
    if callgrind.get("tamalloc") is not None:
        out["callgrind"] = cell({a: {"v": callgrind.get(a)} for a in allocators}, "v", False)
    return out


# ---------------------------------------------------------------------------------------------
# tamalloc's search counters and the scaling pass


def search_cell(recs):
    """tamalloc's search figures over the good runs recs of one cell (their TA_FIELDS, as the
    result lines gave them), or None when no run reported them: the median of the searches, the
    median over the runs of the mean steps per search (search_steps / searches), the most steps
    one search read (max over the runs), the median of the peak free-block count (frag and grow)
    and 2 log2 of it."""
    rs = [x for x in recs if x.get("searches") not in (None, "")]
    if not rs:
        return None
    searches = [int(x["searches"]) for x in rs]
    means = [int(x["search_steps"]) / int(x["searches"]) for x in rs if int(x["searches"])]
    fb = [int(x["free_blocks_peak"]) for x in rs if x.get("free_blocks_peak") not in (None, "")]
    c = {"n": len(rs), "searches_med": statistics.median(searches)}
    c["steps_mean_med"], c["steps_mean_spread"] = summarize(means)
    c["steps_max"] = max(int(x["search_max_steps"]) for x in rs)
    c["free_blocks_peak_med"] = statistics.median(fb) if fb else None
    c["free_blocks_2log2"] = (2 * math.log2(c["free_blocks_peak_med"])
                              if c["free_blocks_peak_med"] else None)
    return c


def best_of(row, names, key="ops_med"):
    """(value, name) of the highest row[name][key] among names, or (None, None)."""
    vals = [(row[a][key], a) for a in names if row.get(a, {}).get(key) is not None]
    return max(vals) if vals else (None, None)


def summarize_scaling(raw, workloads, scales, threads, allocators):
    """{workload: {MiB: {threads: {allocator: {...}}}}} of the scaling pass's runs: throughput
    median, spread, min and max, peak RSS and overhead_pct medians, like the timed pass's cells."""
    cells = {}
    for wk in workloads:
        for mib in scales:
            for t in threads:
                for a in allocators:
                    rs = [x for x in raw if x["pass"] == "scaling" and x["workload"] == wk and
                          x["scale"] == mib and x["threads"] == t and x["allocator"] == a]
                    good = [x for x in rs if x["ok"]]
                    ops = [float(x["ops_per_sec"]) for x in good]
                    c = {"failed": len(rs) - len(good), "n": len(good)}
                    c["ops_med"], c["ops_spread"] = summarize(ops)
                    c["ops_min"] = min(ops) if ops else None
                    c["ops_max"] = max(ops) if ops else None
                    c["rss_med"], _ = summarize([float(x["rss_kb"]) for x in good])
                    fr = [float(x["overhead_pct"]) for x in good if x.get("overhead_pct")]
                    c["frag_med"] = statistics.median(fr) if fr else None
                    cells.setdefault(wk, {}).setdefault(mib, {}).setdefault(t, {})[a] = c
    return cells


def scaling_ratios(cells, scales, threads, allocators):
    """The scaling targets' ratios, from the unrounded medians: {workload: {threads: {
    "large_over_small": {allocator: median at the largest size / median at the smallest},
    "vs_best": {MiB: {"ratio": tamalloc / the best of SCALING_PEERS, "best": its name}}}}}."""
    out = {}
    lo, hi = min(scales), max(scales)
    peers = [a for a in SCALING_PEERS if a in allocators]
    for wk, by_mib in cells.items():
        for t in threads:
            r = {"large_over_small": {}, "vs_best": {}}
            for a in allocators:
                x, y = by_mib[hi][t][a]["ops_med"], by_mib[lo][t][a]["ops_med"]
                r["large_over_small"][a] = x / y if x is not None and y else None
            for mib in scales:
                row = by_mib[mib][t]
                ta = row.get("tamalloc", {}).get("ops_med")
                best, name = best_of(row, peers)
                r["vs_best"][mib] = {"ratio": ta / best if ta is not None and best else None,
                                     "best": name}
            out.setdefault(wk, {})[t] = r
    return out


def idle_rss_ms_median(values):
    """Median of rss_ms values, -1 (never within IDLE_NEAR_KB of the base) counting as later than
    any time; -1 when the median is such a run (or falls between one and a time)."""
    vals = sorted(math.inf if v < 0 else v for v in values)
    med = statistics.median(vals)
    return -1 if math.isinf(med) else med


def summarize_idle(recs, variants, threads, mode="idle"):
    """{variant key: {threads: {...}}} of the idle pass's runs in mode (IDLE_MODES): the medians of
    the resident sizes (base, peak, after the frees, at the end of the idle time, with its spread),
    of rss_ms, how many runs never came within IDLE_NEAR_KB of the base, the most threads seen
    during the idle time and, for tamalloc, the median of its background rounds."""
    cells = {}
    for key in variants:
        for t in threads:
            rs = [x for x in recs if x["variant"] == key and x["threads"] == t and
                  x["mode"] == mode]
            good = [x for x in rs if x["ok"]]
            c = {"failed": len(rs) - len(good), "n": len(good)}
            for f in ("base_rss", "peak_rss", "freed_rss"):
                c[f + "_med"], _ = summarize([float(x[f + "_kb"]) for x in good])
            c["idle_rss_med"], c["idle_rss_spread"] = summarize(
                [float(x["idle_rss_kb"]) for x in good])
            ms = [int(x["rss_ms"]) for x in good]
            c["rss_ms_med"] = idle_rss_ms_median(ms) if ms else None
            c["rss_ms_never"] = sum(1 for v in ms if v < 0)
            c["tasks_max"] = max((int(x["idle_tasks"]) for x in good), default=None)
            bg = [int(x["ta_background_rounds"]) for x in good
                  if x.get("ta_background_rounds") not in (None, "")]
            c["ta_background_rounds_med"] = statistics.median(bg) if bg else None
            cells.setdefault(key, {})[t] = c
    return cells


def idle_ratios(cells, threads, ratio_of=IDLE_RATIO):
    """{threads: idle RSS median of ratio_of[0] / ratio_of[1]} (None when either is missing), from
    the unrounded medians."""
    num, den = ratio_of
    out = {}
    for t in threads:
        a = cells.get(num, {}).get(t, {}).get("idle_rss_med")
        b = cells.get(den, {}).get(t, {}).get("idle_rss_med")
        out[t] = a / b if a is not None and b else None
    return out


def load_summary(path):
    """summary.json as the runner wrote it, with the thread counts and check levels (JSON object
    keys, so strings in the file) turned back into ints. A file from before the runner stored its
    ratios gets them computed here, from its unrounded medians, as the runner now does."""
    with open(path) as f:
        data = json.load(f)

    def intkeys(d):
        return {int(k): v for k, v in d.items()}

    data["summary"] = {wk: intkeys(rows) for wk, rows in data["summary"].items()}
    if "ratios" not in data:
        data["ratios"] = compute_ratios(data["summary"], list(data["meta"]["allocators"]),
                                        data.get("callgrind") or {})
    ratios = data["ratios"]
    for key, _ in RATIO_METRICS:
        ratios[key] = {wk: intkeys(rows) for wk, rows in ratios.get(key, {}).items()}
    sc = data.get("scaling")
    if sc:  # absent from summary.json files written before the scaling pass
        sc["cells"] = {wk: {int(m): intkeys(by_t) for m, by_t in by_mib.items()}
                       for wk, by_mib in sc["cells"].items()}
        for wk, by_t in sc["ratios"].items():
            sc["ratios"][wk] = intkeys(by_t)
            for r in sc["ratios"][wk].values():
                r["vs_best"] = intkeys(r["vs_best"])
    ss = data.get("search_steps")
    if ss:  # absent from summary.json files written before the search counters
        ss["timed"] = {wk: intkeys(v) for wk, v in (ss.get("timed") or {}).items()}
        ss["scaling"] = {wk: {int(m): intkeys(by_t) for m, by_t in by_mib.items()}
                         for wk, by_mib in (ss.get("scaling") or {}).items()}
    sy = data.get("syscalls")
    if sy:  # absent from summary.json files written before the syscall pass
        sy["cells"] = {wk: intkeys(by_t) for wk, by_t in sy["cells"].items()}
    idle = data.get("idle")
    if idle:  # absent from summary.json files written before the idle pass
        idle["cells"] = {key: intkeys(by_t) for key, by_t in idle["cells"].items()}
        idle["ratio"] = intkeys(idle["ratio"])
        light = idle.get("light")
        if light:  # absent from summary.json files written before the light-traffic mode
            light["cells"] = {key: intkeys(by_t) for key, by_t in light["cells"].items()}
            light["ratio"] = intkeys(light["ratio"])
    cl = data.get("check_levels")
    if cl:
        for rows in cl.get("runs", {}).values():
            for row in rows.values():
                row["levels"] = intkeys(row["levels"])
                row["ratio"] = intkeys(row["ratio"])
        cl["callgrind"] = {size: intkeys(v) for size, v in (cl.get("callgrind") or {}).items()}
        if "callgrind_ratio" not in cl:
            cl["callgrind_ratio"] = check_level_callgrind_ratios(cl["callgrind"])
        cl["callgrind_ratio"] = {size: intkeys(v) for size, v in cl["callgrind_ratio"].items()}
    return data


def scaling_section(L, sc, allocators, scaling_plots):
    """Appends the scaling pass's section (sc: summary.json's "scaling") to the report lines L."""
    scales, threads, cells, ratios = sc["scales"], sc["threads"], sc["cells"], sc["ratios"]
    lo, hi = min(scales), max(scales)
    peers = [a for a in SCALING_PEERS if a in allocators]
    peer_text = " and ".join(peers)
    L.append("## Scaling: throughput against live heap size")
    L.append("")
    L.append("%s with SCALE = %s MiB of live data in all (split between the threads), at %s "
             "thread%s; %d run%s per cell, allocators interleaved, in a pass of its own (not in "
             "the tables above). Cells: million malloc+free calls per second, median%s. The "
             "last column is each allocator's median at %d MiB over its own at %d MiB (1.00: its "
             "throughput does not fall as the heap grows). The row \"tamalloc / best of %s\" "
             "divides tamalloc's median by the higher of %s's medians at that size (named)."
             % (join_and(list(cells)), join_and([str(m) for m in scales]),
                join_and([str(t) for t in threads]), "" if threads == [1] else "s", sc["reps"],
                "" if sc["reps"] == 1 else "s",
                "" if sc["reps"] == 1 else " (spread)", hi, lo, " and ".join(peers) or "—",
                peer_text or "—"))
    L.append("")
    by_key = {}
    for wk, t, path in scaling_plots:
        by_key.setdefault(wk, []).append((t, path))

    def cell(c):
        if c["ops_med"] is None:
            return "FAIL" if c["failed"] else "—"
        v = "%.3g" % (c["ops_med"] / 1e6)
        return v if c["n"] < 2 else "%s (%.0f%%)" % (v, 100 * (c["ops_spread"] or 0))

    for wk, by_mib in cells.items():
        L.append("### %s" % wk)
        L.append("")
        L.append("| threads | allocator | " + " | ".join("%d MiB" % m for m in scales) +
                 " | %d MiB / %d MiB |" % (hi, lo))
        L.append("|" + "---|" * (len(scales) + 3))
        for t in threads:
            r = ratios[wk][t]
            for a in allocators:
                L.append("| %d | %s | %s | %s |" % (
                    t, a, " | ".join(cell(by_mib[m][t][a]) for m in scales),
                    fmt_ratio(r["large_over_small"].get(a))))
            if "tamalloc" in allocators and peers:
                L.append("| %d | tamalloc / best of %s | %s | |" % (t, peer_text, " | ".join(
                    "—" if r["vs_best"][m]["ratio"] is None else "%s (%s)" % (
                        fmt_ratio(r["vs_best"][m]["ratio"]), r["vs_best"][m]["best"])
                    for m in scales)))
        L.append("")
        for t, path in by_key.get(wk, []):
            L.append("![%s, %d thread%s](%s)" % (wk, t, "" if t == 1 else "s", path))
            L.append("")
    if "tamalloc" in allocators:
        L.append("### Scaling targets (tamalloc)")
        L.append("")
        L.append("tamalloc's median at %d MiB over its own at %d MiB, and tamalloc's median over "
                 "the best of %s's at each size; above 1 means tamalloc's median was higher."
                 % (hi, lo, peer_text or "—"))
        L.append("")
        L.append("| workload | threads | tamalloc %d MiB / %d MiB | " % (hi, lo) + " | ".join(
            "tamalloc / best of %s, %d MiB" % (peer_text, m) for m in scales) + " |")
        L.append("|" + "---|" * (len(scales) + 3))
        for wk in cells:
            for t in threads:
                r = ratios[wk][t]
                L.append("| %s | %d | %s | %s |" % (
                    wk, t, fmt_ratio(r["large_over_small"].get("tamalloc")), " | ".join(
                        "—" if r["vs_best"][m]["ratio"] is None else "%s (%s)" % (
                            fmt_ratio(r["vs_best"][m]["ratio"]), r["vs_best"][m]["best"])
                        for m in scales)))
        L.append("")


def idle_section(L, idle):
    """Appends the idle pass's section (idle: summary.json's "idle") to the report lines L: the
    table of mode idle and, when the pass ran it (idle["light"]), the table of mode light."""
    threads, cells, variants = idle["threads"], idle["cells"], idle["variants"]
    light = idle.get("light")
    one = idle["reps"] == 1
    sec = idle["idle_ms"] / 1000.0
    L.append("## Idle after a burst: resident memory while the program makes no allocator call")
    L.append("")
    L.append("`bench/idle THREADS %d` in a pass of its own (not in the tables above: the run is "
             "mostly a sleep): the threads allocate %d MiB in all (small 16..1024 B and medium "
             "1..64 KiB blocks, every page written), other threads free every block, then, with "
             "every worker joined, the program makes no allocator call for %.1f s "
             "(`BENCH_IDLE_MS=%d`) and reads its resident size from `/proc/self/statm` at 0 ms "
             "and every 250 ms. Each allocator in its default configuration and, where it has "
             "one, with its background purge on (tamalloc: `TAMALLOC_BACKGROUND=1`; jemalloc: "
             "`MALLOC_CONF=background_thread:true`); glibc, tcmalloc and mimalloc have none, so "
             "they run in their default configuration only. %s per cell, allocators interleaved%s. "
             "Columns per thread count: after frees = resident size right after the last free; "
             "idle = at the end of the %.1f s; back at = the first reading within %d MiB of the "
             "resident size before the burst (never: not within %.1f s). Threads while idle: the "
             "most threads the process had at the last reading (1 + the allocator's background "
             "threads). MiB, lower is better. jemalloc returns its dirty pages over "
             "`dirty_decay_ms` (10 s by default in Debian's 5.3), with or without its background "
             "thread; `--idle-ms` sets a longer idle time.%s"
             % (idle["scale"], idle["scale"], sec, idle["idle_ms"],
                "One run" if one else "%d runs (medians; idle RSS: median (spread))"
                % idle["reps"], " (and with the light-traffic runs below)" if light else "", sec,
                IDLE_NEAR_KB // 1024, sec,
                " One run per cell, so the cells have no spread." if one else ""))
    L.append("")
    base = [c["base_rss_med"] for by_t in cells.values() for c in by_t.values()
            if c["base_rss_med"] is not None]
    if base:
        L.append("Resident size before the burst (the base), medians over the cells: %s MiB."
                 % fmt_range(base, lambda kb: "%.1f" % (kb / 1024.0)))
        L.append("")

    def mib(kb):
        return "—" if kb is None else "%.1f" % (kb / 1024.0)

    def t_head(t):
        return "%d thread%s" % (t, "" if t == 1 else "s")

    def per_thread(ratio, target):
        return "; ".join("%s %s" % (t_head(t), "—" if ratio.get(t) is None else "%s (%s)" % (
            fmt_ratio(ratio[t]), "met" if ratio[t] <= target else "NOT met")) for t in threads)

    def table(cells, ratio_of, ratio, target, ratio_name, ratio_what):
        """The table of one mode's cells, with a last row for ratio (ratio_of: its numerator's
        and denominator's variant keys) when the pass ran both."""
        head = "| allocator | configuration | " + " | ".join(
            "%s: after frees | %s: idle | %s: back at, ms" % (t_head(t), t_head(t), t_head(t))
            for t in threads) + " | threads while idle |"
        L.append(head)
        L.append("|" + "---|" * (head.count("|") - 1))
        for v in variants:
            by_t = cells[v["key"]]
            row = []
            for t in threads:
                c = by_t[t]
                if c["idle_rss_med"] is None:
                    row += ["FAIL" if c["failed"] else "—"] * 3
                    continue
                idle_cell = mib(c["idle_rss_med"])
                if c["n"] >= 2:
                    idle_cell += " (%.0f%%)" % (100 * (c["idle_rss_spread"] or 0))
                if c["rss_ms_med"] is None:
                    back = "—"
                elif c["rss_ms_med"] < 0:
                    back = "never"
                else:
                    back = "%.0f" % c["rss_ms_med"]
                if 0 < c["rss_ms_never"] < c["n"]:
                    back += " (%d of %d never)" % (c["rss_ms_never"], c["n"])
                row += [mib(c["freed_rss_med"]), idle_cell, back]
            tasks = [by_t[t]["tasks_max"] for t in threads if by_t[t]["tasks_max"] is not None]
            L.append("| %s | %s | %s | %s |" % (v["allocator"], v["config"], " | ".join(row),
                                                max(tasks) if tasks else "—"))
        keys = [v["key"] for v in variants]
        if ratio_of[0] in keys and ratio_of[1] in keys:
            cells_r = []
            for t in threads:
                r = ratio.get(t)
                cells_r += ["", "—" if r is None else "%s (%s)" % (
                    fmt_ratio(r), "met" if r <= target else "NOT met"), ""]
            L.append("| **%s** | %s, target ≤ %.1f | %s | |" % (
                ratio_name, ratio_what, target, " | ".join(cells_r)))
            L.append("")
            return True
        L.append("")
        return False

    def rounds(cells):
        tb = cells.get("tamalloc_background") or {}
        bg = [(t, tb[t]["ta_background_rounds_med"]) for t in threads
              if t in tb and tb[t]["ta_background_rounds_med"] is not None]
        if bg:
            L.append("tamalloc's background purge rounds (ta_stats.background_rounds, median): %s."
                     % ", ".join("%s %.0f" % (t_head(t), v) for t, v in bg))
            L.append("")

    target = idle["target"]
    if table(cells, IDLE_RATIO, idle["ratio"], target,
             "tamalloc background / jemalloc background_thread", "idle RSS ratio"):
        L.append("The target (issue 19): idle after a burst with `TAMALLOC_BACKGROUND=1`, "
                 "resident memory within %.1f× of jemalloc's with its background thread on: "
                 "the median idle RSS of the one over the other's, %s." % (
                     target, "; ".join(
                         "%s %s" % (t_head(t), "—" if idle["ratio"].get(t) is None else
                                    fmt_ratio(idle["ratio"][t])) for t in threads)))
        L.append("")
    rounds(cells)
    if not light:  # summary.json files written before the light-traffic mode
        return
    L.append("## Light traffic after a burst: resident memory while the thread caches serve small "
             "requests")
    L.append("")
    L.append("Runs like those of the table above (the same burst, %.1f s, readings and "
             "allocator configurations, interleaved with them), but with `BENCH_IDLE_LIGHT=1`: "
             "instead of making no allocator call, the program serves light traffic from its "
             "thread cache, %d pairs of `malloc(%d)`/`free` every %d ms (%d pairs in the %.1f s), "
             "as a server between bursts does. Same columns: idle = the resident size at the end "
             "of the %.1f s; threads while idle: at the last reading. %s per cell."
             % (sec, light["pairs"], light["size"], light["every_ms"],
                light["pairs"] * -(-idle["idle_ms"] // light["every_ms"]), sec, sec,
                "One run" if one else "%d runs (medians; idle RSS: median (spread))"
                % idle["reps"]))
    L.append("")
    target = light["target"]
    ratio_of = tuple(light["ratio_of"])
    table(light["cells"], ratio_of, light["ratio"], target,
          "tamalloc default / jemalloc background_thread", "end RSS ratio")
    if all(k in [v["key"] for v in variants] for k in ratio_of):
        L.append("Issue 19's target: light traffic with the defaults: tamalloc (default) / "
                 "jemalloc (background_thread) end RSS at most %.1f: %s." % (
                     target, per_thread(light["ratio"], target)))
        L.append("")
    rounds(light["cells"])


def search_section(L, ss, plot=None):
    """Appends "Next-fit search steps (tamalloc)" (ss: summary.json's "search_steps") to L."""
    timed, scaling = ss.get("timed") or {}, ss.get("scaling") or {}
    if not timed and not scaling:
        return
    L.append("## Next-fit search steps (tamalloc)")
    L.append("")
    L.append("tamalloc's own counters (`ta_get_stats`, read by the workload through `dlsym` at the "
             "end of the run; the other allocators have none): a search is one next-fit search "
             "of an arena (an allocation, or a thread-cache refill, that the caches could not "
             "serve); its steps are the fit-index nodes and block headers it read. Mean steps "
             "per search: search_steps / searches of each run, median over the repetitions "
             "(spread); largest: the most steps one search read, the maximum over the arenas and "
             "the repetitions. Free blocks at peak (frag and grow only, which sample the heap at "
             "their phase ends): the most blocks on the arenas' free lists, summed over the "
             "arenas, median over the repetitions, and 2 log2 of it, what a balanced search "
             "among that many blocks would read; walking the list could read them all.")
    L.append("")

    def cells(c):
        sp = "" if c["n"] < 2 or c["steps_mean_spread"] is None else \
            " (%.0f%%)" % (100 * c["steps_mean_spread"])
        return "%s | %s | %d | %s | %s" % (
            fmt_rate(c["searches_med"]),
            "—" if c["steps_mean_med"] is None else "%.1f%s" % (c["steps_mean_med"], sp),
            c["steps_max"],
            "—" if c["free_blocks_peak_med"] is None else fmt_rate(c["free_blocks_peak_med"]),
            "—" if c["free_blocks_2log2"] is None else "%.1f" % c["free_blocks_2log2"])

    cols = "searches | mean steps / search | largest | free blocks at peak | 2 log2(free blocks)"
    if timed:
        L.append("The timed runs (the throughput table's scale):")
        L.append("")
        L.append("| workload | threads | " + cols + " |")
        L.append("|---|---|---|---|---|---|---|")
        for wk, by_t in timed.items():
            for t, c in sorted(by_t.items()):
                L.append("| %s | %d | %s |" % (wk, t, cells(c)))
        L.append("")
    if scaling:
        L.append("The scaling pass:")
        L.append("")
        L.append("| workload | live MiB | threads | " + cols + " |")
        L.append("|---|---|---|---|---|---|---|---|")
        for wk, by_mib in scaling.items():
            for mib, by_t in sorted(by_mib.items()):
                for t, c in sorted(by_t.items()):
                    L.append("| %s | %d | %d | %s |" % (wk, mib, t, cells(c)))
        L.append("")
        if plot:
            L.append("![search steps against live heap size](%s)" % plot)
            L.append("")


def syscall_section(L, sy, allocators):
    """Appends "System calls per run" (sy: summary.json's "syscalls") to the report lines L."""
    L.append("## System calls per run (strace -c, one run at quick scale)")
    L.append("")
    left_out = "; ".join("%s: %s" % kv for kv in sorted(sy.get("excluded", {}).items()))
    L.append("A pass of its own (strace slows the runs down, so they are in no other table): each "
             "workload once per thread count and allocator, at its `--quick` SCALE (the `scale` "
             "column) whatever the run's mode, allocators interleaved, under `strace -f -c -e "
             "trace=%s`; the preload is given to the traced program only (`strace -E "
             "LD_PRELOAD=...`). Cells: calls of **madvise / munmap / mmap+mremap / brk** (lower "
             "is better) over the whole process, every thread, from start to exit: the dynamic "
             "loader's and the C library's start-up mappings are included (alike for every "
             "allocator, apart from the preloaded library's own). One run, so no spread; "
             "strace's own summaries are in `strace/`.%s"
             % (",".join(sy["syscalls"]), " Left out: %s." % left_out if left_out else ""))
    L.append("")
    head = "| workload | threads | scale | " + " | ".join(allocators) + " |"
    L.append(head)
    L.append("|" + "---|" * (head.count("|") - 1))
    for wk, by_t in sy["cells"].items():
        for t, c in sorted(by_t.items()):
            cells = []
            for a in allocators:
                n = c["calls"].get(a, "")
                if n == "":
                    cells.append("—")
                elif n is None:
                    cells.append("FAIL")
                else:
                    cells.append("%d / %d / %d / %d" % (n["madvise"], n["munmap"],
                                                         n["mmap"] + n["mremap"], n["brk"]))
            L.append("| %s | %d | %s | %s |" % (wk, t, c["scale"], " | ".join(cells)))
    L.append("")


def write_report(out, meta, allocators, threads, summary, callgrind, plots, workloads, failures,
                 check_levels=None, ratios=None, scaling=None, search=None, scaling_plots=(),
                 search_plot=None, idle=None, syscalls=None):
    ratios = ratios or {}
    L = []
    L.append("# tamalloc benchmark results")
    L.append("")
    L.append("- Date: %s" % meta["date"])
    m = meta["machine"]
    L.append("- Machine: %s CPUs (nproc), %s, kernel %s, %s" % (m["nproc"], m["cpu"], m["kernel"],
                                                               m["memory"]))
    L.append("- Load average at start / end: %s / %s" % (meta["load_start"], meta["load_end"]))
    if meta.get("source"):
        L.append("- Source: %s" % meta["source"])
    only = [p for p, o in (("scaling pass", meta.get("scaling_only")),
                           ("idle pass", meta.get("idle_only")),
                           ("syscall pass", meta.get("syscalls_only"))) if o]
    L.append("- Mode: %s; %d repetition%s per cell, allocators interleaved; %d runs in %.0f s"
             % (meta["mode"] + (", %s only" % " and ".join(only) if only else ""),
                meta["reps"], "" if meta["reps"] == 1 else "s", meta["runs"], meta["elapsed"]))
    L.append("- Allocators: " + "; ".join(meta["allocators"][a] for a in allocators))
    if scaling:
        L.append("- Scaling pass: %s at %s MiB of live data, %s threads, %d run%s per cell; %d "
                 "runs in %.0f s" % (
                     ", ".join(scaling["cells"]), ", ".join(str(m) for m in scaling["scales"]),
                     ", ".join(str(t) for t in scaling["threads"]), scaling["reps"],
                     "" if scaling["reps"] == 1 else "s", scaling["runs"], scaling["elapsed"]))
    if idle:
        L.append("- Idle pass: idle at %d MiB, %s thread%s, %.1f s idle%s, %d allocator "
                 "configuration%s, %d run%s per cell; %d runs in %.0f s" % (
                     idle["scale"], join_and([str(t) for t in idle["threads"]]),
                     "" if idle["threads"] == [1] else "s", idle["idle_ms"] / 1000.0,
                     " in two modes (no allocator call; light traffic)" if idle.get("light")
                     else "",
                     len(idle["variants"]), "" if len(idle["variants"]) == 1 else "s", idle["reps"],
                     "" if idle["reps"] == 1 else "s", idle["runs"], idle["elapsed"]))
    if syscalls:
        L.append("- Syscall pass: %s at %s thread%s, one run per cell at the quick scale under "
                 "strace %s; %d runs in %.0f s" % (
                     ", ".join(syscalls["cells"]), ", ".join(str(t) for t in syscalls["threads"]),
                     "" if syscalls["threads"] == [1] else "s", syscalls.get("strace", "?"),
                     syscalls["runs"], syscalls["elapsed"]))
    if meta.get("end_rss"):
        er = meta["end_rss"]
        L.append("- RSS at the end of the run: a separate pass after the timed runs, %d run%s per "
                 "cell (%d runs in all, each with one %.1f s sleep after the workload freed "
                 "everything); the timed runs have no sleep" % (
                     er["reps"], "" if er["reps"] == 1 else "s", er["runs"],
                     er["sleep_ms"] / 1000.0))
    L.append("")
    L.append("> **Read the ratios, not the absolute numbers.** This machine is small (2 cores) and "
             "shared, so absolute rates move from run to run; the allocators were run interleaved "
             "(A B C D E, A B C D E, ...) so that noise hits them alike, and the ratios from one "
             "run are what count. Thread counts above the core count are oversubscribed. "
             "Cells show the median over the repetitions and, in parentheses, the spread "
             "(max − min) / median.")
    L.append("")
    if failures:
        L.append("**%d runs failed** (excluded from the medians; their cells say FAIL):" %
                 len(failures))
        L.append("")
        for f in failures[:20]:
            L.append("- " + f)
        L.append("")

    def table(title, key, spread_key, fmt, higher_better, note, rows=workloads, n_key=None,
              ratio_cols=True):
        if not rows:  # --scaling-only: no timed pass
            return
        ratio_cols = ratio_cols and "tamalloc" in allocators
        L.append("## " + title)
        L.append("")
        L.append(note)
        L.append("")
        head = "| workload | threads | " + " | ".join(allocators)
        if ratio_cols:
            head += " | tamalloc / glibc | tamalloc / best peer"
        L.append(head + " |")
        L.append("|" + "---|" * (head.count("|")))
        for w in rows:
            for t in threads:
                row = summary[w.key][t]
                cells = []
                for a in allocators:
                    s = row[a]
                    failed = s.get("end_failed") if n_key else s["failed"]
                    if s.get(key) is None:
                        cells.append("FAIL" if failed else "—")
                    elif n_key and s.get(n_key, 0) < 2:  # one run: no spread to show
                        cells.append(fmt(s[key]))
                    else:
                        cells.append("%s (%.0f%%)" % (fmt(s[key]), 100 * (s[spread_key] or 0)))
                line = "| %s | %d | %s" % (w.key, t, " | ".join(cells))
                if ratio_cols:
                    r = ratios.get(key, {}).get(w.key, {}).get(t, {})
                    best = r.get("best_peer_name")
                    line += " | %s | %s" % (fmt_ratio(r.get("glibc")), fmt_ratio(r.get(
                        "best_peer")) + (" (%s)" % best if best else ""))
                L.append(line + " |")
        L.append("")

    table("Throughput (higher is better)", "ops_med", "ops_spread", fmt_rate, True,
          "Operations per second; what an operation is: " +
          "; ".join("%s = %s" % (w.key, w.what) for w in workloads) + ".")
    table("Peak RSS, MiB (lower is better)", "rss_med", "rss_spread",
          lambda kb: "%.1f" % (kb / 1024.0), False,
          "Peak resident set (VmHWM from /proc) of the workload process, or for memcached of "
          "the server; includes the program's own ~2-3 MiB baseline.")

    er = meta.get("end_rss")
    end_rows = [w for w in workloads if er and w.key in er["workloads"]]
    if end_rows:
        one = er["reps"] == 1
        table("RSS at the end of the run (MiB, lower is better)", "end_rss_med",
              "end_rss_spread", lambda kb: "%.1f" % (kb / 1024.0), False,
              "Measured in a separate pass after the timed runs (so their pace is unchanged): "
              "%s per cell, allocators interleaved, at the same SCALE, with `BENCH_END_RSS_MS=%d`. "
              "Once the workload has joined its threads and freed everything it allocated, it "
              "sleeps %.1f s (so that time-based decay — glibc's, jemalloc's, mimalloc's, "
              "tamalloc's — can act), makes %d `malloc(5000)`/`free` pairs (tamalloc's decay is "
              "driven by its own calls) and reads its current resident size from "
              "`/proc/self/statm` (not the peak); the same steps for every allocator. An "
              "allocator that gives memory back ends small, one that keeps it ends near its "
              "peak. Includes the program's own ~2-3 MiB baseline; memcached is left out (its "
              "server keeps its items to the end).%s"
              % ("one run" if one else "%d runs" % er["reps"], er["sleep_ms"],
                 er["sleep_ms"] / 1000.0, er["pairs"],
                 " One run per cell, so the cells have no spread." if one else
                 " Cells: median (spread)."),
              rows=end_rows, n_key="end_n")
        table("RSS at the end of the run, after malloc_trim(0) (MiB, lower is better)",
              "trim_rss_med", "trim_rss_spread", lambda kb: "%.1f" % (kb / 1024.0), False,
              "The same runs: right after the measurement above, `malloc_trim(0)` and "
              "`/proc/self/statm` again, when the allocator in use has a `malloc_trim` of its own "
              "(found with `dlsym(RTLD_DEFAULT, \"malloc_trim\")` in the same object as `malloc`: "
              "glibc's and `libtamalloc.so`'s). Debian's jemalloc, tcmalloc and mimalloc export "
              "none, and glibc's would not touch their memory, so their cells are —.",
              rows=end_rows, n_key="end_n")

    # The result lines' usage fields (absent from the cells of older summary.json files)
    usage_rows = [w for w in workloads if any(
        row.get(a, {}).get("stime_med") is not None for row in summary[w.key].values()
        for a in allocators)]
    usage_of_what = ("getrusage(`RUSAGE_SELF`) read by the workload when it reports, over the "
                     "whole process: its setup, its own checking and its frees are in it, not "
                     "only the measured interval; for memcached, the server's, which `mc_bench` "
                     "gets from `wait4` once it has killed it (its whole life: start-up and fill "
                     "included). The timed runs; median (spread).")
    if usage_rows:
        table("Kernel time (s, lower is better)", "stime_med", "stime_spread",
              lambda x: "%.3f" % x, False,
              "CPU time spent in the kernel on behalf of the process (`ru_stime`): the "
              "allocator's mmap, munmap and madvise calls, and the page faults on the memory it "
              "hands out, are counted here. " + usage_of_what + " Linux splits a thread's CPU "
              "time between user and kernel in proportion to the timer ticks that found it in "
              "each, so a cell of a few milliseconds is coarse (its spread shows it): read the "
              "longer runs.", rows=usage_rows)
        for wk in KERNEL_TARGET_WORKLOADS:
            ch = ratios.get("stime_med", {}).get(wk, {})
            ch_t = [t for t in threads if t in (1, 2, 4) and ch.get(t, {}).get("glibc") is not None]
            if ch_t:
                L.append("Issue 19's target: %s's kernel time under tamalloc at or below glibc's "
                         "at 1, 2 and 4 threads (tamalloc / glibc at most 1.00): %s." % (wk, "; ".join(
                             "%d thread%s %s (%s)" % (t, "" if t == 1 else "s",
                                                      fmt_ratio(ch[t]["glibc"]),
                                                      "met" if ch[t]["glibc"] <= 1 else "NOT met")
                             for t in ch_t)))
                L.append("")
        table("Minor page faults (thousands)", "minflt_med", "minflt_spread",
              lambda x: "%.1f" % (x / 1000.0), False,
              "Minor page faults of the same runs (`ru_minflt`; lower is better): each first "
              "touch of a page the allocator got from the kernel, or gave back and reused, costs "
              "one. " + usage_of_what, rows=usage_rows, ratio_cols=False)
    if syscalls:
        syscall_section(L, syscalls, allocators)

    if idle:
        idle_section(L, idle)

    mc = [w for w in workloads if w.key == "memcached"]
    if mc:
        table("memcached p99 latency, µs (lower is better)", "p99_med", "p99_spread",
              lambda x: "%.0f" % x, False,
              "99th percentile of request latency seen by the client (one client thread, 16 "
              "connections, one request outstanding on each).", rows=mc)
    fr = [w for w in workloads if w.key == "frag"]
    if fr:
        L.append("## Fragmentation: peak RSS over peak live bytes")
        L.append("")
        L.append("(peak RSS − baseline RSS − peak live) / peak live, in %, median; lower is "
                 "better. About 50% is the floor for this workload (phase 2 leaves half of "
                 "phase 1's bytes as holes too small for phase 3's blocks).")
        L.append("")
        head = "| threads | " + " | ".join(allocators) + " |"
        L.append(head)
        L.append("|" + "---|" * (len(allocators) + 1))
        for t in threads:
            row = summary["frag"][t]
            L.append("| %d | %s |" % (t, " | ".join(
                "—" if row[a]["frag_med"] is None else "%.0f%%" % row[a]["frag_med"]
                for a in allocators)))
        L.append("")
    gr = [w for w in workloads if w.key == "grow"]
    if gr:
        L.append("## Fragmentation (grow): peak RSS over peak live bytes")
        L.append("")
        L.append("(peak RSS − baseline RSS − peak live) / peak live, in %, median; lower is "
                 "better. About 100% is the floor for this workload: at its peak the holes left "
                 "by freeing every other block (the small ones, then each size class's), which "
                 "no later, larger block fits, add up to about the live bytes; the program's own "
                 "record of its blocks (12 bytes each) adds about 9%.")
        L.append("")
        L.append("| threads | " + " | ".join(allocators) + " |")
        L.append("|" + "---|" * (len(allocators) + 1))
        for t in threads:
            row = summary["grow"][t]
            L.append("| %d | %s |" % (t, " | ".join(
                "—" if row[a]["frag_med"] is None else "%.0f%%" % row[a]["frag_med"]
                for a in allocators)))
        L.append("")
    if scaling:
        scaling_section(L, scaling, allocators, scaling_plots)
    if search:
        search_section(L, search, search_plot)
    if callgrind:
        L.append("## Fast path: instructions per malloc/free pair (callgrind)")
        L.append("")
        L.append("`valgrind --tool=callgrind --toggle-collect=fastpath_loop`, one thread: "
                 "instructions executed in the loop and everything it calls, divided by the "
                 "pairs (deterministic, so it does not depend on the machine's load).")
        L.append("")
        L.append("| " + " | ".join(allocators) + " | tamalloc / glibc | tamalloc / best peer |")
        L.append("|" + "---|" * (len(allocators) + 2))
        cells = ["—" if callgrind.get(a) is None else "%.0f" % callgrind[a] for a in allocators]
        r = ratios.get("callgrind", {})
        L.append("| %s | %s | %s |" % (
            " | ".join(cells), fmt_ratio(r.get("glibc")),
            (fmt_ratio(r["best_peer"]) + " (%s)" % r["best_peer_name"])
            if r.get("best_peer") is not None else "—"))
        L.append("")
    if check_levels:
        check_level_section(L, check_levels, workloads)
    if plots:
        L.append("## Plots")
        L.append("")
        for p in plots:
            L.append("![%s](%s)" % (os.path.basename(p)[:-4], p))
            L.append("")
    passes = (["`timed`"] if workloads else []) + \
        (["`scaling` for the scaling pass (`scale`: MiB of live data)"] if scaling else []) + \
        (["`end_rss` for the end-RSS pass"] if meta.get("end_rss") else []) + \
        (["`syscalls` for the syscall pass (the `*_calls` columns; strace's summaries: "
          "`strace/`)"] if syscalls else [])
    notes = (["column `pass`: " + ", ".join(passes[:-1]) + ", or " + passes[-1]]
             if len(passes) > 1 else
             ["column `pass`: %s" % passes[0]] if passes and not workloads else []) + \
        (["check-level runs: `check_levels.csv`"] if check_levels else []) + \
        (["idle-pass runs: `idle.csv`"] if idle else [])
    if idle and not workloads and not scaling and not syscalls:  # --idle-only: no raw.csv rows
        L.append("Raw runs: `idle.csv`; medians: `summary.json` (\"idle\").")
    else:
        L.append("Raw runs: `raw.csv`%s; medians: `summary.json`%s." % (
            " (%s)" % "; ".join(notes) if notes else "",
            "; plot data and gnuplot scripts: `plots/*.dat`, `plots/*.gp`"
            if workloads or scaling else ""))  # --syscalls-only: no plots
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(L) + "\n")
    return "\n".join(L)


# ---------------------------------------------------------------------------------------------
# The README's benchmark block, from summary.json alone

README_BEGIN = "<!-- bench:begin -->"
README_END = "<!-- bench:end -->"


def fmt_range(values, fmt):
    """"lo–hi" of the formatted values, or the one value when they print alike."""
    lo, hi = fmt(min(values)), fmt(max(values))
    return lo if lo == hi else "%s–%s" % (lo, hi)


def join_and(items):
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def readme_block(data, report):
    """The lines between the README's markers: the run's date and machine, the throughput-ratio
    table, the end-RSS ratio table (when the run measured it) and one paragraph, every figure
    taken from data (a loaded summary.json) and printed as results.md prints it; report is the
    folder's path from the repository root."""
    meta, summary, ratios = data["meta"], data["summary"], data.get("ratios", {})
    allocators = list(meta["allocators"])
    peers = [a for a in allocators if a != "tamalloc"]
    workloads = list(summary)
    threads = sorted({t for rows in summary.values() for t in rows})
    m = meta["machine"]

    def wrap(text):
        return textwrap.wrap(text, 100, break_on_hyphens=False, break_long_words=False)

    # (no double hyphen inside an HTML comment, so the command itself is not quoted here)
    L = wrap("<!-- Generated by bench/run.py from %s/summary.json; edit bench/run.py, not these "
             "lines. -->" % report)
    L.append("")
    src = ("%s run of %s: %s CPUs (nproc), %s, kernel %s, %s; load average %s at start and %s at "
           "end; %d repetitions per cell, allocators interleaved; %d runs in %.0f s. Report: [%s]"
           "(%s)." % ("Quick (--quick)" if meta["mode"] == "quick" else "Full", meta["date"],
                      m["nproc"], m["cpu"], m["kernel"], m["memory"], meta["load_start"],
                      meta["load_end"], meta["reps"], meta["runs"], meta["elapsed"],
                      report + "/results.md", report + "/results.md"))
    if meta.get("rebuilt_from"):
        src += (" Its summary.json was rebuilt from %s (the run's raw.csv was not kept), so the "
                "medians have that file's printed precision." % meta["rebuilt_from"])
    if data.get("failures"):
        src += " %d runs failed; their cells are left out." % len(data["failures"])
    L += wrap(src) + [""]
    ops = ratios.get("ops_med", {})
    if "tamalloc" not in allocators or not ops:
        L.append("tamalloc was not measured in this run.")
        return L
    L += wrap("Throughput, tamalloc / glibc and tamalloc / best peer (the highest median of %s "
              "in that row, named), by threads; above 1 means tamalloc's median was higher:"
              % join_and(peers))
    L.append("")

    def ratio_table(metric, rows):
        """The block's table of one metric: a row per workload, a column per thread count, each
        cell "tamalloc / glibc / tamalloc / best peer (name)"."""
        L.append("| workload | " + " | ".join(
            "%d thread%s%s" % (t, "s" if t > 1 else "",
                               " (oversubscribed)" if t > m["nproc"] else "")
            for t in threads) + " |")
        L.append("|---|" + "---|" * len(threads))
        for wk in rows:
            cells = []
            for t in threads:
                r = ratios.get(metric, {}).get(wk, {}).get(t)
                cells.append("—" if r is None else "%s / %s%s" % (
                    fmt_ratio(r["glibc"]), fmt_ratio(r["best_peer"]),
                    " (%s)" % r["best_peer_name"] if r["best_peer_name"] else ""))
            L.append("| %s | %s |" % (wk, " | ".join(cells)))
        L.append("")

    ratio_table("ops_med", workloads)
    er, end = meta.get("end_rss"), ratios.get("end_rss_med", {})
    if er and end:
        L += wrap("RSS at the end of the run (the workload has freed everything, slept %.1f s and "
                  "made %d malloc/free pairs; a separate pass of %d run%s per cell), tamalloc / "
                  "glibc and tamalloc / best peer (the lowest median of %s in that row, named), by "
                  "threads; below 1 means tamalloc ended with less memory resident:" % (
                      er["sleep_ms"] / 1000.0, er["pairs"], er["reps"],
                      "" if er["reps"] == 1 else "s", join_and(peers)))
        L.append("")
        ratio_table("end_rss_med", [wk for wk in workloads if wk in end])

    def per_workload(metric, which, only=None):
        parts = []
        for wk in only or workloads:
            vals = [r[which] for r in ratios.get(metric, {}).get(wk, {}).values()
                    if r[which] is not None]
            if vals:
                parts.append("%s %s" % (wk, fmt_range(vals, fmt_ratio)))
        return parts

    def above_one(which):
        cells = {}
        for wk in workloads:
            for t in threads:
                r = ops.get(wk, {}).get(t)
                if r and r[which] is not None and float(fmt_ratio(r[which])) > 1:
                    cells.setdefault(wk, []).append(str(t))
        n = sum(len(v) for v in cells.values())
        where = "; ".join("%s at %s thread%s" % (wk, join_and(ts), "s" if ts != ["1"] else "")
                          for wk, ts in cells.items())
        return "%d of %d cells%s" % (n, sum(len(v) for v in ops.values()),
                                      " (%s)" % where if where else "")

    P = []
    rng = per_workload("ops_med", "best_peer")
    if rng:
        P.append("Throughput, tamalloc / best peer, lowest–highest over %s threads: %s. It is "
                 "above 1.00 in %s; tamalloc / glibc is above 1.00 in %s." % (
                     fmt_range(threads, str), ", ".join(rng), above_one("best_peer"),
                     above_one("glibc")))
    spreads = [s["ops_spread"] for rows in summary.values() for row in rows.values()
               for s in row.values() if s.get("ops_spread") is not None]
    if spreads:
        P.append("The throughput cells' spreads ((max − min) / median of the repetitions) run "
                 "from %.0f%% to %.0f%%." % (100 * min(spreads), 100 * max(spreads)))
    cg, cgr = data.get("callgrind") or {}, ratios.get("callgrind")
    if cg.get("tamalloc") is not None and cgr and cgr["best_peer"] is not None:
        P.append("Fast path under callgrind (fastpath, one thread), instructions per malloc/free "
                 "pair: %s; tamalloc / glibc %s, tamalloc / best peer %s (%s)." % (
                     ", ".join("%s %.0f" % (a, cg[a]) for a in allocators if a in cg),
                     fmt_ratio(cgr["glibc"]), fmt_ratio(cgr["best_peer"]),
                     cgr["best_peer_name"]))
    rng = per_workload("rss_med", "glibc")
    if rng:
        P.append("Peak RSS, tamalloc / glibc over the thread counts: %s." % ", ".join(rng))
    rng = per_workload("stime_med", "glibc")  # absent from files before the usage fields
    if rng:
        P.append("Kernel time (getrusage of the whole process; memcached: of the server), "
                 "tamalloc / glibc over the thread counts: %s." % ", ".join(rng))
    if er and end:
        mib = []
        for a in allocators:
            vals = [row[a]["end_rss_med"] for wk in end for row in summary[wk].values()
                    if row.get(a, {}).get("end_rss_med") is not None]
            if vals:
                mib.append("%s %s" % (a, fmt_range(vals, lambda kb: "%.1f" % (kb / 1024.0))))
        if mib:
            P.append("RSS at the end of the run, MiB, lowest–highest over the workloads and "
                     "thread counts: %s." % ", ".join(mib))
        rng = per_workload("trim_rss_med", "glibc")
        if rng:
            P.append("After malloc_trim(0) as well (only tamalloc and glibc have one of their "
                     "own), end RSS tamalloc / glibc over the thread counts: %s."
                     % ", ".join(rng))
    if "frag" in summary:
        fr = []
        for a in allocators:
            vals = [row[a]["frag_med"] for row in summary["frag"].values()
                    if row.get(a, {}).get("frag_med") is not None]
            if vals:
                fr.append("%s %s" % (a, fmt_range(vals, lambda x: "%.0f%%" % x)))
        if fr:
            P.append("frag, (peak RSS − baseline − peak live) / peak live over the thread counts: "
                     "%s." % ", ".join(fr))
    rng = per_workload("p99_med", "glibc", ["memcached"])
    if rng:
        P.append("memcached p99 latency, tamalloc / glibc over the thread counts: %s."
                 % rng[0].split(" ", 1)[1])
    cl = data.get("check_levels") or {}
    normal, small = cl.get("runs", {}).get("normal", {}), cl.get("runs", {}).get("small", {})
    lv0 = ["%s %s" % (wk, fmt_ratio(row["ratio"][0])) for wk, row in normal.items()
           if row["ratio"].get(0) is not None]
    if lv0:
        text = ("TAMALLOC_CHECK=0 / the default level 1 (tamalloc, one thread, the throughput "
                "table's scale), throughput: %s" % ", ".join(lv0))
        ncg = (cl.get("callgrind") or {}).get("normal", {})
        ncr = (cl.get("callgrind_ratio") or {}).get("normal", {})
        if ncg.get(0) is not None and ncg.get(1) is not None and ncr.get(0) is not None:
            text += "; fastpath instructions per pair: %.0f vs %.0f (%s)" % (
                ncg[0], ncg[1], fmt_ratio(ncr[0]))
        P.append(text + ".")
    lv2 = ["%s %.0f" % (wk, 1 / row["ratio"][2]) for wk, row in small.items()
           if row["ratio"].get(2)]
    if lv2:
        P.append("Level 1 / level 2 throughput at a small scale: %s." % ", ".join(lv2))
    sc = data.get("scaling")  # absent from summary.json files written before the scaling pass
    if sc and "tamalloc" in allocators:
        lo, hi = min(sc["scales"]), max(sc["scales"])
        own, best = [], []
        for wk, by_t in sc["ratios"].items():
            v = [r["large_over_small"].get("tamalloc") for r in by_t.values()]
            v = [x for x in v if x is not None]
            if v:
                own.append("%s %s" % (wk, fmt_range(v, fmt_ratio)))
            b = [x["ratio"] for r in by_t.values() for x in r["vs_best"].values()
                 if x["ratio"] is not None]
            if b:
                best.append("%s %s" % (wk, fmt_range(b, fmt_ratio)))
        if own:
            P.append("Scaling pass (%s with %s MiB of live data, %s threads, %d run%s per cell): "
                     "tamalloc at %d MiB / tamalloc at %d MiB over the thread counts: %s%s." % (
                         join_and(list(sc["ratios"])), join_and([str(m) for m in sc["scales"]]),
                         join_and([str(t) for t in sc["threads"]]), sc["reps"],
                         "" if sc["reps"] == 1 else "s", hi, lo, ", ".join(own),
                         "; tamalloc / best of %s over the sizes and thread counts: %s" % (
                             " and ".join(sc["peers"]), ", ".join(best)) if best else ""))
    ss = data.get("search_steps")  # absent from summary.json files written before the counters
    if ss:
        cells = [c for by_t in (ss.get("timed") or {}).values() for c in by_t.values()] + \
            [c for by_mib in (ss.get("scaling") or {}).values() for by_t in by_mib.values()
             for c in by_t.values()]
        means = [c["steps_mean_med"] for c in cells if c.get("steps_mean_med") is not None]
        if means:
            P.append("tamalloc's next-fit searches read %s steps each on average (the medians "
                     "over the workloads, thread counts and sizes), at most %d in one search." % (
                         fmt_range(means, lambda x: "%.1f" % x),
                         max(c["steps_max"] for c in cells)))
    L += wrap(" ".join(P))
    return L


def readme_lines(readme):
    """readme's lines; dies unless it has one README_BEGIN line and, after it, one README_END."""
    try:
        with open(readme) as f:
            lines = f.read().split("\n")
    except OSError as e:
        die("cannot read %s: %s" % (readme, e))
    if lines.count(README_BEGIN) != 1 or lines.count(README_END) != 1 or \
            lines.index(README_BEGIN) > lines.index(README_END):
        die("%s needs one line %s and, after it, one line %s (the generated block goes between)"
            % (readme, README_BEGIN, README_END))
    return lines


def write_readme(readme, report):
    """Replaces the lines between README_BEGIN and README_END in readme with the block generated
    from report/summary.json."""
    root_rel = os.path.relpath(os.path.abspath(report), ROOT)
    if root_rel.startswith(".."):
        log("warning: %s is outside the repository; the README links to it as %s"
            % (report, root_rel))
    if not os.path.isfile(os.path.join(report, "summary.json")):
        die("no summary.json in %s" % report)
    block = readme_block(load_summary(os.path.join(report, "summary.json")), root_rel)
    lines = readme_lines(readme)
    b, e = lines.index(README_BEGIN), lines.index(README_END)
    lines[b + 1:e] = [""] + block + [""]
    with open(readme, "w") as f:
        f.write("\n".join(lines))


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="small sizes and 3 repetitions (the scaling pass: 16 and 64 MiB, 1 "
                    "repetition; the idle pass: 1 repetition): a first look in about 7 minutes")
    ap.add_argument("--out", help="output folder (default bench/out/<date-time>)")
    ap.add_argument("--reps", type=int, help="repetitions (default 3 quick, 5 full)")
    ap.add_argument("--allocators", default=",".join(ALL_ALLOCATORS),
                    help="comma list from: " + ",".join(ALL_ALLOCATORS))
    ap.add_argument("--workloads", default=",".join([w.key for w in WORKLOADS] + [IDLE_KEY]),
                    help="comma list from: " + ",".join([w.key for w in WORKLOADS] + [IDLE_KEY])
                    + " (%s: the idle pass, never in the throughput tables)" % IDLE_KEY)
    ap.add_argument("--threads", help="comma list (default %s; the idle pass: %s unless given)"
                    % (",".join(map(str, THREADS)), ",".join(map(str, IDLE_THREADS))))
    ap.add_argument("--output-base",
                    default=os.environ.get("BENCH_OUTPUT_BASE",
                                           os.path.expanduser("~/.cache/bazel_bench")),
                    help="bazel --output_base for the opt build ('' for bazel's default)")
    ap.add_argument("--end-rss-reps", type=int, default=1, metavar="N",
                    help="runs per (workload, thread count, allocator) of the separate end-RSS "
                    "pass (default 1; 0 skips it): after the timed runs, each workload but "
                    "memcached is run again at the same SCALE with BENCH_END_RSS_MS=%d, i.e. "
                    "after freeing everything it sleeps %.1f s, makes %d malloc(5000)/free pairs "
                    "and reads its RSS (end_rss_kb), then calls malloc_trim(0) if the allocator "
                    "has its own and reads it again (trim_rss_kb). A separate pass because the "
                    "sleep in every timed run would add about 16 minutes to a full run; this one "
                    "adds about 4 minutes"
                    % (END_RSS_SLEEP_MS, END_RSS_SLEEP_MS / 1000.0, END_RSS_PAIRS))
    ap.add_argument("--scales", metavar="MiB,...",
                    help="live data sizes of the scaling pass, MiB in all (default %s; --quick: "
                    "%s)" % (",".join(map(str, SCALES["full"])),
                             ",".join(map(str, SCALES["quick"]))))
    ap.add_argument("--scaling-reps", type=int, metavar="N",
                    help="runs per (workload, size, thread count, allocator) of the scaling pass "
                    "(default %d; --quick: %d)" % (SCALING_REPS["full"], SCALING_REPS["quick"]))
    ap.add_argument("--scaling-threads", metavar="T,...",
                    help="thread counts of the scaling pass (default: those of --threads among "
                    "%s)" % ",".join(map(str, SCALING_THREADS)))
    ap.add_argument("--scaling-only", action="store_true",
                    help="run only the scaling pass (%s, those of --workloads): no timed pass, "
                    "end-RSS pass, callgrind, check levels, idle or syscall pass; e.g. "
                    "bench/run.sh --workloads "
                    "frag,grow --scaling-only" % " and ".join(SCALING_WORKLOADS))
    ap.add_argument("--no-scaling", action="store_true", help="skip the scaling pass")
    ap.add_argument("--idle-reps", type=int, metavar="N",
                    help="runs per (thread count, allocator configuration) of the idle pass "
                    "(default %d; --quick: %d)" % (IDLE_REPS["full"], IDLE_REPS["quick"]))
    ap.add_argument("--idle-ms", type=int, default=IDLE_MS, metavar="MS",
                    help="the idle pass's idle time, BENCH_IDLE_MS (default %d)" % IDLE_MS)
    ap.add_argument("--idle-only", action="store_true",
                    help="run only the idle pass: no timed pass, end-RSS pass, callgrind, check "
                    "levels, scaling or syscall pass (with --scaling-only as well: both of those "
                    "passes)")
    ap.add_argument("--no-idle", action="store_true", help="skip the idle pass")
    ap.add_argument("--syscalls-only", action="store_true",
                    help="run only the syscall pass (one run per workload, thread count and "
                    "allocator at the --quick SCALE under strace -f -c, counting madvise, munmap, "
                    "mmap, mremap and brk; memcached is left out): no timed pass, end-RSS pass, "
                    "callgrind, check levels, scaling or idle pass (with --scaling-only or "
                    "--idle-only as well: those passes too)")
    ap.add_argument("--no-syscalls", action="store_true", help="skip the syscall pass")
    ap.add_argument("--no-callgrind", action="store_true", help="skip the callgrind counts")
    ap.add_argument("--no-check-levels", action="store_true",
                    help="skip the cost of tamalloc's check levels (TAMALLOC_CHECK=0/1/2 on "
                    "fastpath, larson, churn and frag at 1 thread, those of --workloads only)")
    ap.add_argument("--readme", metavar="README.md",
                    help="also write the README's benchmark block (between the lines %s and %s) "
                    "from this run's summary.json" % (README_BEGIN, README_END))
    ap.add_argument("--from", dest="from_dir", metavar="DIR",
                    help="with --readme: run nothing, write the block from DIR/summary.json "
                    "(docs/bench for the committed report)")
    args = ap.parse_args()
    if args.from_dir:
        if not args.readme:
            die("--from needs --readme")
        write_readme(args.readme, args.from_dir)
        log("wrote the benchmark block of %s from %s/summary.json" % (args.readme, args.from_dir))
        return 0

    mode = "quick" if args.quick else "full"
    reps = args.reps or (3 if args.quick else 5)
    allocators = [a for a in args.allocators.split(",") if a]
    for a in allocators:
        if a not in ALL_ALLOCATORS:
            die("unknown allocator " + a)
    wanted = args.workloads.split(",")
    workloads = [w for w in WORKLOADS if w.key in wanted]
    if len(workloads) != len([x for x in wanted if x and x != IDLE_KEY]):
        die("unknown workload in " + args.workloads)
    try:
        threads = sorted({int(t) for t in (args.threads or ",".join(map(str, THREADS))).split(",")
                          if t})
    except ValueError:
        die("--threads takes a comma list of whole numbers")
    if not threads or threads[0] < 1:
        die("--threads needs thread counts of 1 or more")
    if args.scaling_reps is None:
        args.scaling_reps = SCALING_REPS[mode]
    if args.scaling_only and args.no_scaling:
        die("--scaling-only and --no-scaling exclude each other")
    if args.idle_only and args.no_idle:
        die("--idle-only and --no-idle exclude each other")
    if args.syscalls_only and args.no_syscalls:
        die("--syscalls-only and --no-syscalls exclude each other")
    any_only = args.scaling_only or args.idle_only or args.syscalls_only
    if args.idle_reps is None:
        args.idle_reps = IDLE_REPS[mode]
    do_idle = IDLE_KEY in wanted and not args.no_idle and (args.idle_only or not any_only)
    if args.idle_only and IDLE_KEY not in wanted:
        die("--idle-only: --workloads does not name %s" % IDLE_KEY)
    if do_idle and (args.idle_reps < 1 or not 0 <= args.idle_ms <= 600000):
        die("the idle pass needs --idle-reps of 1 or more and --idle-ms of 0..600000; --no-idle "
            "skips it")
    idle_threads = threads if args.threads else IDLE_THREADS
    sc_workloads = [] if args.no_scaling or (any_only and not args.scaling_only) else \
        [w.key for w in workloads if w.key in SCALING_WORKLOADS]
    sys_wl = [] if args.no_syscalls or (any_only and not args.syscalls_only) else \
        [w for w in workloads if w.key not in SYSCALL_SKIP]
    if args.syscalls_only and not sys_wl:
        die("--syscalls-only: --workloads has no workload the syscall pass runs (%s: left out)"
            % ", ".join(SYSCALL_SKIP))
    if sys_wl and not os.access(STRACE, os.X_OK):
        die("%s not found (Debian package strace; bench/run.sh installs it); --no-syscalls skips "
            "the syscall pass" % STRACE)
    try:
        sc_scales = sorted({int(m) for m in (args.scales or ",".join(
            map(str, SCALES[mode]))).split(",") if m})
        sc_threads = sorted({int(t) for t in args.scaling_threads.split(",") if t}) \
            if args.scaling_threads else [t for t in threads if t in SCALING_THREADS]
    except ValueError:
        die("--scales and --scaling-threads take comma lists of whole numbers")
    if sc_workloads and (not sc_scales or min(sc_scales) < 1 or not sc_threads or
                         args.scaling_reps < 1):
        die("the scaling pass needs sizes (--scales), thread counts (--scaling-threads or "
            "--threads among %s) and --scaling-reps of 1 or more; --no-scaling skips it"
            % ",".join(map(str, SCALING_THREADS)))
    if args.scaling_only and not sc_workloads:
        die("--scaling-only: --workloads has none of %s" % ",".join(SCALING_WORKLOADS))
    if any_only:
        if args.readme:
            die("--readme needs the timed pass; it cannot be given with --scaling-only, "
                "--idle-only or --syscalls-only")
        workloads = []  # the timed pass, the end-RSS pass, callgrind and the check levels
    if sc_workloads:
        # grow's peak RSS is about 2.3 x its live data (frag's 1.6 x); runs are one at a time
        need = max(sc_scales) * 2.5 + 512
        try:
            with open("/proc/meminfo") as f:
                avail = next(int(l.split()[1]) for l in f if l.startswith("MemAvailable:")) / 1024
        except (OSError, StopIteration, ValueError):
            avail = None
        if avail is not None and avail < need:
            die("the scaling pass at %d MiB needs about %.0f MiB of memory, %.0f MiB are "
                "available; give smaller --scales" % (max(sc_scales), need, avail))
    for a in allocators:
        lib = PEERS.get(a, (None, None))[0]
        if lib and not os.path.exists(lib):
            die("%s not found (%s); bench/run.sh installs it" % (lib, PEERS[a][1]))

    if args.readme:
        readme_lines(args.readme)  # the markers are there before the run, not only after it
        if args.quick:
            log("warning: --readme with --quick: the README block will say it is a quick run")

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = os.path.abspath(args.out or os.path.join(ROOT, "bench", "out", stamp))
    os.makedirs(out, exist_ok=True)

    source = source_state()
    bin_dir = build(args, allocators)
    after = source_state()
    if after != source:  # someone edited the tree while Bazel read it
        source = "%s when the build started, %s when it ended" % (source, after)
    preload = {a: PEERS[a][0] for a in allocators if a in PEERS}
    if "tamalloc" in allocators:
        preload["tamalloc"] = os.path.join(bin_dir, "alloc", "libtamalloc.so")
    meta_alloc = {}
    for a in allocators:
        if a == "tamalloc":
            meta_alloc[a] = "tamalloc (//alloc:libtamalloc.so, --config=opt, LD_PRELOAD)"
        elif a == "glibc":
            meta_alloc[a] = "glibc %s (no preload)" % package_version("libc6")
        else:
            meta_alloc[a] = "%s %s (Debian %s, LD_PRELOAD)" % (a, package_version(PEERS[a][1]),
                                                              PEERS[a][1])

    jobs = [(w, t, r, a) for w in workloads for t in threads for r in range(reps)
            for a in allocators]
    if args.end_rss_reps < 0:
        die("--end-rss-reps must be 0 or more")
    end_jobs = [(w, t, r, a) for w in workloads if w.end_rss for t in threads
                for r in range(args.end_rss_reps) for a in allocators]
    do_cg = not args.no_callgrind and any(w.key == "fastpath" for w in workloads)
    cl_jobs = [] if args.no_check_levels or "tamalloc" not in allocators else \
        check_level_jobs(workloads, mode, reps)
    cl_cg = [] if args.no_callgrind or not any(j[0].key == "fastpath" for j in cl_jobs) else \
        [(size, lv) for size in ("small", "normal") for lv in CHECK_LEVELS
         if size == "small" or lv != 2]
    sc_wl = [w for w in WORKLOADS if w.key in sc_workloads]
    sc_jobs = [(w, m, t, r, a) for w in sc_wl for m in sc_scales for t in sc_threads
               for r in range(args.scaling_reps) for a in allocators]
    idle_variants = [v for a in allocators for v in IDLE_VARIANTS if v[1] == a]
    idle_jobs = [(t, r, m, v) for t in idle_threads for r in range(args.idle_reps)
                 for m in IDLE_MODES for v in idle_variants] if do_idle else []
    sys_jobs = [(w, t, a) for w in sys_wl for t in threads for a in allocators]
    total = len(jobs) + len(sc_jobs) + len(end_jobs) + (len(allocators) if do_cg else 0) + \
        len(cl_jobs) + len(cl_cg) + len(idle_jobs) + len(sys_jobs)
    timeout = 120 if args.quick else 600
    log("output folder: %s" % out)
    log("%d runs: %s%s%s%s%s%s%s"
        % (total, "%d workloads x %d thread counts x %d reps x %d allocators" % (
            len(workloads), len(threads), reps, len(allocators)) if jobs else "",
           "%s%d scaling runs (%s x %s MiB x %s threads x %d reps x %d allocators)" % (
               " + " if jobs else "", len(sc_jobs), ",".join(sc_workloads),
               ",".join(map(str, sc_scales)), ",".join(map(str, sc_threads)),
               args.scaling_reps, len(allocators)) if sc_jobs else "",
           " + %d end-RSS runs (%d per cell, %.1f s sleep each)" % (
               len(end_jobs), args.end_rss_reps, END_RSS_SLEEP_MS / 1000.0) if end_jobs else "",
           "%s%d idle runs (%d MiB, %s threads x %d reps x %d modes (%s) x %d allocator "
           "configurations, %.1f s idle each)" % (
               " + " if jobs or sc_jobs else "", len(idle_jobs), IDLE_SCALE,
               ",".join(map(str, idle_threads)), args.idle_reps, len(IDLE_MODES),
               ",".join(m for m, _ in IDLE_MODES), len(idle_variants), args.idle_ms / 1000.0)
           if idle_jobs else "",
           "%s%d syscall runs (strace -c, quick scale: %s x %s threads x %d allocators)" % (
               " + " if jobs or sc_jobs or idle_jobs else "", len(sys_jobs),
               ",".join(w.key for w in sys_wl), ",".join(map(str, threads)), len(allocators))
           if sys_jobs else "",
           " + %d callgrind runs" % len(allocators) if do_cg else "",
           " + %d check-level runs (TAMALLOC_CHECK=0/1/2)" % (len(cl_jobs) + len(cl_cg))
           if cl_jobs else ""))

    load_start = open("/proc/loadavg").read().split()[0]
    t_start = time.time()
    raw = []
    failures = []
    checksums = {}  # (workload, threads) -> {checksum: first run}
    n = 0
    for w, t, r, a in jobs:
        n += 1
        scale = w.scale(w.quick if args.quick else w.full, t)
        argv = [str(t), str(scale)] + w.extra
        t_run = time.time()
        fields, err = run_once(os.path.join(bin_dir, "bench", w.binary), argv, preload.get(a),
                               w.key == "memcached", timeout)
        t_run = time.time() - t_run
        rec = {"workload": w.key, "threads": t, "pass": "timed", "rep": r + 1, "allocator": a,
               "scale": scale, "ok": 0, "wall": "%.3f" % t_run}
        if fields is not None:
            rec.update({k: fields.get(k) for k in ("ops", "secs", "ops_per_sec", "checksum")})
            rss = fields.get("server_rss_kb", fields.get("maxrss_kb"))
            rec["rss_kb"] = rss
            rec["p99_us"] = fields.get("p99_us")
            rec["overhead_pct"] = fields.get("overhead_pct")
            rec.update({k: fields.get(k) for k in TA_FIELDS})
            rec.update(usage_of(fields, w.key == "memcached"))  # the server's, for memcached
            err = checksum_disagrees(checksums.setdefault((w.key, t), {}), fields["checksum"], a)
            rec["ok"] = 0 if err else 1
        if rec["ok"]:
            log("[%d/%d] %s t=%d %s rep %d: %s ops/s, %.1f MiB%s" % (
                n, total, w.key, t, a, r + 1, fmt_rate(float(rec["ops_per_sec"])),
                int(rec["rss_kb"]) / 1024.0, steps_note(rec)))
        else:
            msg = "%s t=%d %s rep %d: %s" % (w.key, t, a, r + 1, err)
            failures.append(msg)
            log("[%d/%d] FAILED %s" % (n, total, msg))
        raw.append(rec)

    # The scaling pass: frag and grow at each size (SCALE = MiB of live data in all, whatever the
    # thread count), allocators interleaved; checked like the timed runs (ok=1, and the same
    # checksum for a (workload, size, threads) under every allocator).
    t_sc = time.time()
    for w, m, t, r, a in sc_jobs:
        n += 1
        t_run = time.time()
        fields, err = run_once(os.path.join(bin_dir, "bench", w.binary), [str(t), str(m)] + w.extra,
                               preload.get(a), False, SCALING_TIMEOUT)
        t_run = time.time() - t_run
        rec = {"workload": w.key, "threads": t, "pass": "scaling", "rep": r + 1, "allocator": a,
               "scale": m, "ok": 0, "wall": "%.3f" % t_run}
        if fields is not None:
            rec.update({k: fields.get(k) for k in ("ops", "secs", "ops_per_sec", "checksum")})
            rec["rss_kb"] = fields.get("maxrss_kb")
            rec["overhead_pct"] = fields.get("overhead_pct")
            rec.update({k: fields.get(k) for k in TA_FIELDS})
            rec.update(usage_of(fields, False))
            err = checksum_disagrees(checksums.setdefault((w.key, t, m), {}), fields["checksum"],
                                     a)
            rec["ok"] = 0 if err else 1
        if rec["ok"]:
            log("[%d/%d] scaling %s %d MiB t=%d %s rep %d: %s ops/s, %.1f MiB peak RSS%s "
                "(%.1f s)" % (n, total, w.key, m, t, a, r + 1,
                              fmt_rate(float(rec["ops_per_sec"])), int(rec["rss_kb"]) / 1024.0,
                              steps_note(rec), t_run))
        else:
            msg = "scaling %s %d MiB t=%d %s rep %d: %s" % (w.key, m, t, a, r + 1, err)
            failures.append(msg)
            log("[%d/%d] FAILED %s" % (n, total, msg))
        raw.append(rec)
    sc_elapsed = time.time() - t_sc

    # The end-RSS pass: the same runs with the end-of-run probe on (bench/common.h,
    # bench_end_rss), one sleep each; checked like the timed runs (ok=1, the row's checksum).
    end_env = {"BENCH_END_RSS_MS": str(END_RSS_SLEEP_MS)}
    for w, t, r, a in end_jobs:
        n += 1
        scale = w.scale(w.quick if args.quick else w.full, t)
        argv = [str(t), str(scale)] + w.extra
        t_run = time.time()
        fields, err = run_once(os.path.join(bin_dir, "bench", w.binary), argv, preload.get(a),
                               False, timeout, end_env)
        t_run = time.time() - t_run
        rec = {"workload": w.key, "threads": t, "pass": "end_rss", "rep": r + 1, "allocator": a,
               "scale": scale, "ok": 0, "wall": "%.3f" % t_run}
        if fields is not None:
            rec.update({k: fields.get(k) for k in ("ops", "secs", "ops_per_sec", "checksum")})
            rec["rss_kb"] = fields.get("maxrss_kb")
            rec["end_rss_kb"] = fields.get("end_rss_kb")
            rec.update(usage_of(fields, False))  # read before the probe's sleep (bench/common.h)
            trim = fields.get("trim_rss_kb")
            rec["trim_rss_kb"] = "" if trim == "-" else trim  # "-": no malloc_trim of its own
            err = checksum_disagrees(checksums.setdefault((w.key, t), {}), fields["checksum"], a)
            if not err and not re.fullmatch(r"[1-9][0-9]*", rec["end_rss_kb"] or ""):
                err = "no end_rss_kb in the result line (BENCH_END_RSS_MS ignored?)"
            rec["ok"] = 0 if err else 1
        if rec["ok"]:
            log("[%d/%d] end RSS %s t=%d %s rep %d: %.1f MiB, after malloc_trim %s (%.1f s)" % (
                n, total, w.key, t, a, r + 1, int(rec["end_rss_kb"]) / 1024.0,
                "%.1f MiB" % (int(rec["trim_rss_kb"]) / 1024.0) if rec["trim_rss_kb"]
                else "— (none of its own)", t_run))
        else:
            msg = "end RSS %s t=%d %s rep %d: %s" % (w.key, t, a, r + 1, err)
            failures.append(msg)
            log("[%d/%d] FAILED %s" % (n, total, msg))
        raw.append(rec)

    # The idle pass (bench/idle.c): every mode and allocator configuration at each thread count,
    # interleaved; checked like the timed runs (ok=1, the same checksum for a thread count under
    # every mode and configuration), a background configuration must show its thread (idle_tasks
    # >= 2), and the line must name the mode (light=0, or light=1 with the pairs it made).
    idle_raw = []
    t_idle = time.time()
    idle_env = {"BENCH_IDLE_MS": str(args.idle_ms)}
    want_pairs = LIGHT_PAIRS * -(-args.idle_ms // LIGHT_EVERY_MS)  # bench/idle.c: ticks < idle_ms
    for t, r, (idle_mode, mode_env), (key, a, config, env) in idle_jobs:
        n += 1
        t_run = time.time()
        fields, err = run_once(os.path.join(bin_dir, "bench", IDLE_BINARY),
                               [str(t), str(IDLE_SCALE)], preload.get(a), False,
                               timeout + args.idle_ms // 1000, dict(idle_env, **mode_env, **env),
                               drop=IDLE_CLEAR_ENV)
        t_run = time.time() - t_run
        rec = {"threads": t, "rep": r + 1, "mode": idle_mode, "variant": key, "allocator": a,
               "config": config, "scale": IDLE_SCALE, "idle_ms": args.idle_ms, "ok": 0,
               "wall": "%.3f" % t_run}
        if fields is not None:
            rec.update({k: fields.get(k) for k in ("ops", "secs", "ops_per_sec", "checksum")})
            rec["rss_kb"] = fields.get("maxrss_kb")
            rec.update({k: fields.get(k) for k in IDLE_FIELDS})
            rec.update(usage_of(fields, False))
            err = checksum_disagrees(checksums.setdefault((IDLE_KEY, t), {}), fields["checksum"],
                                     key)
            if not err and not all(re.fullmatch(r"[1-9][0-9]*", rec[k] or "") for k in
                                   ("base_rss_kb", "peak_rss_kb", "freed_rss_kb", "idle_rss_kb",
                                    "idle_tasks")):
                err = "no resident sizes in the result line"
            elif not err and not re.fullmatch(r"-1|[0-9]+", rec["rss_ms"] or ""):
                err = "no rss_ms in the result line"
            elif not err and env and int(rec["idle_tasks"]) < 2:
                err = "no background thread while idle (idle_tasks=%s): %s ignored?" % (
                    rec["idle_tasks"], " ".join("%s=%s" % kv for kv in env.items()))
            elif not err and fields.get("light") != ("1" if mode_env else "0"):
                err = "light=%s in the result line, want %s (mode %s): an older bench/idle?" % (
                    fields.get("light"), "1" if mode_env else "0", idle_mode)
            elif not err and mode_env and rec["light_pairs"] != str(want_pairs):
                err = "light_pairs=%s in the result line, want %d" % (rec["light_pairs"],
                                                                      want_pairs)
            rec["ok"] = 0 if err else 1
        if rec["ok"]:
            log("[%d/%d] idle t=%d %s, %s, %s, rep %d: %.1f MiB after the frees, %.1f MiB after "
                "%.1f s %s, %s (threads while idle: %s; %.1f s)" % (
                    n, total, t, idle_mode, a, config, r + 1, int(rec["freed_rss_kb"]) / 1024.0,
                    int(rec["idle_rss_kb"]) / 1024.0, args.idle_ms / 1000.0,
                    "of light traffic (%s pairs)" % rec["light_pairs"] if mode_env else "idle",
                    "never within %d MiB of the base" % (IDLE_NEAR_KB // 1024)
                    if int(rec["rss_ms"]) < 0 else
                    "within %d MiB of the base at %s ms" % (IDLE_NEAR_KB // 1024, rec["rss_ms"]),
                    rec["idle_tasks"], t_run))
        else:
            msg = "idle t=%d %s, %s, %s, rep %d: %s" % (t, idle_mode, a, config, r + 1, err)
            failures.append(msg)
            log("[%d/%d] FAILED %s" % (n, total, msg))
        idle_raw.append(rec)
    idle_elapsed = time.time() - t_idle
    idle = None
    if idle_jobs:
        keys = [v[0] for v in idle_variants]
        cells = summarize_idle(idle_raw, keys, idle_threads, "idle")
        light_cells = summarize_idle(idle_raw, keys, idle_threads, "light")
        # mode idle where "idle" always kept it (older readers still work); mode light in "light"
        idle = {"scale": IDLE_SCALE, "threads": idle_threads, "reps": args.idle_reps,
                "idle_ms": args.idle_ms, "near_kb": IDLE_NEAR_KB, "runs": len(idle_jobs),
                "elapsed": idle_elapsed, "target": IDLE_TARGET,
                "ratio_of": list(IDLE_RATIO),
                "variants": [{"key": k, "allocator": a, "config": c, "env": e}
                             for k, a, c, e in idle_variants],
                "cells": cells, "ratio": idle_ratios(cells, idle_threads),
                "modes": [m for m, _ in IDLE_MODES],
                "light": {"env": dict(IDLE_MODES)["light"], "every_ms": LIGHT_EVERY_MS,
                          "pairs": LIGHT_PAIRS, "size": LIGHT_SIZE, "target": LIGHT_TARGET,
                          "ratio_of": list(LIGHT_RATIO), "cells": light_cells,
                          "ratio": idle_ratios(light_cells, idle_threads, LIGHT_RATIO)}}
        with open(os.path.join(out, "idle.csv"), "w", newline="") as f:
            cols = ["threads", "rep", "mode", "variant", "allocator", "config", "scale", "idle_ms",
                    "ok", "ops", "secs", "ops_per_sec", "checksum", "rss_kb"] + IDLE_FIELDS + \
                USAGE_FIELDS + ["wall"]
            wr = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
            wr.writeheader()
            for rec in idle_raw:
                wr.writerow(rec)

    # The syscall pass: one run per (workload, threads, allocator) at the quick SCALE under
    # strace -c; checked like the timed runs (ok=1, the same checksum for a row under every
    # allocator; rows of their own, as the SCALE may not be the timed runs').
    t_sys = time.time()
    if sys_jobs:
        os.makedirs(os.path.join(out, "strace"), exist_ok=True)
    for w, t, a in sys_jobs:
        n += 1
        scale = w.scale(w.quick, t)
        trace = os.path.join(out, "strace", "%s_%dt_%s.txt" % (w.key, t, a))
        t_run = time.time()
        fields, calls, err = strace_once(os.path.join(bin_dir, "bench", w.binary),
                                         [str(t), str(scale)] + w.extra, preload.get(a),
                                         SYSCALL_TIMEOUT, trace)
        t_run = time.time() - t_run
        rec = {"workload": w.key, "threads": t, "pass": "syscalls", "rep": 1, "allocator": a,
               "scale": scale, "ok": 0, "wall": "%.3f" % t_run}
        if fields is not None:
            rec.update({k: fields.get(k) for k in ("ops", "secs", "ops_per_sec", "checksum")})
            rec["rss_kb"] = fields.get("maxrss_kb")
            rec.update({k: fields.get(k) for k in TA_FIELDS})
            rec.update(usage_of(fields, False))
            rec.update({sc + "_calls": calls[sc] for sc in SYSCALLS})
            err = checksum_disagrees(checksums.setdefault(("syscalls", w.key, t), {}),
                                     fields["checksum"], a)
            rec["ok"] = 0 if err else 1
        if rec["ok"]:
            log("[%d/%d] syscalls %s t=%d %s (scale %d): %s (%.1f s)" % (
                n, total, w.key, t, a, scale, ", ".join(
                    "%s %d" % (sc, calls[sc]) for sc in SYSCALLS), t_run))
        else:
            msg = "syscalls %s t=%d %s: %s" % (w.key, t, a, err)
            failures.append(msg)
            log("[%d/%d] FAILED %s" % (n, total, msg))
        raw.append(rec)
    sys_elapsed = time.time() - t_sys
    syscalls = None
    if sys_jobs:
        cells = {}
        for rec in raw:
            if rec["pass"] == "syscalls":
                c = cells.setdefault(rec["workload"], {}).setdefault(
                    rec["threads"], {"scale": rec["scale"], "calls": {}})
                c["calls"][rec["allocator"]] = {sc: rec[sc + "_calls"] for sc in SYSCALLS} \
                    if rec["ok"] else None  # None: the run failed
        excluded = {k: v for k, v in SYSCALL_SKIP.items() if k in wanted}
        if IDLE_KEY in wanted:
            excluded[IDLE_KEY] = "a pass of its own (idle after a burst)"
        syscalls = {"threads": threads, "syscalls": SYSCALLS, "excluded": excluded,
                    "strace": package_version("strace"), "runs": len(sys_jobs),
                    "elapsed": sys_elapsed, "cells": cells}

    callgrind = {}
    if do_cg:
        fp = next(w for w in WORKLOADS if w.key == "fastpath")
        for a in allocators:
            n += 1
            log("[%d/%d] fastpath callgrind %s" % (n, total, a))
            v, err = callgrind_once(os.path.join(bin_dir, "bench", fp.binary),
                                    CALLGRIND_PAIRS[mode], preload.get(a), timeout)
            if v is None:
                failures.append("callgrind %s: %s" % (a, err))
                log("  FAILED: " + err)
            else:
                callgrind[a] = v
                log("  %.1f instructions per malloc/free pair" % v)

    # Cost of the check levels: tamalloc only, the level set by TAMALLOC_CHECK alone.
    cl_raw = []
    cl_sums = {}  # (workload, scale) -> {checksum: first level}
    for w, size, scale, r, lv in cl_jobs:
        n += 1
        t_run = time.time()
        fields, err = run_once(os.path.join(bin_dir, "bench", w.binary),
                               ["1", str(scale)] + w.extra, preload["tamalloc"], False, timeout,
                               {"TAMALLOC_CHECK": str(lv)})
        t_run = time.time() - t_run
        rec = {"workload": w.key, "size": size, "scale": scale, "level": lv, "rep": r + 1,
               "ok": 0, "wall": "%.3f" % t_run}
        if fields is not None:
            rec.update({k: fields.get(k) for k in ("ops", "secs", "ops_per_sec", "checksum")})
            rec["rss_kb"] = fields.get("maxrss_kb")
            err = checksum_disagrees(cl_sums.setdefault((w.key, scale), {}), fields["checksum"],
                                     "level %d" % lv)
            rec["ok"] = 0 if err else 1
        if rec["ok"]:
            log("[%d/%d] check level %d: %s t=1 scale %d rep %d: %s ops/s (%.1f s)" % (
                n, total, lv, w.key, scale, r + 1, fmt_rate(float(rec["ops_per_sec"])), t_run))
        else:
            msg = "check level %d: %s t=1 scale %d rep %d: %s" % (lv, w.key, scale, r + 1, err)
            failures.append(msg)
            log("[%d/%d] FAILED %s" % (n, total, msg))
        cl_raw.append(rec)
    cl_callgrind = {}
    cl_pairs = {"small": CHECK_CALLGRIND_SMALL, "normal": CALLGRIND_PAIRS[mode]}
    for size, lv in cl_cg:
        n += 1
        log("[%d/%d] fastpath callgrind, check level %d, %dk pairs%s" % (
            n, total, lv, cl_pairs[size], " (slow: tens of seconds)" if lv == 2 else ""))
        v, err = callgrind_once(os.path.join(bin_dir, "bench", "fastpath"), cl_pairs[size],
                                preload["tamalloc"], 900 if lv == 2 else timeout,
                                {"TAMALLOC_CHECK": str(lv)})
        if v is None:
            failures.append("callgrind check level %d (%dk pairs): %s" % (lv, cl_pairs[size], err))
            log("  FAILED: " + err)
        else:
            cl_callgrind.setdefault(size, {})[lv] = v
            log("  %.1f instructions per malloc/free pair" % v)
    check_levels = None
    if cl_jobs:
        check_levels = {"runs": summarize_check_levels(cl_raw), "callgrind": cl_callgrind,
                        "callgrind_pairs": cl_pairs,
                        "callgrind_ratio": check_level_callgrind_ratios(cl_callgrind)}
        with open(os.path.join(out, "check_levels.csv"), "w", newline="") as f:
            cols = ["workload", "size", "scale", "level", "rep", "ok", "ops", "secs",
                    "ops_per_sec", "checksum", "rss_kb", "wall"]
            wr = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
            wr.writeheader()
            for rec in cl_raw:
                wr.writerow(rec)
    elapsed = time.time() - t_start
    load_end = open("/proc/loadavg").read().split()[0]

    # medians
    summary = {}
    for w in workloads:
        summary[w.key] = {}
        for t in threads:
            summary[w.key][t] = {}
            for a in allocators:
                rs = [x for x in raw if x["workload"] == w.key and x["threads"] == t
                      and x["allocator"] == a and x["pass"] == "timed"]
                good = [x for x in rs if x["ok"]]
                ops = [float(x["ops_per_sec"]) for x in good]
                rss = [float(x["rss_kb"]) for x in good]
                p99 = [float(x["p99_us"]) for x in good if x.get("p99_us")]
                fr = [float(x["overhead_pct"]) for x in good if x.get("overhead_pct")]
                s = {"failed": len(rs) - len(good), "n": len(good)}
                s["ops_med"], s["ops_spread"] = summarize(ops)
                s["ops_min"] = min(ops) if ops else None
                s["ops_max"] = max(ops) if ops else None
                s["rss_med"], s["rss_spread"] = summarize(rss)
                s["p99_med"], s["p99_spread"] = summarize(p99)
                s["frag_med"] = statistics.median(fr) if fr else None
                for k, field in (("utime", "utime_s"), ("stime", "stime_s"), ("minflt", "minflt")):
                    s[k + "_med"], s[k + "_spread"] = summarize(
                        [float(x[field]) for x in good if x.get(field) not in (None, "")])
                if end_jobs:
                    es = [x for x in raw if x["workload"] == w.key and x["threads"] == t
                          and x["allocator"] == a and x["pass"] == "end_rss"]
                    eg = [x for x in es if x["ok"]]
                    s["end_n"], s["end_failed"] = len(eg), len(es) - len(eg)
                    s["end_rss_med"], s["end_rss_spread"] = summarize(
                        [float(x["end_rss_kb"]) for x in eg])
                    s["trim_rss_med"], s["trim_rss_spread"] = summarize(
                        [float(x["trim_rss_kb"]) for x in eg if x.get("trim_rss_kb")])
                summary[w.key][t][a] = s

    with open(os.path.join(out, "raw.csv"), "w", newline="") as f:
        cols = ["workload", "threads", "pass", "rep", "allocator", "scale", "ok", "ops", "secs",
                "ops_per_sec", "checksum", "rss_kb", "end_rss_kb", "trim_rss_kb", "p99_us",
                "overhead_pct"] + TA_FIELDS + USAGE_FIELDS + SYSCALL_COLS + ["wall"]
        wr = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        wr.writeheader()
        for rec in raw:
            wr.writerow(rec)
    meta = {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "machine": machine_info(),
        "mode": mode,
        "reps": reps,
        "runs": n,
        "elapsed": elapsed,
        "load_start": load_start,
        "load_end": load_end,
        "source": source,
        "allocators": meta_alloc,
        "end_rss": {"reps": args.end_rss_reps, "sleep_ms": END_RSS_SLEEP_MS,
                    "pairs": END_RSS_PAIRS, "runs": len(end_jobs),
                    "workloads": sorted({w.key for w, _, _, _ in end_jobs})} if end_jobs else None,
    }
    if args.scaling_only:
        meta["scaling_only"] = True
        meta["reps"] = args.scaling_reps
    if args.idle_only:
        meta["idle_only"] = True
        if not args.scaling_only:
            meta["reps"] = args.idle_reps
    if args.syscalls_only:
        meta["syscalls_only"] = True
        if not args.scaling_only and not args.idle_only:
            meta["reps"] = 1
    ratios = compute_ratios(summary, allocators, callgrind)
    scaling = None
    if sc_jobs:
        cells = summarize_scaling(raw, sc_workloads, sc_scales, sc_threads, allocators)
        scaling = {"workloads": sc_workloads, "scales": sc_scales, "threads": sc_threads,
                   "reps": args.scaling_reps, "runs": len(sc_jobs), "elapsed": sc_elapsed,
                   "peers": [a for a in SCALING_PEERS if a in allocators], "cells": cells,
                   "ratios": scaling_ratios(cells, sc_scales, sc_threads, allocators)}
    search = {"timed": {}, "scaling": {}}
    for rec in raw:
        if rec["allocator"] != "tamalloc" or rec["pass"] not in ("timed", "scaling"):
            continue
        if rec["pass"] == "timed":
            search["timed"].setdefault(rec["workload"], {}).setdefault(rec["threads"], [])
        else:
            search["scaling"].setdefault(rec["workload"], {}).setdefault(
                rec["scale"], {}).setdefault(rec["threads"], [])
    for wk, by_t in search["timed"].items():
        for t in list(by_t):
            by_t[t] = search_cell([x for x in raw if x["pass"] == "timed" and x["ok"] and
                                   x["allocator"] == "tamalloc" and x["workload"] == wk and
                                   x["threads"] == t])
    for wk, by_mib in search["scaling"].items():
        for m, by_t in by_mib.items():
            for t in list(by_t):
                by_t[t] = search_cell([x for x in raw if x["pass"] == "scaling" and x["ok"] and
                                       x["allocator"] == "tamalloc" and x["workload"] == wk and
                                       x["scale"] == m and x["threads"] == t])
    # cells with no counters (memcached: the allocator is in the server) are left out
    search["timed"] = {wk: {t: c for t, c in by_t.items() if c}
                       for wk, by_t in search["timed"].items()}
    search["timed"] = {wk: v for wk, v in search["timed"].items() if v}
    search["scaling"] = {wk: {m: {t: c for t, c in by_t.items() if c}
                              for m, by_t in by_mib.items()}
                         for wk, by_mib in search["scaling"].items()}
    if not search["timed"] and not search["scaling"]:
        search = None
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump({"meta": meta, "summary": summary, "ratios": ratios, "callgrind": callgrind,
                   "check_levels": check_levels, "failures": failures, "scaling": scaling,
                   "search_steps": search, "idle": idle, "syscalls": syscalls}, f, indent=1)
    has_gnuplot = shutil.which("gnuplot")
    plots = plot_all(out, allocators, threads, summary, workloads) if has_gnuplot and \
        workloads else []
    sc_plots, steps_plot = plot_scaling(out, scaling, allocators, search) if has_gnuplot and \
        scaling else ([], None)
    if (workloads or scaling) and not plots and not sc_plots:
        log("warning: no plots (gnuplot missing or failed)")
    text = write_report(out, meta, allocators, threads, summary, callgrind, plots, workloads,
                        failures, check_levels, ratios, scaling, search, sc_plots, steps_plot,
                        idle, syscalls)
    log("")
    log(text.split("## Plots")[0].rstrip())
    log("")
    log("done in %.0f s; results: %s/results.md (plots in %s/plots)" % (elapsed, out, out))
    if args.readme:
        write_readme(args.readme, out)
        log("wrote the benchmark block of %s from %s/summary.json; "
            "//tests/lint:bench_readme_test compares it with docs/bench/summary.json, so commit "
            "this folder's results.md, summary.json, raw.csv, check_levels.csv and plots there"
            % (args.readme, out))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
