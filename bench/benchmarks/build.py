"""`docker build` (the legacy builder, `DOCKER_BUILDKIT=0`, which both engines serve on
`POST /build`; Podman builds with Buildah) of a 10-step Dockerfile over the busybox image:
ENV, two RUNs, two COPYs (a file, a directory of 50 small files), WORKDIR, LABEL, EXPOSE, CMD.

- cold: `--no-cache` each time (every RUN runs in a container, every COPY is copied);
- fully cached: the same build again with nothing changed; every step must come from the
  cache (checked: nine " ---> Using cache" lines), so this measures context upload, the
  cache lookups and tagging. DESIGN's aim: under 300 ms and faster than Podman.

Engines alternate build by build; medians per round, then the median over rounds."""

import os

from harness import Row, median, prepare_crun

ORDER = 85
STEPS = 10

DOCKERFILE = """FROM {image}
ENV STAGE=bench
RUN echo one > /one
COPY data.txt /data.txt
RUN cat /data.txt /one > /combined
COPY files/ /files/
WORKDIR /work
LABEL purpose=bench
EXPOSE 8080
CMD ["cat", "/combined"]
"""


def _context(ctx, image):
    path = os.path.join(ctx.work, "build-context")
    os.makedirs(os.path.join(path, "files"), exist_ok=True)
    with open(os.path.join(path, "Dockerfile"), "w") as f:
        f.write(DOCKERFILE.format(image=image))
    with open(os.path.join(path, "data.txt"), "w") as f:
        f.write("benchmark data\n")
    for i in range(50):
        with open(os.path.join(path, "files", f"f{i}.txt"), "w") as f:
            f.write(f"file {i}\n" * 20)
    return path


def _build(ctx, name, path, tag, extra=()):
    elapsed, done = ctx.docker(name, ["build", *extra, "-t", tag, path])
    return elapsed * 1000, done.stdout.decode(errors="replace")


def run(ctx):
    prepare_crun(ctx)
    image = ctx.busybox_image()
    path = _context(ctx, image)
    names = list(ctx.engines)
    cached_runs = 3 if ctx.quick else 10
    cold = {n: [] for n in names}
    cached = {n: [] for n in names}
    for round_no in range(ctx.rounds):
        order = names if round_no % 2 == 0 else names[::-1]
        for name in order:
            elapsed, _ = _build(ctx, name, path, "bench-build:cold", ["--no-cache"])
            cold[name].append(elapsed)
        for name in order:  # the cache of what is being timed next
            _build(ctx, name, path, "bench-build:warm")
        times = {n: [] for n in names}
        for _ in range(cached_runs):
            for name in order:
                elapsed, out = _build(ctx, name, path, "bench-build:warm")
                hits = out.count("Using cache")
                if hits != STEPS - 1:
                    raise RuntimeError(f"{name}: a rebuild took {hits} of {STEPS - 1} "
                                       f"steps from the cache:\n{out}")
                times[name].append(elapsed)
        for name in names:
            cached[name].append(median(times[name]))
    rounds = lambda d: "; ".join(f"{n} " + "/".join(f"{v:.0f}" for v in sorted(d[n]))  # noqa: E731
                                 for n in names)
    for name in names:
        ctx.docker(name, ["rmi", "bench-build:cold", "bench-build:warm"], check=False)
    return [
        Row(f"build, {STEPS} steps, cold (--no-cache)", "ms",
            {n: median(cold[n]) for n in names}, "rounds " + rounds(cold)),
        Row(f"build, {STEPS} steps, fully cached, median of {cached_runs}", "ms",
            {n: median(cached[n]) for n in names},
            "aim: < 300 ms and below podman; rounds " + rounds(cached)),
    ]
