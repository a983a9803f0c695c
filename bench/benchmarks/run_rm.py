"""`docker run --rm IMG true` end to end (CLI → API → container → exit → removal), image
present: with `--network none`, and on each engine's default network. Engines alternate call by
call; each round's median is taken, then the median over rounds.

On the default network both engines give the container a network namespace with a veth on a
bridge and an address from the bridge's subnet: Berth does it in-process over netlink (its bridge
is the run's own, `--bridge bb…`), with no iptables rules (published ports go through its proxy);
Podman runs netavark, which also adds iptables rules."""

from harness import Row, median, p90, prepare_crun

ORDER = 60
WARMUP = 2

CASES = (
    ("none", ["--network", "none"], ""),
    ("default network", [],
     "berth: bridge + veth over netlink, no iptables; podman: netavark bridge + veth + iptables"),
)


def run(ctx):
    prepare_crun(ctx)
    image = ctx.busybox_image()
    runs = 4 if ctx.quick else 10
    names = list(ctx.engines)
    rows = []
    for label, flags, note in CASES:
        medians = {n: [] for n in names}
        p90s = {n: [] for n in names}
        for _ in range(ctx.rounds):
            for name in names:
                for _ in range(WARMUP):
                    ctx.docker(name, ["run", "--rm", *flags, image, "true"])
            times = {n: [] for n in names}
            for _ in range(runs):
                for name in names:
                    elapsed, _ = ctx.docker(name, ["run", "--rm", *flags, image, "true"])
                    times[name].append(elapsed * 1000)
            for name in names:
                medians[name].append(median(times[name]))
                p90s[name].append(p90(times[name]))
        per_round = "; ".join(f"{n} " + "/".join(f"{m:.0f}" for m in sorted(medians[n]))
                              for n in names)
        rows.append(Row(f"run --rm true, {label}, median of {runs}", "ms",
                        {n: median(medians[n]) for n in names},
                        (note + "; " if note else "") + "round medians " + per_round))
        rows.append(Row(f"run --rm true, {label}, p90 of {runs}", "ms",
                        {n: median(p90s[n]) for n in names}))
    for name in names:  # --rm must have left nothing behind
        _, listed = ctx.docker(name, ["ps", "-a", "-q"])
        if listed.stdout.split():
            raise RuntimeError(f"{name}: containers left after run --rm: {listed.stdout!r}")
    return rows
