"""`docker commit` of a container that wrote 1000 files x 100 KiB of random data (102.4 MB) into
/data: each engine runs the writer (`run -d --network none IMG sh -c 'loop of head -c 102400
/dev/urandom; echo written; sleep 100000'`), the benchmark polls `docker logs` for the marker,
syncs, then times the commit (engines in turns across rounds). The commit is a raw
`POST /v1.41/commit` with a `{}` body, not the CLI: Podman 4.3 answers the CLI's body-less
request with "Decode(): EOF" (the CLI round trip is ~10 ms either way). Also reported: the writer's time
until its marker showed up, and the committed image's size minus the base's (must be ~102.4 MB).
Floor: `tar -cf - | tee layer.tar | sha256sum` of the same kind of 1000 files on the same disk."""

import os
import shutil
import subprocess
import time

from harness import Row, median, prepare_crun, unix_request

ORDER = 80
FILES, SIZE = 1000, 102400
MARKER = "written"


def _writer_script(files):
    return (f"mkdir -p /data; i=0; while [ $i -lt {files} ]; do "
            f"head -c {SIZE} /dev/urandom > /data/f$i; i=$((i+1)); done; "
            f"echo {MARKER}; exec sleep 100000")


def _write_and_wait(ctx, name, image, files, timeout=300):
    start = time.perf_counter()
    _, done = ctx.docker(name, ["run", "-d", "--network", "none", image, "sh", "-c",
                                _writer_script(files)])
    cid = done.stdout.decode().strip()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, logs = ctx.docker(name, ["logs", cid])
        if MARKER in logs.stdout.decode():
            return cid, (time.perf_counter() - start) * 1000
        time.sleep(0.1)
    raise RuntimeError(f"{name}: the writer container did not finish within {timeout} s")


def _size(ctx, name, ref):
    _, out = ctx.docker(name, ["image", "inspect", "-f", "{{.Size}}", ref])
    return int(out.stdout.decode().strip())


def _floor(ctx, files):
    """tar of the same amount of data in the same number of files, hashed and written."""
    src = os.path.join(ctx.work, "commit-floor", "data")
    os.makedirs(src, exist_ok=True)
    for i in range(files):
        with open(os.path.join(src, f"f{i}"), "wb") as f:
            f.write(os.urandom(SIZE))
    out = os.path.join(ctx.work, "commit-floor", "layer.tar")
    subprocess.run(["sync"], check=True)
    start = time.perf_counter()
    subprocess.run(f"tar -cf - -C {src} . | tee {out} | sha256sum >/dev/null", shell=True,
                   check=True)
    elapsed = (time.perf_counter() - start) * 1000
    shutil.rmtree(os.path.dirname(src))
    return elapsed


def run(ctx):
    prepare_crun(ctx)
    image = ctx.busybox_image()
    files = 200 if ctx.quick else FILES
    names = list(ctx.engines)
    base = {n: _size(ctx, n, image) for n in names}
    commit = {n: [] for n in names}
    write = {n: [] for n in names}
    grown = {n: [] for n in names}
    floor = []
    for round_no in range(ctx.rounds):
        order = names if round_no % 2 == 0 else names[::-1]
        cids = {}
        for name in order:
            cids[name], elapsed = _write_and_wait(ctx, name, image, files)
            write[name].append(elapsed)
        subprocess.run(["sync"], check=True)
        for name in order:
            ref = f"bench-commit:r{round_no}"
            start = time.perf_counter()
            status, body = unix_request(
                ctx.engines[name].socket, "POST",
                f"/v1.41/commit?container={cids[name]}&repo=bench-commit&tag=r{round_no}", {})
            commit[name].append((time.perf_counter() - start) * 1000)
            if status != 201:
                raise RuntimeError(f"{name}: POST /commit answered {status}: {body[:300]!r}")
            grown[name].append((_size(ctx, name, ref) - base[name]) / 1e6)
            ctx.docker(name, ["rm", "-f", cids[name]])
            ctx.docker(name, ["rmi", ref])
        floor.append(_floor(ctx, files))
        subprocess.run(["sync"], check=True)
    mb = files * SIZE / 1e6
    rounds = lambda d: "; ".join(f"{n} " + "/".join(f"{v:.0f}" for v in sorted(d[n]))  # noqa: E731
                                 for n in names)
    return [
        Row(f"commit, {files} files x 100 KiB written ({mb:.1f} MB)", "ms",
            {**{n: median(commit[n]) for n in names}, "floor": median(floor)},
            "floor: tar | tee | sha256sum of the same amount on the same disk; rounds "
            + rounds(commit)),
        Row(f"the writer: run -d until {files} files are written", "ms",
            {n: median(write[n]) for n in names}, "rounds " + rounds(write)),
        Row("committed image size minus base", "MB", {n: median(grown[n]) for n in names},
            f"expected ~{mb:.1f} MB"),
    ]
