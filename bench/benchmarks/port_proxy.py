"""HTTP through a published port: requests/s and p50/p99 latency of `wrk -t1 -c4` against busybox
`httpd` serving a 1 KiB `index.html`, (a) through the port mapped on 127.0.0.1 and (b) at the
container's address on the engine's bridge, for each engine. Berth serves `-p` with its own
userland proxy (the agent accepts on the host port and connects to the container); Podman
(rootful, netavark) with iptables DNAT, so its mapped port is still kernel forwarding.

busybox httpd answers every request with `Connection: close`, so each wrk request is a new TCP
connection (connect, GET, 1 KiB reply, close): through Berth's proxy that is one accept and one
connect to the container per request, the realistic case for this server, and the worst one for a
proxy compared with long-lived connections.

Other jobs on the machine make the CPU time available drift from second to second, so a round
is made of 1 s wrk runs ("slices"): 5 per target (2 with --quick), taking turns target by target
(mapped: berth, podman, floor; direct: berth, podman), the order flipping every slice. A round's
requests/s for a target is the mean over its slices, its latencies the median of the slices'; each
value shown is the median over rounds. The proxy overhead (requests/s lost through the mapped port) is computed per round
from that round's pair, then the median is taken. Issue target: under 15 % for Berth.

Floor: haproxy (Debian's, one thread, `mode tcp`), a C userland proxy, on another 127.0.0.1 port in
front of Berth's container, measured in the same rounds; its overhead against Berth's direct
access is what a second TCP connection per request costs on this machine with any userland proxy.

TIME_WAIT: every request is a new connection, and whichever side closes first keeps its 4-tuple in
TIME_WAIT for 60 s. Connections from the host to one container address and port differ only in the
host's ephemeral port (28,232 of them by default), and Linux's default `tcp_tw_reuse = 2` lets a
connect() reuse a TIME_WAIT port only on loopback. wrk closes first about half the time, so after
~50,000 direct requests every connect to the container (wrk's direct ones, and the proxy's when the
client closed first) scans for a free port, and every path falls to ~470 connections/s (28,232 ports
/ 60 s) whatever proxies it. So the benchmark sets `net.ipv4.tcp_tw_reuse = 1` (reuse a TIME_WAIT
port for a new connection once its last timestamp is a second old) for its duration, restores the
old value after it (bench/run restores it after a crash too), and notes the TIME_WAIT sockets seen
before each measurement."""

import http.client
import json
import os
import re
import subprocess
import time

from harness import Row, free_port, median, prepare_crun

ORDER = 65
WARMUP_SECONDS = 1
SLICE_SECONDS = 1
CONNECTIONS = 4

# The image has no Env, but both engines give a default PATH (run_rm runs a bare `true`).
SERVER = ('mkdir -p /www && head -c 1024 /dev/zero | tr "\\0" x > /www/index.html '
          '&& exec httpd -f -p 80 -h /www')


def _container_ip(ctx, name, cid):
    _, done = ctx.docker(name, ["inspect", cid])
    settings = json.loads(done.stdout)[0]["NetworkSettings"]
    if settings.get("IPAddress"):
        return settings["IPAddress"]
    for network in (settings.get("Networks") or {}).values():
        if network.get("IPAddress"):
            return network["IPAddress"]
    raise RuntimeError(f"{name}: no IP address in docker inspect of {cid}")


def _wait_ready(host, port, what, timeout=15):
    deadline = time.monotonic() + timeout
    while True:
        conn = http.client.HTTPConnection(host, port, timeout=2)
        try:
            conn.request("GET", "/")
            response = conn.getresponse()
            body = response.read()
            if response.status == 200 and len(body) == 1024:
                return
            error = f"HTTP {response.status}, {len(body)} bytes"
        except OSError as err:
            error = str(err)
        finally:
            conn.close()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} ({host}:{port}) not serving within {timeout} s: {error}")
        time.sleep(0.1)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * _UNITS[unit]


def _wrk(url, seconds):
    """One wrk run; returns {"rps", "p50", "p99" (ms), "requests", "errors"}."""
    argv = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    out = done.stdout
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr}{out}")
    try:
        result = {
            "rps": float(re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M).group(1)),
            "p50": _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
            "p99": _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
            "requests": int(re.search(r"^\s+(\d+) requests in", out, re.M).group(1)),
        }
    except AttributeError:
        raise RuntimeError(f"{' '.join(argv)}: unexpected output:\n{out}") from None
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["errors"] = sum(int(n) for n in errors.groups()) if errors else 0
    result["non2xx"] = int(bad.group(1)) if bad else 0
    if result["requests"] == 0 or result["non2xx"]:
        raise RuntimeError(f"{' '.join(argv)}: no good responses:\n{out}")
    return result


TW_REUSE = "/proc/sys/net/ipv4/tcp_tw_reuse"


def _time_wait_sockets():
    done = subprocess.run(["ss", "-tanH", "state", "time-wait"], capture_output=True, text=True)
    return done.stdout.count("\n")


def _cpu_seconds(pid):
    """User + system CPU time of one process (all its threads, not its children)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_haproxy(ctx, port, target_ip):
    """haproxy in front of `target_ip`:80 on 127.0.0.1:`port`: the userland-proxy floor."""
    config = os.path.join(ctx.work, "haproxy.cfg")
    with open(config, "w") as f:
        f.write(f"""global
    nbthread 1
    maxconn 4096
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen floor
    bind 127.0.0.1:{port}
    server container {target_ip}:80
""")
    proc, _ = ctx.spawn("haproxy", ["haproxy", "-db", "-f", config])
    _wait_ready("127.0.0.1", port, "haproxy in front of Berth's container")
    return proc.pid


def _round(measurements):
    """One round's value for a target from its slices."""
    return {
        "rps": sum(m["rps"] for m in measurements) / len(measurements),
        "p50": median([m["p50"] for m in measurements]),
        "p99": median([m["p99"] for m in measurements]),
        "errors": sum(m["errors"] for m in measurements),
        # µs of the proxy's own CPU per request through it (clock ticks: coarse per slice).
        "proxy_us": (1e6 * sum(m.get("proxy_cpu", 0) for m in measurements)
                     / sum(m["requests"] for m in measurements)),
    }


def run(ctx):
    prepare_crun(ctx)
    image = ctx.busybox_image()
    slices = 2 if ctx.quick else 5
    names = list(ctx.engines)
    targets = {}  # (engine | "floor", "mapped"|"direct") -> url
    proxy_pids = {"berth": ctx.engines["berth"].pid}  # the userland proxies: CPU per request
    started = {}
    with open(TW_REUSE) as f:
        tw_reuse_before = f.read().strip()
    try:
        with open(TW_REUSE, "w") as f:
            f.write("1")
        for name in names:
            port = free_port()
            _, done = ctx.docker(name, ["run", "-d", "-p", f"127.0.0.1:{port}:80", image,
                                        "sh", "-c", SERVER])
            started[name] = done.stdout.decode().strip()
            ip = _container_ip(ctx, name, started[name])
            _wait_ready("127.0.0.1", port, f"{name} mapped port")
            _wait_ready(ip, 80, f"{name} container address")
            targets[name, "mapped"] = f"http://127.0.0.1:{port}/"
            targets[name, "direct"] = f"http://{ip}:80/"
            if name == "berth":
                floor_port = free_port()
                proxy_pids["floor"] = _start_haproxy(ctx, floor_port, ip)
                targets["floor", "mapped"] = f"http://127.0.0.1:{floor_port}/"
        for key in targets:
            _wrk(targets[key], WARMUP_SECONDS)
        results = {key: [] for key in targets}
        time_wait = []
        sequence = [(name, kind) for kind in ("mapped", "direct") for name in [*names, "floor"]
                    if (name, kind) in targets]
        for _ in range(ctx.rounds):
            measured = {key: [] for key in targets}
            for slice_no in range(slices):
                for key in sequence if slice_no % 2 == 0 else sequence[::-1]:
                    time_wait.append(_time_wait_sockets())
                    pid = proxy_pids.get(key[0]) if key[1] == "mapped" else None
                    cpu = _cpu_seconds(pid) if pid else 0
                    result = _wrk(targets[key], SLICE_SECONDS)
                    if pid:
                        result["proxy_cpu"] = _cpu_seconds(pid) - cpu
                    measured[key].append(result)
            for key, measurements in measured.items():
                results[key].append(_round(measurements))
    finally:
        for name, cid in started.items():
            ctx.docker(name, ["rm", "-f", cid], check=False)
        with open(TW_REUSE, "w") as f:
            f.write(tw_reuse_before)
    # The floor's direct access is Berth's: the same container.
    if ("floor", "mapped") in results:
        results["floor", "direct"] = results["berth", "direct"]
    columns = [*names, "floor"] if ("floor", "mapped") in results else names

    def per_round(values, fmt="{:.0f}"):
        return "/".join(fmt.format(v) for v in sorted(values))

    def metric(kind, field, among=columns):
        return {n: [r[field] for r in results[n, kind]] for n in among}

    def errors_note(kind, among):
        counts = {n: sum(r["errors"] for r in results[n, kind]) for n in among}
        if not any(counts.values()):
            return ""
        return "; wrk socket errors " + ", ".join(f"{n} {c}" for n, c in counts.items())

    where = {"mapped": "mapped port on 127.0.0.1", "direct": "container IP directly"}
    rows = []
    for kind in ("mapped", "direct"):
        among = columns if kind == "mapped" else names
        rps = metric(kind, "rps", among)
        rows.append(Row(
            f"GET 1 KiB, {where[kind]}, requests/s (new connection each)", "req/s ↑",
            {n: median(rps[n]) for n in among},
            f"wrk -t1 -c{CONNECTIONS}, {slices} x {SLICE_SECONDS} s per round; rounds "
            + "; ".join(f"{n} {per_round(rps[n])}" for n in among) + errors_note(kind, among)
            + ("; floor = haproxy (1 thread) to berth's container" if "floor" in among else ""),
            higher_is_better=True))
    for field in ("p50", "p99"):
        for kind in ("mapped", "direct"):
            among = columns if kind == "mapped" else names
            values = metric(kind, field, among)
            rows.append(Row(f"GET 1 KiB, {where[kind]}, {field} latency", "ms",
                            {n: median(values[n]) for n in among},
                            "rounds " + "; ".join(f"{n} {per_round(values[n], '{:.2f}')}"
                                                  for n in among)))
    proxies = [n for n in columns if n in proxy_pids]
    cpu = metric("mapped", "proxy_us", proxies)
    rows.append(Row("userland proxy's own CPU per proxied request", "µs",
                    {n: median(cpu[n]) for n in proxies},
                    "berth: the agent process; floor: haproxy; rounds "
                    + "; ".join(f"{n} {per_round(cpu[n])}" for n in proxies)))
    # Paired within each round (interleaved slice by slice), then the median.
    lost = {n: [100 * (1 - m["rps"] / d["rps"])
                for m, d in zip(results[n, "mapped"], results[n, "direct"])] for n in columns}
    slower = {n: [d["rps"] / m["rps"] for m, d in zip(results[n, "mapped"], results[n, "direct"])]
              for n in columns}
    rows.append(Row("port mapping overhead: requests/s lost, mapped vs direct", "%",
                    {n: median(lost[n]) for n in columns},
                    "berth: its userland proxy; podman: iptables DNAT; floor: haproxy, a userland "
                    "proxy in C, to berth's container; target for berth < 15 %; "
                    "rounds " + "; ".join(f"{n} {per_round(lost[n], '{:.1f}')}" for n in columns)
                    + f"; TIME_WAIT sockets before a measurement: up to {max(time_wait)}",
                    ratio=False))
    rows.append(Row("port mapping overhead: direct req/s / mapped req/s", "x",
                    {n: median(slower[n]) for n in columns},
                    "1.00 = no cost; the ratio column compares the overheads"))
    return rows
