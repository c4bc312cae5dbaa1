"""Load test: N visitors train at once, in headless Chromium, through deploy/local.sh's nginx. Prints figures, asserts nothing.

Run: python -m explorer.bench --visitors N [--replicas R] [--soak S] [--heavy K] [--json]
Each visitor is its own browser context (its own cookies, so nginx pins it to one replica): it opens /train,
presses Train, waits in the queue when its replica's trainer pool is full, watches the live charts for the soak
period (default 60 s, or RNNX_BENCH_VISITOR_SOAK_S) from the first step its page shows, and closes its tab. All start at once, as a
lecture hall does. Without --replicas, one plain server (no nginx). --heavy K: the first K visitors open the
largest LSTM the per-visitor budget allows, to see whether they slow the others down.
Per visitor: time to the first chart, queue wait (Train pressed to training), steps/s, each in-view live chart's
changes per second (counted in the browser, as explorer/bench_ui.py counts them), errors (HTTP >= 400 but
Streamlit's base-path probes, page and console errors, error boxes, lost connection). Per replica over time: RSS
of its main process and of its whole process tree (trainers included; forked processes share pages, so the tree
sum counts shared pages more than once), and its training processes. Then how long after the last tab closed
the last training process was gone. The browsers run on the same cores as the servers: the machine's busy cores
and the replicas' own CPU say how the time was shared.
Not a test: it asserts nothing (the issue's goals are printed beside the figures).
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from explorer import appserver
from explorer.appserver import CHROMIUM, REPO
from explorer.bench_ui import CHROMIUM_ARGS, _cpu_s, _rss_mb

SOAK_S = float(os.environ.get("RNNX_BENCH_VISITOR_SOAK_S", 60))
VIEWPORT = {"width": 1400, "height": 1000}  # a laptop's window: charts scrolled out of view skip frames
QUEUE_TIMEOUT_S = 300.0  # a queued visitor gives up after this (printed as an error)
GONE_TIMEOUT_S = 120.0
SAMPLE_S = 2.0
LOSS_KEY = b"run0-loss_chart"  # explorer/ui/live_chart.py's key of the Train page's Loss chart
HEAVY_PATH = "/train?arch=lstm&hidden_size=512&seq_len=741&batch_size=7"  # README's largest allowed LSTM
# per chart key: renders so far, and whether it is in view (explorer/ui/live_chart.py records both)
CHARTS_JS = """() => Object.fromEntries(Array.from(document.querySelectorAll('.rnnx-cell')).map(cell =>
  [cell.dataset.chart, [((window.__rnnxRenders || {})[cell.dataset.chart] || {}).renders || 0,
                        !!(cell.firstChild && cell.firstChild.__rnnxVisible)]]))"""
STATUS_JS = "() => document.querySelector('.st-key-train-status')?.innerText || ''"
# frames the live feed delivered (the normal pace's way; the element asks for the next only once it has drawn one)
FEED_FRAMES_JS = "() => window.__rnnxFeedFrames || 0"
ERROR_BOXES_JS = """() => document.querySelectorAll('[data-testid="stException"], [data-testid="stAlertContentError"]').length
  + (document.querySelector('[data-testid="stApp"]')?.getAttribute('data-test-connection-state') === 'CONNECTED' ? 0 : 1000)"""


@dataclass
class Visitor:
    index: int
    path: str
    replica: str = "?"
    first_chart_s: float = float("nan")
    queued_place: int | None = None  # the place first shown, when it queued
    queue_wait_s: float = float("nan")  # Train pressed -> status "training" (queued or not)
    first_step_s: float = float("nan")  # status "training" -> the page shows a new step (the soak starts then)
    steps_per_s: float = float("nan")
    sent_per_s: float = float("nan")  # frames the server sent (live feed frames and rerun messages), per second
    changes_per_s: dict[str, float] = field(default_factory=dict)  # in-view charts only
    errors: list[str] = field(default_factory=list)
    closed_at: float = float("nan")  # time.monotonic()
    gone_after_close_s: float = float("nan")  # its replica's next training process to end, after the tab closed

    @property
    def slowest_chart(self) -> float:
        return min(self.changes_per_s.values(), default=float("nan"))


# -- the servers ------------------------------------------------------------------------------------

def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every live process."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        out[int(stat.parent.name)] = (ppid, cmd)
    return out


def _descendants(root: int, procs: dict[int, tuple[int, str]]) -> list[int]:
    found, frontier = [], {root}
    while frontier:
        frontier = {pid for pid, (ppid, _) in procs.items() if ppid in frontier}
        found += frontier
    return found


def _replicas(root: int) -> list[int]:
    """The Streamlit server processes under `root` (deploy/local.sh's replicas, or the plain server itself)."""
    procs = _processes()
    return sorted(pid for pid in [root, *_descendants(root, procs)] if "streamlit run app.py" in procs.get(pid, (0, ""))[1])


def _trainers(replica: int, procs: dict[int, tuple[int, str]]) -> list[int]:
    """Training (and Inspect) processes: the children of the replica's forkserver."""
    servers = [pid for pid, (ppid, cmd) in procs.items() if ppid == replica and "forkserver" in cmd]
    return [pid for pid, (ppid, _) in procs.items() if ppid in servers]


def _start(replicas: int | None) -> tuple[subprocess.Popen, str]:
    """deploy/local.sh with R replicas behind nginx, or one plain server; -> (process, base URL)."""
    if not replicas:
        server = appserver.start()
        return server.proc, server.url
    port = appserver.port_run(replicas)
    log = REPO / "artifacts" / "bench-visitors-local.log"
    log.parent.mkdir(exist_ok=True)
    with open(log, "w") as out:
        proc = subprocess.Popen(["bash", "deploy/local.sh", "--replicas", str(replicas), "--port", str(port)],
                                cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "RNNX_TORCH_THREADS": "1"})
    deadline = time.monotonic() + 300
    while "Ctrl-C stops everything" not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(proc)
            raise RuntimeError(f"deploy/local.sh did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.5)
    return proc, f"http://127.0.0.1:{port}"


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the process we started (local.sh stops its replicas and nginx), then its group if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


class Sampler(threading.Thread):
    """Every SAMPLE_S: per replica, its main process's RSS and CPU, its tree's RSS, its training processes; busy cores."""

    def __init__(self, replicas: list[int]) -> None:
        super().__init__(name="bench-sampler", daemon=True)
        self.replicas = replicas
        self.rows: list[dict] = []
        self.done = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        before = (start, _busy_s())
        while True:
            now, busy = time.monotonic(), _busy_s()
            row = {"t": now - start, "busy_cores": (busy - before[1]) / max(now - before[0], 1e-9)}
            before = (now, busy)
            procs = _processes()
            row["cpu"] = self._cpu_by_group(procs)
            for k, pid in enumerate(self.replicas):
                tree = [pid, *_descendants(pid, procs)]
                row[k] = {"rss_mb": _rss(pid), "tree_rss_mb": sum(_rss(p) for p in tree),
                          "trainers": len(_trainers(pid, procs)), "cpu_s": _cpu_or_nan(pid),
                          "port": _port(procs.get(pid, (0, ""))[1])}
            self.rows.append(row)
            if self.done.wait(SAMPLE_S):
                return

    def _cpu_by_group(self, procs: dict[int, tuple[int, str]]) -> dict[str, dict[int, float]]:
        """Cumulative CPU seconds per pid of: the browsers (everything under this process but the servers),
        the replicas' main processes, and their training processes."""
        servers = set(self.replicas)
        for pid in self.replicas:
            servers.update(_descendants(pid, procs))
        groups = {"browsers": [p for p in _descendants(os.getpid(), procs) if p not in servers
                               and "local.sh" not in procs[p][1] and "nginx" not in procs[p][1]],
                  "servers": list(self.replicas),
                  "trainers": [t for pid in self.replicas for t in _trainers(pid, procs)]}
        return {name: {pid: _cpu_or_nan(pid) for pid in pids} for name, pids in groups.items()}

    def trainers(self) -> int:
        procs = _processes()
        return sum(len(_trainers(pid, procs)) for pid in self.replicas)


class TrainerWatch(threading.Thread):
    """Every 0.5 s: which training processes each replica has; -> when each was first and last seen."""

    def __init__(self, replicas: list[int]) -> None:
        super().__init__(name="bench-trainers", daemon=True)
        self.replicas = replicas
        self.seen: dict[int, list] = {}  # pid -> [replica index, first seen, last seen] (time.monotonic())
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.5):
            procs, now = _processes(), time.monotonic()
            for k, replica in enumerate(self.replicas):
                for pid in _trainers(replica, procs):
                    self.seen.setdefault(pid, [k, now, now])[2] = now

    def ends(self, replica: int) -> list[float]:
        """When the replica's training processes ended (last seen + half a poll), in order; running ones left out."""
        now = time.monotonic()
        return sorted(last + 0.25 for k, _, last in self.seen.values() if k == replica and now - last > 1.0)


def _port(cmd: str) -> str:
    found = re.search(r"--server.port (\d+)", cmd)
    return found.group(1) if found else "?"


def _rss(pid: int) -> float:
    try:
        return _rss_mb(pid)
    except OSError:
        return 0.0


def _cpu_or_nan(pid: int) -> float:
    try:
        return _cpu_s(pid)
    except OSError:
        return float("nan")


def _busy_s() -> float:
    """CPU seconds the whole machine has been busy (every core), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# -- the visitors -----------------------------------------------------------------------------------

async def _visit(browser, visitor: Visitor, url: str, soak_s: float, timeline: dict) -> None:
    """One visitor from opening the page to closing the tab; figures and errors go into `visitor`."""
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    errors = visitor.errors
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("console", lambda m: errors.append(f"console: {m.text[:120]}")
            if m.type == "error" and "Failed to load resource" not in m.text else None)

    def on_response(r) -> None:
        if "/_stcore/" in r.url and visitor.replica == "?":
            visitor.replica = r.headers.get("x-rnnx-replica", "direct")
        probe = "/train/_stcore/" in r.url  # Streamlit asks for its base path first, opened at /train
        if r.status >= 400 and not probe:
            errors.append(f"HTTP {r.status} {r.url.split('?')[0][-60:]}")

    page.on("response", on_response)
    frames = [0]  # websocket messages carrying the Loss chart's numbers (page reruns), drawn or not

    def on_frame(payload) -> None:
        frames[0] += LOSS_KEY in (payload if isinstance(payload, bytes) else payload.encode())

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    try:
        start = time.perf_counter()
        await page.goto(url + visitor.path, timeout=180_000)
        await page.wait_for_selector(".js-plotly-plot", timeout=180_000)
        visitor.first_chart_s = time.perf_counter() - start
        await page.get_by_role("button", name="Train", exact=True).click(timeout=60_000)
        clicked = time.perf_counter()
        while "· training" not in (status := await page.evaluate(STATUS_JS)):
            if visitor.queued_place is None and "queued" in status:
                found = re.search(r"number (\d+) in the queue", await page.inner_text("body"))
                visitor.queued_place = int(found.group(1)) if found else 0
            if time.perf_counter() - clicked > QUEUE_TIMEOUT_S:
                raise TimeoutError(f"not training {QUEUE_TIMEOUT_S:.0f} s after Train; status {status!r}")
            await asyncio.sleep(0.25)
        visitor.queue_wait_s = time.perf_counter() - clicked
        timeline.setdefault("training", []).append(time.monotonic())
        # the soak starts once the page shows a step: a training process's start-up is apart (first_step_s)
        start_step = _step(status)
        while _step(await page.evaluate(STATUS_JS)) == start_step:
            if time.perf_counter() - clicked > visitor.queue_wait_s + QUEUE_TIMEOUT_S:
                raise TimeoutError(f"no step shown {QUEUE_TIMEOUT_S:.0f} s after training began")
            await asyncio.sleep(0.25)
        visitor.first_step_s = time.perf_counter() - clicked - visitor.queue_wait_s
        charts0, step0 = await page.evaluate(CHARTS_JS), _step(await page.evaluate(STATUS_JS))
        frames0 = frames[0] + await page.evaluate(FEED_FRAMES_JS)
        t0 = time.perf_counter()
        boxes = 0
        while time.perf_counter() - t0 < soak_s:
            boxes = max(boxes, await page.evaluate(ERROR_BOXES_JS))
            await asyncio.sleep(1.0)
        charts1, step1 = await page.evaluate(CHARTS_JS), _step(await page.evaluate(STATUS_JS))
        elapsed = time.perf_counter() - t0
        visitor.steps_per_s = (step1 - step0) / elapsed
        visitor.sent_per_s = (frames[0] + await page.evaluate(FEED_FRAMES_JS) - frames0) / elapsed
        visitor.changes_per_s = {key: (n - charts0.get(key, [0])[0]) / elapsed
                                 for key, (n, seen) in charts1.items() if seen}
        if boxes >= 1000:
            errors.append("lost the connection to the server")
        if boxes % 1000:
            errors.append(f"{boxes % 1000} error box(es) on the page")
    except Exception as error:  # noqa: BLE001 - a visitor that could not go on is an error to print
        errors.append(f"{type(error).__name__}: {str(error).splitlines()[0][:160]}")
    finally:
        await context.close()
        visitor.closed_at = time.monotonic()


def _step(status: str) -> int:
    found = re.search(r"step (\d+)", status)
    return int(found.group(1)) if found else 0


async def _drive(url: str, visitors: list[Visitor], soak_s: float, timeline: dict) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        await asyncio.gather(*(_visit(browser, v, url, soak_s, timeline) for v in visitors))
        await browser.close()


def measure(visitors: int, replicas: int | None, soak_s: float = SOAK_S, heavy: int = 0) -> dict:
    crowd = [Visitor(k, HEAVY_PATH if k < heavy else "/train") for k in range(visitors)]
    proc, url = _start(replicas)
    timeline: dict = {}
    try:
        servers = _replicas(proc.pid)
        sampler, watch = Sampler(servers), TrainerWatch(servers)
        sampler.start(), watch.start()
        began = time.monotonic()
        asyncio.run(_drive(url, crowd, soak_s, timeline))
        last_close = max(v.closed_at for v in crowd)
        while sampler.trainers() and time.monotonic() - last_close < GONE_TIMEOUT_S:
            time.sleep(0.25)
        gone_s = time.monotonic() - last_close if not sampler.trainers() else float("nan")
        time.sleep(SAMPLE_S)
        sampler.done.set(), watch.done.set()
        sampler.join(), watch.join()
        ports = [sampler.rows[0][k]["port"] for k in range(len(servers))]
        for k, port in enumerate(ports):  # the tabs' idle stops come in the order the tabs closed
            mine = sorted((v for v in crowd if v.replica in (f"127.0.0.1:{port}", "direct")), key=lambda v: v.closed_at)
            ends = [end for end in watch.ends(k) if end > min((v.closed_at for v in mine), default=0)]
            for v, end in zip(mine, ends):  # a visitor whose process never started ends nothing: left out
                v.gone_after_close_s = end - v.closed_at if end > v.closed_at else float("nan")
    finally:
        _stop(proc)
    return {"visitors": crowd, "replicas": replicas or 1, "soak_s": soak_s, "heavy": heavy,
            "samples": sampler.rows, "gone_after_last_close_s": gone_s,
            "wall_s": last_close - began, "first_training_at": min(timeline.get("training", [began])) - began}


# -- the report -------------------------------------------------------------------------------------

def _lo(values) -> float:
    values = [v for v in values if v == v]  # NaN: a visitor that never got there (its errors say why)
    return min(values, default=float("nan"))


def _hi(values) -> float:
    values = [v for v in values if v == v]
    return max(values, default=float("nan"))


def _spread(values: list[float]) -> float:
    values = [v for v in values if v == v]
    return max(values) / min(values) if values and min(values) > 0 else float("nan")


def _cpu_rate(samples: list[dict], group: str) -> float:
    """Mean cores a group used while any trainer ran: per pair of samples, the CPU of the pids in both."""
    rates = []
    for a, b in zip(samples, samples[1:]):
        if not any(b[k]["trainers"] for k in b if isinstance(k, int)):
            continue
        before, after = a["cpu"][group], b["cpu"][group]
        both = [after[p] - before[p] for p in after.keys() & before.keys()]
        rates.append(sum(x for x in both if x == x) / (b["t"] - a["t"]))  # NaN: a process gone as it was read
    return statistics.fmean(rates) if rates else float("nan")


def summary(figures: dict) -> dict:
    crowd = figures["visitors"]
    normal = [v for v in crowd if v.index >= figures["heavy"]]
    samples = figures["samples"]
    replicas = [k for k in samples[0] if isinstance(k, int)] if samples else []
    out = {
        "visitors": len(crowd), "replicas": figures["replicas"], "soak_s": figures["soak_s"], "heavy": figures["heavy"],
        "queued": sum(v.queued_place is not None for v in crowd),
        "queued_and_started": sum(v.queued_place is not None and v.steps_per_s == v.steps_per_s for v in crowd),
        "with_errors": sum(bool(v.errors) for v in crowd),
        "first_chart_s_max": _hi(v.first_chart_s for v in crowd),
        "first_step_s_max": _hi(v.first_step_s for v in crowd),
        "sent_per_s_min": _lo(v.sent_per_s for v in crowd),
        "slowest_chart_changes_per_s_min": _lo(v.slowest_chart for v in crowd),
        "steps_per_s_min": _lo(v.steps_per_s for v in normal),
        "steps_per_s_max": _hi(v.steps_per_s for v in normal),
        "steps_per_s_spread": _spread([v.steps_per_s for v in normal]),
        "gone_after_close_s_max": _hi(v.gone_after_close_s for v in crowd),
        "gone_after_last_close_s": figures["gone_after_last_close_s"],
        "busy_cores_mean": statistics.fmean(busy) if (busy := [s["busy_cores"] for s in samples[1:] if any(
            s[k]["trainers"] for k in s if isinstance(k, int))]) else float("nan"),
    }
    for group in ("servers", "trainers", "browsers"):
        out[f"{group}_cpu_cores_mean"] = _cpu_rate(samples, group)
    for k in replicas:
        rss = [s[k]["rss_mb"] for s in samples]
        out[f"replica{k}_rss_mb_start_peak_end"] = (rss[0], max(rss), rss[-1])
        cpu = [s[k]["cpu_s"] for s in samples]
        out[f"replica{k}_main_cpu_cores"] = (cpu[-1] - cpu[0]) / max(samples[-1]["t"], 1e-9)
        port = samples[0][k]["port"]
        out[f"replica{k}_visitors"] = sum(v.replica in (f"127.0.0.1:{port}", "direct") for v in crowd)
    return out


def report(figures: dict) -> None:
    crowd = figures["visitors"]
    proxy = " behind nginx" if figures["replicas"] > 1 else ""
    heavy = f", {figures['heavy']} at the caps" if figures["heavy"] else ""
    print(f"{len(crowd)} visitors, {figures['replicas']} replica(s){proxy}, soak {figures['soak_s']:.0f} s{heavy}")
    print(f"{'visitor':>7} {'replica':>16} {'1st chart s':>11} {'queued':>6} {'wait s':>7} {'1st step':>8} {'steps/s':>8} "
          f"{'sent/s':>6} {'loss ch/s':>9} {'slowest ch/s':>12} {'in view':>7} {'gone s':>6}  errors")
    for v in crowd:
        loss = v.changes_per_s.get("run0-loss_chart", float("nan"))
        place = "-" if v.queued_place is None else f"#{v.queued_place}"
        print(f"{v.index:>7} {v.replica:>16} {v.first_chart_s:>11.1f} {place:>6} {v.queue_wait_s:>7.1f} {v.first_step_s:>8.1f} {v.steps_per_s:>8.1f} "
              f"{v.sent_per_s:>6.2f} {loss:>9.2f} {v.slowest_chart:>12.2f} {len(v.changes_per_s):>7} {v.gone_after_close_s:>6.1f}  {'; '.join(v.errors[:3]) or '-'}")
    print("time s  busy cores  " + "  ".join(f"r{k} :{figures['samples'][0][k]['port']} RSS MB (tree) trainers"
                                         for k in figures['samples'][0] if isinstance(k, int)))
    for row in figures["samples"][::5] + figures["samples"][-1:]:
        cells = "  ".join(f"{row[k]['rss_mb']:>9.0f} ({row[k]['tree_rss_mb']:>5.0f}) {row[k]['trainers']:>8}"
                          for k in row if isinstance(k, int))
        print(f"{row['t']:>6.0f}  {row['busy_cores']:>10.2f}  {cells}")
    goals = {"with_errors": "0", "slowest_chart_changes_per_s_min": ">= 2", "steps_per_s_spread": "<= 2",
             "gone_after_last_close_s": "<= 35",
             "gone_after_close_s_max": "<= 35"}
    for name, value in summary(figures).items():
        text = ", ".join(f"{x:.1f}" for x in value) if isinstance(value, tuple) else (
            f"{value:.2f}" if isinstance(value, float) else str(value))
        print(f"{name:<36} {text:>22}  {goals.get(name, '')}")


def main(visitors: int, replicas: int | None, soak_s: float = SOAK_S, heavy: int = 0, as_json: bool = False) -> None:
    figures = measure(visitors, replicas, soak_s, heavy)
    rows = [{k: getattr(v, k) for k in Visitor.__dataclass_fields__} for v in figures["visitors"]]
    raw = json.dumps({"summary": summary(figures), "visitors": rows, "samples": figures["samples"]}, default=str)
    (REPO / "artifacts").mkdir(exist_ok=True)
    (REPO / "artifacts" / f"bench-visitors-{visitors}x{replicas or 1}.json").write_text(raw)  # every figure, kept
    if as_json:
        print(raw)
        return
    report(figures)
