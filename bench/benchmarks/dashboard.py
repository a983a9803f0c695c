"""The dashboard in headless Chromium (Debian's chromium + chromium-driver, spoken to over the
W3C WebDriver protocol with urllib): how long a container's state change on the agent takes to
show in the Containers page's DOM, how long the Containers page takes to render 1,000
containers, and the gzipped size of the bundle. No peer has a dashboard to compare with, so
each row is set against its target (the ratio column is target/berth: > 1 means within it).

- event → DOM: a container is paused and unpaused over the API; a MutationObserver in the page
  stamps the moment its row's state changes (`performance.timeOrigin + performance.now()`, the
  same wall clock as the agent's), and the agent's own event (`GET /events`, `timeNano`) is
  the start. Also from the API request's start.
- first render: with 1,000 containers (one running, the rest created), from setting
  `location.hash` to `#/containers` (the app already loaded) until the count reads 1000 and
  the rows on screen are drawn; and a cold load of the page (navigation, wasm, session check,
  list) until the same, timed from Python.
- bundle: `web_bg.wasm`, `web.js`, `style.css`, `index.html` as the agent serves them,
  gzip -9.
"""

import gzip
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from harness import Row, free_port, median, p90, unix_get, unix_request

ORDER = 90

CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")
CONTAINERS = 1000
TARGETS = {"latency_ms": 100.0, "render_ms": 1000.0, "bundle_kb": 400.0}


class WebDriver:
    """The few W3C WebDriver commands the benchmark needs."""

    def __init__(self, port, profile):
        self.base = f"http://127.0.0.1:{port}"
        caps = {"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--window-size=1280,720",
                     f"--user-data-dir={profile}"],
        }}}}
        deadline = time.monotonic() + 30
        while True:
            try:
                self.session = self._call("POST", "/session", caps)["sessionId"]
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self._call("POST", f"/session/{self.session}/timeouts", {"script": 120_000})

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=180) as response:
            return json.load(response)["value"]

    def get(self, url):
        self._call("POST", f"/session/{self.session}/url", {"url": url})

    def run(self, script, *args):
        return self._call("POST", f"/session/{self.session}/execute/sync",
                          {"script": script, "args": list(args)})

    def run_async(self, script, *args):
        """`script` ends by calling `done(value)` (the last argument)."""
        wrapped = "const done = arguments[arguments.length - 1];\n" + script
        return self._call("POST", f"/session/{self.session}/execute/async",
                          {"script": wrapped, "args": list(args)})

    def quit(self):
        try:
            self._call("DELETE", f"/session/{self.session}")
        except OSError:
            pass


def wait_for(driver, condition_js, what, timeout=60):
    """Polls `condition_js` (an expression) in the page until it is true."""
    deadline = time.monotonic() + timeout
    while not driver.run(f"return !!({condition_js});"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"dashboard: {what} never happened")
        time.sleep(0.02)


# Stamps each change of a row's data-state: window.__marks = [{name, state, t}].
OBSERVE = """
window.__marks = [];
const seen = {};
const stamp = () => {
  const t = performance.timeOrigin + performance.now();
  for (const tr of document.querySelectorAll('#containers tr[data-name]')) {
    const name = tr.dataset.name, state = tr.dataset.state;
    if (seen[name] !== state) { seen[name] = state; window.__marks.push({name, state, t}); }
  }
};
stamp();
new MutationObserver(stamp).observe(document.querySelector('#containers tbody'),
  {childList: true, subtree: true, attributes: true});
"""

# From setting the hash until 1000 containers are counted and rows are drawn.
RENDER = """
const t0 = performance.now();
location.hash = '#/containers';
const check = () => {
  const count = document.querySelector('#containers-count');
  const rows = document.querySelectorAll('#containers tbody tr[data-id]').length;
  if (count && count.textContent.startsWith('%d containers') && rows > 0) {
    done(performance.now() - t0);
  } else {
    requestAnimationFrame(check);
  }
};
check();
"""


def create_containers(sock, image, n):
    body = {"Image": image, "Cmd": ["true"], "HostConfig": {"NetworkMode": "none"}}

    def one(i):
        status, answer = unix_request(sock, "POST", f"/containers/create?name=dash-{i}", body)
        if status != 201:
            raise RuntimeError(f"create dash-{i}: {status} {answer[:200]!r}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(n)))


def bundle_kb(sock):
    total = 0
    for name in ("web_bg.wasm", "web.js", "style.css", "index.html"):
        status, body = unix_get(sock, f"/{name}")
        if status != 200:
            raise RuntimeError(f"GET /{name}: {status}")
        total += len(gzip.compress(body, 9))
    return total / 1024


def run(ctx):
    for binary in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(binary):
            raise RuntimeError(f"{binary} is missing: apt-get install chromium chromium-driver")
    berth = ctx.engines["berth"]
    sock = berth.socket
    with open(os.path.join(berth.root, "auth", "admin.token")) as f:
        token = f.read().strip()
    image = ctx.busybox_image()
    ctx.docker("berth", ["run", "-d", "--name", "lat", "--network", "none", image,
                         "sleep", "100000"])

    port = free_port()
    profile = tempfile.mkdtemp(prefix="berth-bench-chromium-", dir=ctx.work)
    driver_proc = subprocess.Popen([CHROMEDRIVER, f"--port={port}"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
    driver = None
    try:
        driver = WebDriver(port, profile)
        base = f"http://{berth.address}"
        driver.get(base + "/")
        driver.run_async("fetch('/berth/v1/login', {method: 'POST', "
                         "headers: {'Content-Type': 'application/json'}, "
                         "body: JSON.stringify({token: arguments[0]})}).then(r => done(r.status));",
                         token)
        driver.get("about:blank")  # a fresh load, now with the session cookie
        driver.get(base + "/#/containers")
        wait_for(driver, "document.querySelector(\"#containers tr[data-name='lat']\")",
                 "the container's row")
        wait_for(driver, "document.querySelector('#ws-state.live')", "the live connection")
        driver.run(OBSERVE)

        # event → DOM
        runs = 10 if ctx.quick else 20
        per_round_event, per_round_request = [], []
        for _ in range(ctx.rounds):
            since = time.time()
            requested = []
            for i in range(runs):
                for verb, state in (("pause", "paused"), ("unpause", "running")):
                    marks_before = driver.run("return window.__marks.length;")
                    requested.append(time.time() * 1000)
                    status, answer = unix_request(sock, "POST", f"/containers/lat/{verb}")
                    if status != 204:
                        raise RuntimeError(f"{verb}: {status} {answer[:200]!r}")
                    wait_for(driver, f"window.__marks.slice({marks_before}).some("
                                     f"m => m.name === 'lat' && m.state === '{state}')",
                             f"the row turning {state}")
            until = time.time() + 1
            marks = [m for m in driver.run("return window.__marks;") if m["name"] == "lat"]
            shown = [m["t"] for m in marks if m["t"] >= since * 1000]
            status, body = unix_get(sock, f"/events?since={since:.3f}&until={until:.3f}"
                                          f"&filters=%7B%22container%22%3A%5B%22lat%22%5D%7D")
            events = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
            stamps = [e["timeNano"] / 1e6 for e in events if e.get("Action") in ("pause", "unpause")]
            if len(stamps) != len(shown) or len(shown) != len(requested):
                raise RuntimeError(f"{len(stamps)} events, {len(shown)} DOM changes, "
                                   f"{len(requested)} requests")
            per_round_event.append([d - e for d, e in zip(shown, stamps)])
            per_round_request.append([d - r for d, r in zip(shown, requested)])
        event_ms = median([median(r) for r in per_round_event])
        event_p90 = median([p90(r) for r in per_round_event])
        request_ms = median([median(r) for r in per_round_request])

        # first render with 1000 containers
        create_containers(sock, image, CONTAINERS - 1)
        spa, cold = [], []
        for _ in range(ctx.rounds):
            driver.run("location.hash = '#/hosts';")
            wait_for(driver, "!document.querySelector('#containers')", "leaving the page")
            spa.append(driver.run_async(RENDER % CONTAINERS))
            driver.get("about:blank")
            start = time.perf_counter()
            driver.get(base + "/#/containers")
            wait_for(driver, f"(document.querySelector('#containers-count') || {{}}).textContent"
                             f"?.startsWith('{CONTAINERS} containers') && "
                             "document.querySelector('#containers tbody tr[data-id]')",
                     "the cold render")
            cold.append((time.perf_counter() - start) * 1000)
        rows_on_screen = driver.run("return document.querySelectorAll("
                                    "'#containers tbody tr[data-id]').length;")
    finally:
        if driver:
            driver.quit()
        driver_proc.kill()
        driver_proc.wait()
        shutil.rmtree(profile, ignore_errors=True)

    size = bundle_kb(sock)
    t = TARGETS
    return [
        Row("dashboard: container event → DOM, median", "ms",
            {"berth": event_ms, "target": t["latency_ms"]},
            note=f"pause/unpause, {runs * 2} changes a round; p90 {event_p90:.1f} ms; from the "
                 f"API request's start {request_ms:.1f} ms (includes the freezer)"),
        Row(f"dashboard: Containers page first render, {CONTAINERS} containers", "ms",
            {"berth": median(spa), "target": t["render_ms"]},
            note=f"in-app navigation; {rows_on_screen} rows drawn (the rest are windowed); "
                 f"a cold page load to the same point: {median(cold):.0f} ms"),
        Row("dashboard: bundle (wasm+js+css+html), gzip -9", "KB",
            {"berth": size, "target": t["bundle_kb"]},
            note="target is DESIGN's budget; the aim is 300 KB"),
    ]
