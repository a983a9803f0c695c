"""Shared machinery for the benchmarks: the engines under test, the docker CLI, statistics.

A Context holds one running Berth agent and one Podman API service (Podman's Docker-compatible
REST API), each on its own unix socket under the run's work dir, so the stock docker CLI can
drive both the same way. Every process started here has its PID written to <work>/pids/ so
bench/run can kill it even if this program dies.
"""

import errno
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import time
from dataclasses import dataclass, field

DOCKER_ENV_DROP = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH",
                   "DOCKER_API_VERSION")


# ---------------------------------------------------------------- statistics and results

def median(values):
    return statistics.median(values)


def p90(values):
    """Nearest-rank 90th percentile."""
    ordered = sorted(values)
    rank = max(1, -(-9 * len(ordered) // 10))  # ceil(0.9 * n)
    return ordered[rank - 1]


@dataclass
class Row:
    """One line of the results table: a measure with a value per engine (lower is better,
    unless higher_is_better: then the ratio column is berth/peer, so that > 1 still means
    Berth is ahead). ratio=False leaves the ratio column empty (e.g. for percentages)."""
    measure: str
    unit: str
    values: dict  # engine name -> float
    note: str = ""
    higher_is_better: bool = False
    ratio: bool = True


# ---------------------------------------------------------------- small unix-socket HTTP

class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=5):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


def unix_get(path, url, timeout=5):
    """GET url over the unix socket at path; returns (status, body bytes)."""
    conn = _UnixHTTPConnection(path, timeout)
    try:
        conn.request("GET", url)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def unix_request(path, method, url, body=None, timeout=300):
    """One request over the unix socket at path; returns (status, body bytes). A dict body is
    sent as JSON."""
    conn = _UnixHTTPConnection(path, timeout)
    try:
        headers = {}
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, url, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# ---------------------------------------------------------------- processes

def process_tree(pid):
    """pid and all its descendants (by scanning /proc/*/stat)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # Field 4 (ppid) comes after the ")" closing the command name.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def smaps_rollup_kb(pid):
    """{'Rss': kB, 'Pss': kB, …} from /proc/<pid>/smaps_rollup."""
    values = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[-1] == "kB":
                values[parts[0].rstrip(":")] = int(parts[1])
    return values


def wait_for_ping(sock, proc, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before answering")
        try:
            status, _ = unix_get(sock, "/_ping", timeout=2)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not answer /_ping on {sock} within {timeout}s")


@dataclass
class Engine:
    """A Docker-API-compatible daemon under test."""
    name: str
    socket: str
    proc: subprocess.Popen
    log: str
    root: str = ""  # the data root (Berth --root, Podman graphroot)
    address: str = ""  # Berth's HTTP listener (host:port), for the dashboard

    @property
    def pid(self):
        return self.proc.pid

    def cpu_seconds(self):
        """User + system CPU time used so far by the daemon's process tree (threads included;
        children that already exited count through the parent's cutime/cstime)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in process_tree(self.pid):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
        return total / ticks

    def memory_kb(self):
        """Summed Rss and Pss (kB) of the daemon's process tree."""
        total = {"Rss": 0, "Pss": 0}
        for pid in process_tree(self.pid):
            try:
                rollup = smaps_rollup_kb(pid)
            except OSError:
                continue
            for key in total:
                total[key] += rollup.get(key, 0)
        return total


@dataclass
class Context:
    """What a benchmark gets: the engines, the docker CLI, the work dir and the settings."""
    work: str
    berth_bin: str
    rounds: int
    quick: bool
    engines: dict = field(default_factory=dict)  # name -> Engine, berth first
    # Reserved up front so Podman's registries.conf can mark it insecure (plain HTTP) before
    # Podman starts; start_registry() listens there.
    registry_port: int = field(default_factory=lambda: _free_port())
    _cleanups: list = field(default_factory=list)

    # -- process bookkeeping

    def spawn(self, name, argv, env=None):
        """Starts a helper process (output in <work>/<name>.log); it is stopped at exit, and
        killed by bench/run if this program dies."""
        return self._spawn(name, argv, env)

    def _spawn(self, name, argv, env=None):
        log = os.path.join(self.work, f"{name}.log")
        with open(log, "ab") as out:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                    env=env, start_new_session=True)
        os.makedirs(os.path.join(self.work, "pids"), exist_ok=True)
        with open(os.path.join(self.work, "pids", name), "w") as f:
            f.write(str(proc.pid))
        self._cleanups.append(lambda: _stop(proc))
        return proc, log

    # -- engines

    def start_berth(self):
        base = os.path.join(self.work, "berth")
        os.makedirs(base, exist_ok=True)
        sock = os.path.join(base, "berth.sock")
        listen = f"127.0.0.1:{_free_port()}"
        root = os.path.join(base, "root")
        # Containers' cgroups go under a parent named after this run, so that bench/run can
        # find and remove exactly those (<work>/cgroup-parent) whatever happened.
        env = dict(os.environ, BERTH_CGROUP_PARENT=self.cgroup_parent)
        with open(os.path.join(self.work, "cgroup-parent"), "w") as f:
            f.write(self.cgroup_parent)
        # Its own default bridge (not the machine's `berth0`) and its network namespaces under
        # the work dir. The bridges (that one and any of user-defined networks, named in
        # <root>/networks/*.json) are deleted after the agent stops, by close() or, after a
        # crash, by bench/run (<work>/berth-bridge). Veths go with their namespaces.
        with open(os.path.join(self.work, "berth-bridge"), "w") as f:
            f.write(self.berth_bridge)
        self._cleanups.append(lambda: remove_berth_bridges(root, self.berth_bridge))
        # The host-wide lock Berth takes to pick a subnet, if no agent made it before.
        self._remove_at_exit(BERTH_NETWORK_LOCK)
        proc, log = self._spawn("berth", [self.berth_bin, "serve", "--root", root,
                                          "--socket", sock, "--listen", listen,
                                          "--bridge", self.berth_bridge,
                                          "--netns-dir", os.path.join(base, "netns")], env=env)
        self._cleanups.append(lambda: self.remove_all_containers("berth"))
        wait_for_ping(sock, proc, "berth serve")
        self.engines["berth"] = Engine("berth", sock, proc, log, root, listen)

    @property
    def cgroup_parent(self):
        """`berth-bench-XXXXXX`, from the work dir's name (`/var/tmp/berth-bench.XXXXXX`)."""
        return "berth-bench-" + os.path.basename(os.path.normpath(self.work)).split(".")[-1]

    @property
    def berth_bridge(self):
        """`bb` + the work dir's suffix: the run's default bridge (interface names ≤ 15 chars)."""
        return "bb" + os.path.basename(os.path.normpath(self.work)).split(".")[-1]

    def start_podman(self):
        base = os.path.join(self.work, "podman")
        conf = os.path.join(base, "conf")
        for sub in ("conf", "storage", "run", "tmp", "networks", "volumes"):
            os.makedirs(os.path.join(base, sub), exist_ok=True)
        env = podman_env(base, insecure_registries=[self.registry_address])
        sock = os.path.join(base, "podman.sock")
        proc, log = self._spawn(
            "podman",
            ["podman", "--root", os.path.join(base, "storage"), "--runroot", os.path.join(base, "run"),
             "system", "service", "--time=0", f"unix://{sock}"],
            env=env)
        # Runs before the service stops: conmon and the containers outlive it otherwise.
        self._cleanups.append(lambda: self.remove_all_containers("podman"))
        wait_for_ping(sock, proc, "podman system service")
        self.engines["podman"] = Engine("podman", sock, proc, log, os.path.join(base, "storage"))
        self._remove_at_exit(PODMAN_BLOB_INFO_CACHE)

    def _remove_at_exit(self, paths):
        """Paths (outermost first) an engine may create outside the work dir: those missing now
        are removed at exit, by close() or, after a crash, by bench/run (<work>/remove-at-exit)."""
        missing = [p for p in paths if not os.path.lexists(p)]
        if not missing:
            return
        with open(os.path.join(self.work, "remove-at-exit"), "a") as f:
            f.writelines(p + "\n" for p in missing)

        def remove():
            for path in reversed(missing):
                try:
                    os.rmdir(path) if os.path.isdir(path) else os.remove(path)
                except FileNotFoundError:
                    pass
                except OSError as err:  # a directory something else now uses too: keep it
                    if err.errno != errno.ENOTEMPTY:
                        raise
        self._cleanups.insert(0, remove)  # last: after the engines have stopped

    # -- a local registry

    @property
    def registry_address(self):
        return f"127.0.0.1:{self.registry_port}"

    def start_registry(self, storage):
        """Starts Debian's distribution registry (`docker-registry`, v2.8) on
        127.0.0.1:<registry_port> with its blobs under `storage`; returns a Registry whose
        stop() ends it (Context.close() does too). Both engines reach it over plain HTTP."""
        os.makedirs(storage, exist_ok=True)
        config = os.path.join(self.work, "registry.yml")
        with open(config, "w") as f:
            f.write(f"""version: 0.1
log: {{level: warn, accesslog: {{disabled: true}}}}
storage:
  filesystem: {{rootdirectory: {storage}}}
  delete: {{enabled: true}}
  cache: {{blobdescriptor: inmemory}}
http: {{addr: "{self.registry_address}"}}
""")
        proc, log = self._spawn("registry", ["docker-registry", "serve", config])
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited with {proc.returncode}; see {log}")
            conn = http.client.HTTPConnection("127.0.0.1", self.registry_port, timeout=2)
            try:
                conn.request("GET", "/v2/")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            finally:
                conn.close()
            if time.monotonic() > deadline:
                raise RuntimeError(f"docker-registry did not answer on {self.registry_address} "
                                   f"within 30 s; see {log}")
            time.sleep(0.05)
        return Registry(self.registry_address, proc, log)

    # -- the docker CLI

    def docker_env(self):
        config = os.path.join(self.work, "docker-config")
        os.makedirs(config, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in DOCKER_ENV_DROP}
        env.update(DOCKER_CONFIG=config, DOCKER_BUILDKIT="0", DOCKER_CLI_HINTS="false")
        return env

    def docker(self, engine, args, check=True):
        """Runs `docker -H unix://<engine socket> args…`; returns (seconds, CompletedProcess)."""
        argv = ["docker", "-H", f"unix://{self.engines[engine].socket}", *args]
        env = self.docker_env()
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=300)
        elapsed = time.perf_counter() - start
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): "
                               f"{done.stderr.decode(errors='replace')}")
        return elapsed, done

    def remove_all_containers(self, engine):
        """`docker rm -f` of every container the engine has (running or not)."""
        if engine not in self.engines:
            return
        _, listed = self.docker(engine, ["ps", "-a", "-q", "--no-trunc"], check=False)
        ids = listed.stdout.decode().split()
        if ids:
            self.docker(engine, ["rm", "-f", *ids], check=False)

    def busybox_image(self):
        """Imports `bench-busybox:latest` (Debian's static busybox, one symlink per applet,
        /etc/passwd and /etc/group; 1 layer, ~2 MB) into every engine with `docker import`,
        once per run; returns the reference."""
        ref = "bench-busybox:latest"
        if getattr(self, "_busybox_imported", False):
            return ref
        tar_path = os.path.join(self.work, "busybox-rootfs.tar")
        if not os.path.exists(tar_path):
            _write_busybox_rootfs(tar_path)
        for name in self.engines:
            # No --change: Berth's import does not take one yet; every run names its command.
            self.docker(name, ["import", tar_path, ref])
        self._busybox_imported = True
        return ref

    def close(self):
        while self._cleanups:
            try:
                self._cleanups.pop()()
            except Exception as err:  # keep cleaning up
                print(f"cleanup: {err}")


@dataclass
class Registry:
    address: str  # host:port
    proc: subprocess.Popen
    log: str

    def stop(self):
        _stop(self.proc)


# Berth's host-wide lock for picking subnets (`berth serve` has no flag to move it).
BERTH_NETWORK_LOCK = ("/run/berth", "/run/berth/networks.lock")


def remove_berth_bridges(root, default_bridge):
    """Deletes the Berth agent's default bridge and those of its user-defined networks
    (`bridge` in <root>/networks/*.json) that still exist."""
    names = {default_bridge}
    networks = os.path.join(root, "networks")
    for entry in (os.listdir(networks) if os.path.isdir(networks) else []):
        try:
            with open(os.path.join(networks, entry)) as f:
                bridge = json.load(f).get("bridge")
        except (OSError, ValueError):
            continue
        if bridge:
            names.add(bridge)
    for name in sorted(names):
        if os.path.exists(os.path.join("/sys/class/net", name)):
            subprocess.run(["ip", "link", "delete", "dev", name], check=False)


# Podman 4.3 as root keeps its blob-info cache (digest -> known locations) here whatever its
# --root says; the compat API gives no way to move it. Removed at exit if the run created it.
PODMAN_BLOB_INFO_CACHE = ("/var/lib/containers", "/var/lib/containers/cache",
                          "/var/lib/containers/cache/blob-info-cache-v1.boltdb")


def podman_env(base, insecure_registries=()):
    """Environment that points Podman at config files under base, away from the machine's.

    Follows research/anchors-perf.md: cgroupfs manager (no systemd here), file events logger,
    ulimits this root can actually grant (no CAP_SYS_RESOURCE: nofile 20000, nproc 32768).
    """
    conf = os.path.join(base, "conf")
    files = {
        "storage.conf": f"""[storage]
driver = "overlay"
graphroot = "{base}/storage"
runroot = "{base}/run"
""",
        "containers.conf": f"""[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{base}/tmp/events.log"
runtime = "crun"
tmp_dir = "{base}/tmp"
volume_path = "{base}/volumes"

[network]
network_backend = "netavark"
network_config_dir = "{base}/networks"
""",
        "registries.conf": "unqualified-search-registries = []\n" + "".join(
            f'\n[[registry]]\nlocation = "{r}"\ninsecure = true\n' for r in insecure_registries),
    }
    for name, text in files.items():
        with open(os.path.join(conf, name), "w") as f:
            f.write(text)
    env = dict(os.environ)
    env.update(CONTAINERS_STORAGE_CONF=os.path.join(conf, "storage.conf"),
               CONTAINERS_CONF=os.path.join(conf, "containers.conf"),
               CONTAINERS_REGISTRIES_CONF=os.path.join(conf, "registries.conf"))
    return env


def _write_busybox_rootfs(path, busybox="/bin/busybox"):
    """A busybox rootfs as a tar: the static binary at /bin/busybox and one symlink per applet
    (`busybox --list-full`), plus the few files and directories a container expects."""
    import io
    import tarfile
    with open(busybox, "rb") as f:
        head = f.read(4096)
    if b"\x7fELF" not in head[:4]:
        raise RuntimeError(f"{busybox} is not an ELF binary")
    applets = subprocess.run([busybox, "--list-full"], check=True, capture_output=True,
                             text=True).stdout.split()

    def entry(name, kind=tarfile.DIRTYPE, mode=0o755, size=0, linkname=""):
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.size, info.linkname = kind, mode, size, linkname
        info.mtime = 1700000000
        return info

    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "tmp", "proc", "sys", "dev",
                  "root", "var", "data"):
            tar.addfile(entry(d + "/", mode=0o1777 if d == "tmp" else 0o755))
        with open(busybox, "rb") as f:
            tar.addfile(entry("bin/busybox", tarfile.REGTYPE, 0o755, os.path.getsize(busybox)), f)
        for applet in applets:
            if applet == "bin/busybox":
                continue
            target = os.path.relpath("/bin/busybox", os.path.dirname("/" + applet))
            tar.addfile(entry(applet, tarfile.SYMTYPE, 0o777, linkname=target))
        for name, text in (("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"),
                           ("etc/group", "root:x:0:\nnogroup:x:65534:\n")):
            data = text.encode()
            tar.addfile(entry(name, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    return _free_port()


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc, timeout=15):
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def dump_json(path, data):
    with open(path, "w") as f:
        json.dump(data, f, indent=2)


def prepare_crun(ctx):
    """crun 1.8 refuses to run on a hybrid host whose cgroup2 tree still owns a controller
    (here: hugetlb). As systemd's hybrid layout does, bind hugetlb to a v1 hierarchy for the
    run; bench/run moves it back at exit (marker file <work>/hugetlb-mounted).
    Only benchmarks that start Podman containers need to call this."""
    controllers = "/sys/fs/cgroup/unified/cgroup.controllers"
    target = "/sys/fs/cgroup/hugetlb"
    try:
        with open(controllers) as f:
            if not f.read().split():
                return
    except OSError:
        return  # not hybrid
    if os.path.ismount(target):
        return
    os.makedirs(target, exist_ok=True)
    subprocess.run(["mount", "-t", "cgroup", "-o", "hugetlb", "cgroup", target], check=True)
    with open(os.path.join(ctx.work, "hugetlb-mounted"), "w") as f:
        f.write(target)
