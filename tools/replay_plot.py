#!/usr/bin/python3
"""replay_plot.py - plots the replayer's --series CSVs: external fragmentation over the trace (one
panel per trace, one line per policy) and peak mapped / peak live per policy (grouped bars).

Usage: replay_plot.py --frag OUT.png --peaks OUT.png NAME=SERIES.csv[:TABLE.md] ...
The peaks come from the table (TABLE.md, the replayer's --md output) when given, else from the series.
"""
import argparse
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

POLICIES = ["next-fit", "first-fit", "best-fit", "worst-fit", "segregated", "buddy"]
COLOURS = {"next-fit": "#d62728", "first-fit": "#1f77b4", "best-fit": "#2ca02c", "worst-fit": "#9467bd",
           "segregated": "#8c564b", "buddy": "#7f7f7f"}


def read_series(path):
    data = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            d = data.setdefault(row["policy"], {"op": [], "frag": [], "mapped": [], "live": []})
            d["op"].append(int(row["op"]))
            d["frag"].append(float(row["ext_frag"]))
            d["mapped"].append(int(row["mapped"]))
            d["live"].append(int(row["live"]))
    return data


def read_table(path):
    peaks = {}
    with open(path) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 4 and cells[0] in POLICIES:
                peaks[cells[0]] = float(cells[3])
    return peaks


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frag", required=True)
    p.add_argument("--peaks", required=True)
    p.add_argument("traces", nargs="+")
    a = p.parse_args(argv)
    traces = []
    for spec in a.traces:
        name, _, files = spec.partition("=")
        series, _, table = files.partition(":")
        data = read_series(series)
        peaks = read_table(table) if table else {
            pol: max(d["mapped"]) / max(max(d["live"]), 1) for pol, d in data.items()}
        traces.append((name, data, peaks))

    fig, axes = plt.subplots(len(traces), 1, figsize=(10, 2.8 * len(traces)), squeeze=False)
    for ax, (name, data, _) in zip(axes[:, 0], traces):
        for pol in POLICIES:
            if pol in data:
                d = data[pol]
                ax.plot(d["op"], d["frag"], label=pol, color=COLOURS[pol], linewidth=2.2 if pol == "next-fit" else 1.2)
        ax.set_title(name)
        ax.set_ylabel("ext. fragmentation")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("operation (malloc/free/realloc calls replayed)")
    axes[0, 0].legend(ncol=3, fontsize=8, loc="lower right")
    fig.suptitle("External fragmentation (1 - largest free / free bytes) over each trace")
    fig.tight_layout()
    fig.savefig(a.frag, dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.8 / len(POLICIES)
    for k, pol in enumerate(POLICIES):
        xs = [i + (k - (len(POLICIES) - 1) / 2) * width for i in range(len(traces))]
        ys = [peaks.get(pol, 0) for _, _, peaks in traces]
        ax.bar(xs, ys, width, label=pol, color=COLOURS[pol])
    ax.set_xticks(range(len(traces)))
    ax.set_xticklabels([t[0] for t in traces])
    ax.set_ylabel("peak mapped / peak live")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.legend(ncol=3, fontsize=8)
    ax.set_title("Memory cost per policy: peak heap mapped over peak live bytes (lower is better)")
    fig.tight_layout()
    fig.savefig(a.peaks, dpi=100)
    plt.close(fig)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
