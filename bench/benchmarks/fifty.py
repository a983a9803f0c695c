"""50 detached containers (`run -d --network none IMG sleep 100000`): started one after another
(the two engines take turns run by run, total per engine), `ps -a` with 0 and with 50,
`stop -t 0` of all 50 in one CLI call, `rm` of the 50 stopped ones, 50 started at once (50
threads each running the CLI; the engines one after the other, in turns across rounds) and
`rm -f` of 50 running. Everything is removed at the end of each round."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from harness import Row, median, prepare_crun

ORDER = 70
PS_RUNS = 5


def _start(ctx, name, image):
    _, done = ctx.docker(name, ["run", "-d", "--network", "none", image, "sleep", "100000"])
    return done.stdout.decode().strip()


def _running(ctx, name):
    _, listed = ctx.docker(name, ["ps", "-q", "--no-trunc"])
    return set(listed.stdout.decode().split())


def _check(ctx, name, ids, what):
    running = _running(ctx, name)
    missing = set(ids) - running
    if missing:
        raise RuntimeError(f"{name}: {len(missing)} of {len(ids)} containers not running after {what}")


def _timed(ctx, name, args):
    elapsed, _ = ctx.docker(name, args)
    return elapsed * 1000


def run(ctx):
    prepare_crun(ctx)
    image = ctx.busybox_image()
    n = 10 if ctx.quick else 50
    names = list(ctx.engines)
    keys = ("seq", "ps0", "ps", "stop", "rm", "par", "rmf")
    results = {k: {e: [] for e in names} for k in keys}
    for round_no in range(ctx.rounds):
        # Alternate which engine goes first in the steps that cannot interleave.
        order = names if round_no % 2 == 0 else names[::-1]
        for name in names:
            ctx.remove_all_containers(name)
        ps0 = {e: [] for e in names}
        for _ in range(PS_RUNS):
            for name in names:
                ps0[name].append(_timed(ctx, name, ["ps", "-a"]))
        # One after another, the engines taking turns.
        seq = {e: 0.0 for e in names}
        ids = {e: [] for e in names}
        for _ in range(n):
            for name in order:
                start = time.perf_counter()
                ids[name].append(_start(ctx, name, image))
                seq[name] += (time.perf_counter() - start) * 1000
        for name in names:
            _check(ctx, name, ids[name], "sequential run -d")
        ps = {e: [] for e in names}
        for _ in range(PS_RUNS):
            for name in names:
                ps[name].append(_timed(ctx, name, ["ps", "-a"]))
        stop = {name: _timed(ctx, name, ["stop", "-t", "0", *ids[name]]) for name in order}
        for name in names:
            if _running(ctx, name) & set(ids[name]):
                raise RuntimeError(f"{name}: containers still running after stop -t 0")
        rm = {name: _timed(ctx, name, ["rm", *ids[name]]) for name in order}
        # All at once: 50 CLI processes per engine, one engine at a time.
        par = {}
        for name in order:
            barrier = threading.Barrier(n)

            def one(_, name=name, barrier=barrier):
                barrier.wait()
                return _start(ctx, name, image)

            with ThreadPoolExecutor(n) as pool:
                start = time.perf_counter()
                started = list(pool.map(one, range(n)))
                par[name] = (time.perf_counter() - start) * 1000
            ids[name] = started
            _check(ctx, name, started, "parallel run -d")
        rmf = {name: _timed(ctx, name, ["rm", "-f", *ids[name]]) for name in order}
        for name in names:
            results["seq"][name].append(seq[name])
            results["ps0"][name].append(median(ps0[name]))
            results["ps"][name].append(median(ps[name]))
            results["stop"][name].append(stop[name])
            results["rm"][name].append(rm[name])
            results["par"][name].append(par[name])
            results["rmf"][name].append(rmf[name])
            _, left = ctx.docker(name, ["ps", "-a", "-q"])
            if left.stdout.split():
                raise RuntimeError(f"{name}: containers left after rm -f: {left.stdout!r}")

    def row(key, measure, note=""):
        per_round = "; ".join(f"{e} " + "/".join(f"{v:.0f}" for v in sorted(results[key][e]))
                              for e in names)
        return Row(measure, "ms", {e: median(results[key][e]) for e in names},
                   (note + "; " if note else "") + "rounds " + per_round)

    return [
        row("seq", f"{n} run -d, one after another (total)"),
        row("par", f"{n} run -d, all at once (total)", f"{n} CLI processes started together"),
        row("ps0", f"ps -a, 0 containers, median of {PS_RUNS}"),
        row("ps", f"ps -a, {n} running, median of {PS_RUNS}"),
        row("stop", f"stop -t 0 of {n} (one CLI call)"),
        row("rm", f"rm of {n} stopped (one CLI call)"),
        row("rmf", f"rm -f of {n} running (one CLI call)"),
    ]
