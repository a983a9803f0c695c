"""Raw API round trip without the CLI: `GET /_ping` on a fresh unix-socket connection each
time (what every docker CLI command starts with). Engines alternate request by request."""

import time

from harness import Row, median, p90, unix_get

ORDER = 30


def run(ctx):
    runs = 100 if ctx.quick else 500
    names = list(ctx.engines)
    medians = {n: [] for n in names}
    p90s = {n: [] for n in names}
    for _ in range(ctx.rounds):
        times = {n: [] for n in names}
        for _ in range(runs):
            for name in names:
                start = time.perf_counter()
                status, _ = unix_get(ctx.engines[name].socket, "/_ping")
                times[name].append((time.perf_counter() - start) * 1000)
                if status != 200:
                    raise RuntimeError(f"{name}: GET /_ping answered {status}")
        for name in names:
            medians[name].append(median(times[name]))
            p90s[name].append(p90(times[name]))
    return [
        Row(f"GET /_ping, median of {runs}", "ms", {n: median(medians[n]) for n in names}),
        Row(f"GET /_ping, p90 of {runs}", "ms", {n: median(p90s[n]) for n in names}),
    ]
