"""Idle memory of each daemon after start-up and a few API requests."""

import time

from harness import Row, median

ORDER = 10
WARM_REQUESTS = 5


def run(ctx):
    for name in ctx.engines:
        for _ in range(WARM_REQUESTS):
            ctx.docker(name, ["version"])
    samples = {name: [] for name in ctx.engines}
    for _ in range(ctx.rounds):
        time.sleep(0.5)
        for name, engine in ctx.engines.items():
            samples[name].append(engine.memory_kb())
    mb = lambda kb: kb / 1024  # noqa: E731
    return [
        Row("idle RSS (process tree)", "MB",
            {n: mb(median([s["Rss"] for s in v])) for n, v in samples.items()}),
        Row("idle PSS (process tree)", "MB",
            {n: mb(median([s["Pss"] for s in v])) for n, v in samples.items()}),
    ]
