"""`docker version`: the stock CLI's start-up plus one API round trip (version negotiation
via /_ping, then /version) against each engine. Engines alternate call by call, so shared-CPU
noise hits both alike; each round's median and p90 are taken, then the median over rounds."""

from harness import Row, median, p90

ORDER = 20
WARMUP = 3


def run(ctx):
    runs = 10 if ctx.quick else 30
    names = list(ctx.engines)
    medians = {n: [] for n in names}
    p90s = {n: [] for n in names}
    for _ in range(ctx.rounds):
        for name in names:
            for _ in range(WARMUP):
                ctx.docker(name, ["version"])
        times = {n: [] for n in names}
        for _ in range(runs):
            for name in names:
                elapsed, _ = ctx.docker(name, ["version"])
                times[name].append(elapsed * 1000)
        for name in names:
            medians[name].append(median(times[name]))
            p90s[name].append(p90(times[name]))
    rounds = lambda n: "/".join(f"{m:.1f}" for m in sorted(medians[n]))  # noqa: E731
    note = "round medians " + "; ".join(f"{n} {rounds(n)}" for n in names)
    return [
        Row(f"docker version, median of {runs}", "ms", {n: median(medians[n]) for n in names}, note),
        Row(f"docker version, p90 of {runs}", "ms", {n: median(p90s[n]) for n in names}),
    ]
