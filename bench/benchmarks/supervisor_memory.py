"""Memory per running container and of the daemons. Per container: Berth's supervisor (the
`berth shim` process(es) of the container; not the container's own processes) against Podman's
`conmon`, PSS and RSS from /proc/<pid>/smaps_rollup, with 1 and with 50 containers running
(`run -d --network none IMG sleep 100000`; with 50, PSS shares the binary's pages among them).
Daemons: Berth's agent and Podman's API service (their process trees minus supervisors and
containers), with 0, 1 and 50 containers running. Berth's daemon tree includes its
`berth shim-server` (the process supervisors are forked from) once a container has started;
its own RSS and PSS with 50 running are a row of their own."""

import os
import time

from harness import Row, median, prepare_crun, process_tree, smaps_rollup_kb

ORDER = 90
SETTLE = 1.0


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def _supervisors(engine):
    """{pid: argv} of every supervisor process the engine runs containers with."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        argv = _cmdline(int(entry))
        if not argv:
            continue
        if engine == "berth" and len(argv) > 1 and argv[1] == "shim" \
                and os.path.basename(argv[0]) == "berth":
            found[int(entry)] = argv
        elif engine == "podman" and os.path.basename(argv[0]) == "conmon":
            found[int(entry)] = argv
    return found


def _shim_servers():
    """PIDs of `berth shim-server` processes (Berth's supervisor fork server)."""
    return [int(e) for e in os.listdir("/proc") if e.isdigit()
            and _cmdline(int(e))[1:2] == ["shim-server"]]


def _of_container(supervisors, cid):
    return [pid for pid, argv in supervisors.items() if any(cid in a for a in argv)]


def _sum(pids):
    total = {"Rss": 0, "Pss": 0}
    for pid in pids:
        try:
            rollup = smaps_rollup_kb(pid)
        except OSError:
            continue
        for key in total:
            total[key] += rollup.get(key, 0)
    return total


def _daemon(ctx, name, supervisors):
    """The daemon's process tree without supervisors and what runs below them."""
    skip = set()
    for pid in supervisors:
        skip.update(process_tree(pid))
    return _sum(p for p in process_tree(ctx.engines[name].pid) if p not in skip)


def _start(ctx, name, image):
    _, done = ctx.docker(name, ["run", "-d", "--network", "none", image, "sleep", "100000"])
    return done.stdout.decode().strip()


def run(ctx):
    prepare_crun(ctx)
    image = ctx.busybox_image()
    n = 10 if ctx.quick else 50
    names = list(ctx.engines)
    samples = {}  # (what, engine) -> list of kB

    def keep(what, name, value):
        samples.setdefault((what, name), []).append(value)

    for _ in range(ctx.rounds):
        for name in names:
            ctx.remove_all_containers(name)
        time.sleep(SETTLE)
        for name in names:
            mem = _daemon(ctx, name, _supervisors(name))
            keep("daemon0", name, mem["Rss"])
            keep("daemon0pss", name, mem["Pss"])
        ids = {name: [_start(ctx, name, image)] for name in names}
        time.sleep(SETTLE)
        for name in names:
            sups = _supervisors(name)
            mine = _of_container(sups, ids[name][0])
            if not mine:
                raise RuntimeError(f"{name}: no supervisor process found for {ids[name][0]}")
            if len(sups) != 1 and name == "podman" or len(set(sups) - set(mine)):
                raise RuntimeError(f"{name}: unexpected supervisors {sups}")
            mem = _sum(mine)
            keep("sup1pss", name, mem["Pss"])
            keep("sup1rss", name, mem["Rss"])
            keep("procs", name, len(mine))
            keep("daemon1", name, _daemon(ctx, name, sups)["Rss"])
        for _ in range(n - 1):
            for name in names:
                ids[name].append(_start(ctx, name, image))
        time.sleep(SETTLE)
        for name in names:
            sups = _supervisors(name)
            per = [_of_container(sups, cid) for cid in ids[name]]
            if not all(per):
                raise RuntimeError(f"{name}: {sum(1 for p in per if not p)} of {n} containers "
                                   f"without a supervisor process")
            mem = _sum(set().union(*map(set, per)))
            keep("supNpss", name, mem["Pss"] / n)
            keep("supNrss", name, mem["Rss"] / n)
            daemon = _daemon(ctx, name, sups)
            keep("daemonN", name, daemon["Rss"])
            keep("daemonNpss", name, daemon["Pss"])
            if name == "berth":
                tree = set(process_tree(ctx.engines[name].pid))
                server = _sum(p for p in _shim_servers() if p in tree)
                keep("serverNrss", name, server["Rss"])
                keep("serverNpss", name, server["Pss"])
        for name in names:
            ctx.remove_all_containers(name)

    def values(what, scale=1.0):
        return {e: median(samples[(what, e)]) * scale for e in names}

    mb = 1 / 1024
    procs = ", ".join(f"{e} {median(samples[('procs', e)]):.0f}" for e in names)
    return [
        Row("supervisor PSS, 1 container running", "kB", values("sup1pss"),
            f"berth shim vs conmon; processes per container: {procs}"),
        Row("supervisor RSS, 1 container running", "kB", values("sup1rss")),
        Row(f"supervisor PSS per container, {n} running", "kB", values("supNpss")),
        Row(f"supervisor RSS per container, {n} running", "kB", values("supNrss")),
        Row("daemon RSS, 0 containers", "MB", values("daemon0", mb),
            "berth agent vs podman system service, without supervisors and containers"),
        Row("daemon PSS, 0 containers", "MB", values("daemon0pss", mb)),
        Row("daemon RSS, 1 container running", "MB", values("daemon1", mb)),
        Row(f"daemon RSS, {n} containers running", "MB", values("daemonN", mb)),
        Row(f"daemon PSS, {n} containers running", "MB", values("daemonNpss", mb)),
    ] + [
        Row(f"of which berth shim-server {kind.upper()}, {n} running", "MB",
            {"berth": median(samples[(f"serverN{kind}", "berth")]) * mb}, ratio=False)
        for kind in ("rss", "pss") if (f"serverN{kind}", "berth") in samples
    ]
