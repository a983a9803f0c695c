#!/usr/bin/env python3
"""Runs Berth and its peers side by side and prints one table with ratios (peer/berth).

Normally started by bench/run, which installs the peers, builds berth in release mode,
creates the work dir and cleans up after. Usage:
    bench.py --work DIR --berth-bin PATH [--rounds N] [--quick] [--only NAME[,NAME]]
             [--results FILE.json]
"""

import argparse
import importlib
import os
import pkgutil
import platform
import signal
import sys
import time
import traceback

import benchmarks
import harness

# "floor" and "target" are not engines: a plain-tool lower bound (e.g. tar -x) and a goal from
# DESIGN (the dashboard's rows, which no peer has) that some rows compare Berth with.
ENGINE_ORDER = ("berth", "podman", "floor", "target")


def discover(only):
    found = []
    for info in pkgutil.iter_modules(benchmarks.__path__):
        if only and info.name not in only:
            continue
        module = importlib.import_module(f"benchmarks.{info.name}")
        found.append((getattr(module, "ORDER", 100), info.name, module))
    return [(name, module) for _, name, module in sorted(found, key=lambda t: (t[0], t[1]))]


def fmt(value):
    if value is None:
        return "-"
    return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"


def print_table(rows, engines):
    peers = [e for e in engines if e != "berth"]
    header = ["measure", "unit", *engines, *[f"{p}/berth" for p in peers]]
    lines = []
    for row in rows:
        berth = row.values.get("berth")
        ratios = []
        for peer in peers:
            value = row.values.get(peer)
            if not row.ratio or value is None or not berth or not value:
                ratios.append("-")
            elif row.higher_is_better:  # berth/peer: > 1 still means Berth is ahead
                ratios.append(f"{berth / value:.2f}x")
            else:
                ratios.append(f"{value / berth:.2f}x")
        lines.append([row.measure, row.unit, *[fmt(row.values.get(e)) for e in engines], *ratios])
    widths = [max(len(str(c)) for c in column) for column in zip(header, *lines)]
    def show(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    print(show(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for line in lines:
        print(show(line))
    for row in rows:
        if row.note:
            print(f"  {row.measure}: {row.note}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--work", required=True, help="empty work dir (bench/run makes one)")
    parser.add_argument("--berth-bin", required=True)
    parser.add_argument("--rounds", type=int, default=3, help="repeats; medians are reported")
    parser.add_argument("--quick", action="store_true", help="fewer runs per round")
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--results", help="also write the rows as JSON to this file")
    args = parser.parse_args()

    # SIGTERM/SIGHUP end the run through the finally below, like Ctrl-C does.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(130))

    only = {n for n in args.only.split(",") if n}
    selected = discover(only)
    if only and len(selected) != len(only):
        known = [n for n, _ in discover(set())]
        sys.exit(f"unknown benchmark in {sorted(only)}; known: {known}")

    ctx = harness.Context(work=args.work, berth_bin=args.berth_bin, rounds=args.rounds,
                          quick=args.quick)
    rows, failed = [], []
    try:
        ctx.start_berth()
        ctx.start_podman()
        for name, module in selected:
            start = time.monotonic()
            print(f"running {name} …", flush=True)
            try:
                rows.extend(module.run(ctx))
            except Exception:  # one failing benchmark does not cost the others' rows
                traceback.print_exc()
                failed.append(name)
            print(f"  {name} took {time.monotonic() - start:.1f} s", flush=True)
    finally:
        ctx.close()
    load = os.getloadavg()
    print()
    print(f"host: {platform.node()}, {os.cpu_count()} CPUs, load {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}; "
          f"rounds {args.rounds}{' (quick)' if args.quick else ''}; lower is better (units marked ↑: "
          f"more is better, ratio berth/peer), ratio > 1 means berth is ahead")
    print_table(rows, [e for e in ENGINE_ORDER if any(e in r.values for r in rows)])
    if args.results:
        harness.dump_json(args.results, [r.__dict__ for r in rows])
    if failed:
        sys.exit(f"failed: {', '.join(failed)} (traceback above)")


if __name__ == "__main__":
    main()
