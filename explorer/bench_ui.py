"""UI benchmark: the Train page in headless Chromium against a local server. Prints figures, asserts nothing.

Measures: time from opening /train to the first chart; visible updates per second while training;
Pause latency (how long after the click the shown step still changed); training steps/s with the
page open over headless Run.train steps/s on the same config and thread count; browser JS heap
and server RSS at the start and after the soak. Run: python -m explorer.bench --ui [--json].
"""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import torch

from explorer.config import RunConfig
from explorer.run import Run

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("RNNX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--enable-precise-memory-info",
                 "--js-flags=--expose-gc"]
SOAK_S = float(os.environ.get("RNNX_BENCH_SOAK_S", 120))  # training time watched for memory and rates


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def headless_steps_per_s(config: RunConfig, seconds: float = 10.0) -> float:
    torch.set_num_threads(1)
    run = Run(config)
    run.train(20)
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        steps += run.train(20)
    return steps / (time.perf_counter() - start)


def _status(page) -> tuple[int, str]:
    text = page.locator(".st-key-train-status").inner_text()
    return int(re.search(r"step (\d+)", text).group(1)), text


def _server(port: int) -> subprocess.Popen:
    env = {**os.environ, "RNNX_TORCH_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start")


def measure_page(port: int, pid: int) -> dict:
    from playwright.sync_api import sync_playwright

    figures: dict = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        start = time.perf_counter()
        page.goto(f"http://127.0.0.1:{port}/train")
        page.wait_for_selector(".js-plotly-plot", timeout=60_000)
        figures["first_chart_s"] = time.perf_counter() - start
        # live JS heap after a full collection, so garbage not yet collected does not read as growth
        heap = lambda: page.evaluate("() => { if (window.gc) gc(); return performance.memory ? performance.memory.usedJSHeapSize / 1e6 : NaN; }")
        figures["browser_heap_mb_start"], figures["server_rss_mb_start"] = heap(), _rss_mb(pid)
        page.get_by_role("button", name="Train", exact=True).click()
        page.wait_for_function("() => /· training/.test(document.querySelector('.st-key-train-status')?.innerText || '')")
        shown, changes, t0 = None, 0, time.perf_counter()
        step0 = _status(page)[0]
        while time.perf_counter() - t0 < SOAK_S:
            text = _status(page)[1]
            changes += text != shown
            shown = text
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        step1 = _status(page)[0]
        figures["updates_per_s"] = changes / elapsed
        figures["page_steps_per_s"] = (step1 - step0) / elapsed
        figures["browser_heap_mb_end"], figures["server_rss_mb_end"] = heap(), _rss_mb(pid)
        page.get_by_role("button", name="Pause", exact=True).click()
        clicked, last_change, shown = time.perf_counter(), 0.0, _status(page)[0]
        while time.perf_counter() - clicked < 3:
            step = _status(page)[0]
            if step != shown:
                shown, last_change = step, time.perf_counter() - clicked
            time.sleep(0.02)
        figures["pause_latency_s"] = last_change
        browser.close()
    return figures


def main(as_json: bool = False) -> None:
    config = RunConfig()
    port = _free_port()
    proc = _server(port)
    try:
        figures = measure_page(port, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    figures["headless_steps_per_s"] = headless_steps_per_s(config)
    figures["page_over_headless"] = figures["page_steps_per_s"] / figures["headless_steps_per_s"]
    if as_json:
        print(json.dumps(figures))
        return
    goals = {"updates_per_s": ">= 2", "pause_latency_s": "<= 0.5", "page_over_headless": ">= 0.8"}
    for name, value in figures.items():
        print(f"{name:<24} {value:10.3f}  {goals.get(name, '')}")
