"""Pull from a local registry (issue 3): a generated 4-layer image of ~200 MB / ~11k files
(`bench/base:v1`), pulled cold, and a derived image (`bench/derived:v1` = the base's layers + one
new 1 MiB layer) pulled with the base present. Berth and Podman both pull through the stock
docker CLI from Debian's `docker-registry` on 127.0.0.1 (plain HTTP), alternating. A floor row
compares Berth's cold pull with plain `tar -xzf` of the same 4 layer blobs onto the same disk.

The images are generated here with the standard library only (fixed seed, so every run pushes
the same digests) and cached under the work dir; set BENCH_PULL_CACHE=DIR to keep them between
runs (generation takes 5-20 s). See bench/README.md for why the rounds wait between them.
"""

import gzip
import hashlib
import http.client
import io
import itertools
import json
import os
import random
import resource
import shutil
import subprocess
import tarfile
import time
from concurrent.futures import ProcessPoolExecutor

from harness import Row, median

ORDER = 50

GENERATOR = "pull-images-v1"  # change when the generated content changes (invalidates caches)
SEED = 20261124
MTIME = 1700000000
BASE_REPO, DERIVED_REPO, TAG = "bench/base", "bench/derived", "v1"

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

# The base image's layers, shaped like the debootstrap image of research/anchors-perf.md
# (228 MB, 11,040 files, 4 layers): (name, top directories, small files, MB of small files,
# sizes of a few large files in MB, share of incompressible bytes in the large/"binary" files).
BASE_LAYERS = (
    ("etc-var", ("etc", "var", "root", "run"), 600, 4, (), 0.0),
    ("usr-bin", ("usr/bin", "usr/sbin", "usr/libexec"), 950, 22, (6, 4, 3), 0.25),
    ("usr-lib", ("usr/lib", "usr/lib/x86_64-linux-gnu", "usr/lib/python3.11"), 3600, 55, (14, 9, 6, 4), 0.25),
    ("usr-share", ("usr/share/doc", "usr/share/locale", "usr/share/perl5", "usr/share/zoneinfo"),
     3900, 55, (3, 2), 0.0),
)
NEW_LAYER_BYTES = 1 << 20


# ---------------------------------------------------------------- content generation

def _words(rng, count):
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(2, 11))) for _ in range(count)]


def _text_pool(rng, size):
    """~size bytes of lines of random words: compresses about like source, docs and configs."""
    vocabulary = _words(rng, 6000)
    # Word frequencies as in prose (Zipf: the n-th word is 1/n as common as the first).
    zipf = list(itertools.accumulate(1 / rank for rank in range(1, len(vocabulary) + 1)))
    out, total = [], 0
    while total < size:
        line = " ".join(rng.choices(vocabulary, cum_weights=zipf, k=rng.randint(3, 16))) + "\n"
        out.append(line)
        total += len(line)
    return "".join(out).encode()


class _Hashing(io.RawIOBase):
    """A write-only stream that hashes and counts what passes through to `target`."""

    def __init__(self, target):
        self.target, self.sha, self.size = target, hashlib.sha256(), 0

    def writable(self):
        return True

    def write(self, data):
        self.sha.update(data)
        self.size += len(data)
        return self.target.write(data) if self.target else len(data)


def _content(rng, pool, size, binary_share):
    """size bytes: slices of the text pool, with binary_share of seeded random bytes mixed in
    as 4 KiB runs (like executables: code is barely compressible, tables and strings are)."""
    parts, left = [], size
    while left > 0:
        n = min(left, rng.randint(1024, 16384))
        if binary_share and rng.random() < binary_share:
            parts.append(rng.randbytes(n))
        else:
            start = rng.randrange(0, len(pool) - n)
            parts.append(pool[start:start + n])
        left -= n
    return b"".join(parts)


def _entry(name, kind=tarfile.REGTYPE, mode=0o644, size=0, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.mtime, info.linkname = kind, mode, size, MTIME, linkname
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def _write_layer(path, seed, tops, n_small, small_mb, large_mb, binary_share, pool_size=8 << 20):
    """Writes one gzip layer blob to path; returns (digest, diff_id, gz size, tar size, files)."""
    rng = random.Random(seed)
    pool = _text_pool(rng, pool_size)
    # Directories: each top has a few levels of subdirectories.
    dirs = []
    for top in tops:
        parts = top.split("/")
        for i in range(1, len(parts) + 1):
            dirs.append("/".join(parts[:i]))
        for a in range(rng.randint(8, 30)):
            sub = f"{top}/{_words(rng, 1)[0]}{a}"
            dirs.append(sub)
            for b in range(rng.randint(0, 6)):
                dirs.append(f"{sub}/{_words(rng, 1)[0]}{b}")
    dirs = sorted(set(dirs))
    leaf_dirs = [d for d in dirs if d.count("/") >= 1] or dirs
    # Small files: log-normal sizes (median ~2 KiB, long tail), scaled to small_mb in total.
    raw = [rng.lognormvariate(7.6, 1.3) for _ in range(n_small)]
    scale = small_mb * (1 << 20) / sum(raw)
    sizes = [max(0, int(s * scale)) for s in raw]
    files = []
    for i, size in enumerate(sizes):
        name = f"{rng.choice(leaf_dirs)}/{_words(rng, 1)[0]}-{i}{rng.choice(('', '.so', '.pm', '.txt', '.conf', '.py', '.gz'))}"
        files.append((name, size, binary_share if name.endswith(".so") else 0.0))
    for i, mb in enumerate(large_mb):
        files.append((f"{tops[0]}/large-{i}.bin", int(mb * (1 << 20)), max(binary_share, 0.2)))

    hashed_gz = _Hashing(open(path, "wb"))
    # Level 6 = Go's and GNU gzip's default: what a `docker push` of a real image produces.
    gz = gzip.GzipFile(fileobj=hashed_gz, mode="wb", compresslevel=6, mtime=0, filename="")
    hashed_tar = _Hashing(gz)
    count = 0
    with tarfile.open(fileobj=hashed_tar, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for d in dirs:
            tar.addfile(_entry(d + "/", tarfile.DIRTYPE, 0o755))
            count += 1
        previous = None
        for name, size, share in files:
            mode = 0o755 if share else 0o644
            tar.addfile(_entry(name, size=size, mode=mode), io.BytesIO(_content(rng, pool, size, share)))
            count += 1
            # Now and then a symlink or a hard link to the file just written, as in /usr/bin.
            roll = rng.random()
            if roll < 0.08:
                tar.addfile(_entry(name + ".link", tarfile.SYMTYPE, 0o777,
                                   linkname=os.path.basename(name)))
                count += 1
            elif roll < 0.085 and previous:
                tar.addfile(_entry(name + ".hard", tarfile.LNKTYPE, mode, linkname=name))
                count += 1
            previous = name
    gz.close()
    hashed_gz.target.close()
    return ("sha256:" + hashed_gz.sha.hexdigest(), "sha256:" + hashed_tar.sha.hexdigest(),
            hashed_gz.size, hashed_tar.size, count)


def _write_new_layer(path, seed):
    """The derived image's one new layer: a directory and one 1 MiB file of random bytes."""
    rng = random.Random(seed)
    hashed_gz = _Hashing(open(path, "wb"))
    gz = gzip.GzipFile(fileobj=hashed_gz, mode="wb", compresslevel=6, mtime=0, filename="")
    hashed_tar = _Hashing(gz)
    with tarfile.open(fileobj=hashed_tar, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_entry("opt/", tarfile.DIRTYPE, 0o755))
        tar.addfile(_entry("opt/bench/", tarfile.DIRTYPE, 0o755))
        tar.addfile(_entry("opt/bench/new.bin", size=NEW_LAYER_BYTES),
                    io.BytesIO(rng.randbytes(NEW_LAYER_BYTES)))
    gz.close()
    hashed_gz.target.close()
    return ("sha256:" + hashed_gz.sha.hexdigest(), "sha256:" + hashed_tar.sha.hexdigest(),
            hashed_gz.size, hashed_tar.size, 3)


def _planned_mb(index):
    if index == len(BASE_LAYERS):
        return NEW_LAYER_BYTES / (1 << 20)
    layer = BASE_LAYERS[index]
    return layer[3] + sum(layer[4])


def _layer_job(args):
    index, path = args
    if index == len(BASE_LAYERS):
        return _write_new_layer(path, SEED + 1000)
    name, tops, n_small, small_mb, large_mb, share = BASE_LAYERS[index]
    return _write_layer(path, SEED + index, tops, n_small, small_mb, large_mb, share)


def _image(layers, comment):
    """(config bytes, manifest bytes) of an image over layers [(digest, diff_id, gz size)]."""
    config = json.dumps({
        "created": "2023-11-14T22:13:20Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["/bin/sh"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [l[1] for l in layers]},
        "history": [{"created": "2023-11-14T22:13:20Z", "created_by": f"{comment} layer {i}"}
                    for i in range(len(layers))],
    }, sort_keys=True, separators=(",", ":")).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {"mediaType": MEDIA_CONFIG, "size": len(config),
                   "digest": "sha256:" + hashlib.sha256(config).hexdigest()},
        "layers": [{"mediaType": MEDIA_LAYER, "size": l[2], "digest": l[0]} for l in layers],
    }, sort_keys=True, separators=(",", ":")).encode()
    return config, manifest


def generate(cache_dir):
    """Generates (or reuses from cache_dir) the blobs of both images. Returns a dict:
    base_layers/new_layer [{digest, diff_id, size, tar_size, entries, path}], and per image
    (base, derived) its config and manifest bytes."""
    os.makedirs(cache_dir, exist_ok=True)
    index_path = os.path.join(cache_dir, "index.json")
    try:
        with open(index_path) as f:
            index = json.load(f)
        if index.get("generator") == GENERATOR and all(
                os.path.getsize(l["path"]) == l["size"] for l in index["base_layers"] + [index["new_layer"]]):
            return index
    except (OSError, ValueError, KeyError):
        pass
    jobs = [(i, os.path.join(cache_dir, f"layer{i}.tar.gz")) for i in range(len(BASE_LAYERS) + 1)]
    # Two processes (the machine has 2 CPUs), the biggest layers first.
    by_size = sorted(jobs, key=lambda j: -_planned_mb(j[0]))
    with ProcessPoolExecutor(max_workers=2) as pool:
        done = dict(zip((j[0] for j in by_size), pool.map(_layer_job, by_size)))
    results = [done[i] for i, _ in jobs]
    layers = [{"digest": r[0], "diff_id": r[1], "size": r[2], "tar_size": r[3], "entries": r[4],
               "path": path} for r, (_, path) in zip(results, jobs)]
    base, new = layers[:-1], layers[-1]
    as_tuples = lambda ls: [(l["digest"], l["diff_id"], l["size"]) for l in ls]  # noqa: E731
    images = {}
    for name, ls in (("base", base), ("derived", base + [new])):
        config, manifest = _image(as_tuples(ls), name)
        images[name] = {"config": config.decode(), "manifest": manifest.decode()}
    index = {"generator": GENERATOR, "base_layers": base, "new_layer": new, **images}
    with open(index_path + ".tmp", "w") as f:
        json.dump(index, f, indent=1)
    os.replace(index_path + ".tmp", index_path)
    return index


# ---------------------------------------------------------------- pushing (registry HTTP API)

class RegistryClient:
    def __init__(self, address):
        host, port = address.rsplit(":", 1)
        self.host, self.port = host, int(port)

    def _request(self, method, url, body=None, headers=None, expect=(200,)):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            conn.request(method, url, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read()
            if response.status not in expect:
                raise RuntimeError(f"registry: {method} {url} answered {response.status}: "
                                   f"{data[:300].decode(errors='replace')}")
            return response, data
        finally:
            conn.close()

    def has_blob(self, repo, digest):
        response, _ = self._request("HEAD", f"/v2/{repo}/blobs/{digest}", expect=(200, 404))
        return response.status == 200

    def push_blob(self, repo, digest, body, size, mount_from=None):
        if self.has_blob(repo, digest):
            return
        query = f"?mount={digest}&from={mount_from}" if mount_from else ""
        response, _ = self._request("POST", f"/v2/{repo}/blobs/uploads/{query}", expect=(201, 202))
        if response.status == 201:  # mounted from the other repository
            return
        location = response.getheader("Location")
        if location.startswith("http"):
            location = "/" + location.split("/", 3)[3]
        location += ("&" if "?" in location else "?") + f"digest={digest}"
        self._request("PUT", location, body=body, expect=(201,),
                      headers={"Content-Type": "application/octet-stream",
                               "Content-Length": str(size)})

    def push_manifest(self, repo, tag, manifest):
        self._request("PUT", f"/v2/{repo}/manifests/{tag}", body=manifest, expect=(201,),
                      headers={"Content-Type": MEDIA_MANIFEST})


def push(address, index):
    client = RegistryClient(address)
    for repo, image, layers in ((BASE_REPO, "base", index["base_layers"]),
                                (DERIVED_REPO, "derived", index["base_layers"] + [index["new_layer"]])):
        for layer in layers:
            with open(layer["path"], "rb") as body:
                client.push_blob(repo, layer["digest"], body, layer["size"],
                                 mount_from=BASE_REPO if repo != BASE_REPO else None)
        config = index[image]["config"].encode()
        client.push_blob(repo, "sha256:" + hashlib.sha256(config).hexdigest(), config, len(config))
        client.push_manifest(repo, TAG, index[image]["manifest"].encode())


# ---------------------------------------------------------------- measuring

def _rmtree(path):
    if os.path.lexists(path):
        shutil.rmtree(path)


def _remove_images(ctx, name, refs, index):
    """Removes both images and every unused layer, and checks nothing is left."""
    for ref in refs:
        ctx.docker(name, ["rmi", "-f", ref], check=False)
    ctx.docker(name, ["image", "prune", "-a", "-f"])
    _, listed = ctx.docker(name, ["images", "-a", "-q"])
    if listed.stdout.strip():
        raise RuntimeError(f"{name}: images left after rmi + prune: {listed.stdout.decode()!r}")
    if name == "berth":
        root = ctx.engines[name].root
        layers = os.path.join(root, "layers")
        left = [e for e in os.listdir(layers) if e != ".staging"] if os.path.isdir(layers) else []
        staging = os.path.join(layers, ".staging")
        left += os.listdir(staging) if os.path.isdir(staging) else []
        blobs = os.path.join(root, "blobs", "sha256")
        wanted = {l["digest"].split(":")[1] for l in index["base_layers"] + [index["new_layer"]]}
        left += [b for b in (os.listdir(blobs) if os.path.isdir(blobs) else []) if b in wanted]
        if left:
            raise RuntimeError(f"berth: layers or layer blobs left after rmi + prune: {left[:5]}")


def _timed_pull(ctx, name, ref, cpu=None):
    """Wall ms of `docker pull ref`; appends the daemon's CPU ms to the list cpu if given."""
    os.sync()  # nobody's earlier writes are flushed on this pull's time
    before = ctx.engines[name].cpu_seconds()
    elapsed, _ = ctx.docker(name, ["pull", ref])
    if cpu is not None:
        cpu.append((ctx.engines[name].cpu_seconds() - before) * 1000)
    return elapsed * 1000


def _tar_floor(root, index, parallel, cpu=None):
    """gunzip + extract the 4 base layer blobs, each into a fresh dir under root (on the
    engines' disk; left in place). Returns wall ms; appends tar's and gzip's CPU ms to the
    list cpu if given."""
    _rmtree(root)
    dirs = []
    for i in range(len(index["base_layers"])):
        dirs.append(os.path.join(root, f"layer{i}"))
        os.makedirs(dirs[-1])
    os.sync()
    argvs = [["tar", "-xzf", l["path"], "-C", d] for l, d in zip(index["base_layers"], dirs)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    if parallel:
        procs = [subprocess.Popen(a, stdin=subprocess.DEVNULL) for a in argvs]
        codes = [p.wait() for p in procs]
    else:
        codes = [subprocess.run(a, stdin=subprocess.DEVNULL).returncode for a in argvs]
    elapsed = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000)
    if any(codes):
        raise RuntimeError(f"tar -xzf failed: exit codes {codes}")
    return elapsed


def _settle_seconds(path):
    """How long to wait after deleting many files before timing file creation on path's disk.
    ext4 without a journal (as here) skips inodes freed in the last 60 s when it allocates
    (ialloc.c, recently_deleted(): 60 s once the inode table block is written back), and each
    skip is a buffer lookup: right after a big delete, every create scans past the freed
    inodes. Other filesystems: no wait."""
    st = os.stat(path)
    try:
        with open(f"/sys/dev/block/{os.major(st.st_dev)}:{os.minor(st.st_dev)}/uevent") as f:
            name = dict(l.strip().split("=", 1) for l in f if "=" in l)["DEVNAME"]
    except (OSError, KeyError, ValueError):
        return 0
    if not os.path.isdir(f"/proc/fs/ext4/{name}"):
        return 0
    journals = os.listdir("/proc/fs/jbd2") if os.path.isdir("/proc/fs/jbd2") else []
    return 0 if any(j.startswith(name + "-") for j in journals) else 62


def run(ctx):
    cache = os.environ.get("BENCH_PULL_CACHE") or os.path.join(ctx.work, "pull-images")
    start = time.monotonic()
    index = generate(cache)
    took = time.monotonic() - start
    generated = f"generated in {took:.0f} s" if took > 1 else "generated earlier (cached)"
    registry = ctx.start_registry(os.path.join(ctx.work, "registry"))
    base = f"{registry.address}/{BASE_REPO}:{TAG}"
    derived = f"{registry.address}/{DERIVED_REPO}:{TAG}"
    try:
        push(registry.address, index)
        return _measure(ctx, index, base, derived, generated)
    finally:
        registry.stop()
        for name in ctx.engines:  # leave the engines without these images for what runs next
            try:
                _remove_images(ctx, name, [derived, base], index)
            except Exception as err:  # keep cleaning up
                print(f"pull: cleanup on {name}: {err}")
        for path in ("registry", "tar-floor", "pull-images"):
            _rmtree(os.path.join(ctx.work, path))


def _measure(ctx, index, base, derived, generated):
    refs = [derived, base]
    names = list(ctx.engines)
    cold, cold_cpu, present, dedup = ({n: [] for n in names} for _ in range(4))
    tar_seq, tar_par, tar_cpu = [], [], []
    floor_dir = os.path.join(ctx.work, "tar-floor")
    for name in names:
        _remove_images(ctx, name, refs, index)
    settle = _settle_seconds(ctx.work)
    waited = 0.0

    # File creation on this disk costs kernel CPU (~0.1-1 ms an inode) that swings with the
    # deletes of every job on the machine. So: no deletes between the cold steps of a round
    # (everything is removed at the round's end, then the disk is left to settle), and the
    # cold steps (both engines' cold pulls and both tar floors) take turns going first.
    def cold_step(what):
        if what in names:
            cold[what].append(_timed_pull(ctx, what, base, cold_cpu[what]))
        elif what == "tar":
            tar_seq.append(_tar_floor(os.path.join(floor_dir, "seq"), index, False, tar_cpu))
        else:
            tar_par.append(_tar_floor(os.path.join(floor_dir, "par"), index, True))
    steps = [*names, "tar", "tar4"]
    for round_no in range(ctx.rounds):
        shift = round_no % len(steps)
        for what in steps[shift:] + steps[:shift]:
            cold_step(what)
        order = names if round_no % 2 == 0 else names[::-1]
        for name in order:
            present[name].append(_timed_pull(ctx, name, base))
        for name in order:
            dedup[name].append(_timed_pull(ctx, name, derived))
        for name in order:
            _remove_images(ctx, name, refs, index)
        _rmtree(floor_dir)
        if round_no + 1 < ctx.rounds and settle:
            os.sync()
            time.sleep(settle)
            waited += settle

    layers = index["base_layers"]
    mb = lambda n: n / 1e6  # noqa: E731
    shape = (f"{len(layers)} layers, {mb(sum(l['tar_size'] for l in layers)):.0f} MB tar / "
             f"{mb(sum(l['size'] for l in layers)):.1f} MB gz, {sum(l['entries'] for l in layers)} entries")
    rounds = lambda values: "/".join(f"{v:.0f}" for v in values)  # in round order  # noqa: E731
    per_round = lambda series: "; ".join(f"{n} {rounds(v)}" for n, v in series.items())  # noqa: E731
    berth_cold = median(cold["berth"]) if cold.get("berth") else None
    return [
        Row("pull, cold (base image)", "ms", {n: median(cold[n]) for n in names},
            note=f"{shape}, {generated}; round values {per_round(cold)}"
                 + (f"; {waited:.0f} s of settling between rounds (ext4 without journal)"
                    if waited else "")),
        Row("pull, cold: daemon CPU (user+sys)", "ms",
            {**{n: median(cold_cpu[n]) for n in names}, "floor": median(tar_cpu)},
            note=f"floor = tar + gzip CPU, one by one; round values {per_round(cold_cpu)}; "
                 f"tar {rounds(tar_cpu)}"),
        Row("pull, 1 new 1 MiB layer over present base", "ms", {n: median(dedup[n]) for n in names},
            note=f"round values {per_round(dedup)}"),
        Row("pull, image already present", "ms", {n: median(present[n]) for n in names}),
        Row("floor: tar -xzf of the 4 layers, one by one", "ms",
            {"berth": berth_cold, "floor": median(tar_seq)},
            note=f"berth = its cold pull; tar round values {rounds(tar_seq)}"),
        Row("floor: tar -xzf of the 4 layers, 4 at once", "ms",
            {"berth": berth_cold, "floor": median(tar_par)},
            note=f"berth = its cold pull; tar round values {rounds(tar_par)}"),
    ]
