"""Lesson timing: every preset headless and in the app, in seconds. Prints figures, asserts nothing.

Headless is explorer.presets.train_preset with one torch thread, from building the runs to the verdict
(CPU and wall seconds). In the app is a fresh browser session opening /train?preset=NAME in headless
Chromium, until the page shows the verdict ("Claim reproduced" or "Claim not reproduced"), with pace
normal. Run: python -m explorer.bench --presets [--only NAME ...]. Run it on a quiet machine: the
wall times are what a lecturer waits.
"""
from __future__ import annotations

import os
import platform
import time

import torch

from explorer.appserver import CHROMIUM, CHROMIUM_ARGS, serve
from explorer.presets import PRESETS, train_preset

VERDICT = "() => /Claim (not )?reproduced/.test(document.body.innerText)"


def headless(name: str) -> tuple[float, float]:
    """-> (CPU s, wall s) of one preset trained and judged in this process."""
    cpu, wall = time.process_time(), time.perf_counter()
    preset = PRESETS[name]
    preset.verdict(train_preset(preset))
    return time.process_time() - cpu, time.perf_counter() - wall


def in_app(browser, port: int, name: str) -> float:
    """Wall seconds from opening the preset's link in a new browser session to its verdict on the page."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        start = time.perf_counter()
        page.goto(f"http://127.0.0.1:{port}/train?preset={name}")
        page.wait_for_function(VERDICT, timeout=300_000, polling=200)
        return time.perf_counter() - start
    finally:
        context.close()


def cpu_name() -> str:
    for line in open("/proc/cpuinfo", encoding="utf-8"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def main(names: list[str] | None = None) -> None:
    from playwright.sync_api import sync_playwright

    names = names or list(PRESETS)
    torch.set_num_threads(1)
    print(f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}, one thread, "
          f"CPU capability {torch.backends.cpu.get_cpu_capability()}")
    rows = {name: headless(name) for name in names}
    with serve() as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        app = {name: in_app(browser, server.port, name) for name in names}
        browser.close()
    print(f"{'preset':<22} {'headless CPU s':>15} {'headless wall s':>16} {'in the app s':>13}")
    for name in names:
        cpu, wall = rows[name]
        print(f"{name:<22} {cpu:>15.1f} {wall:>16.1f} {app[name]:>13.1f}")
    print("goals: headless <= 30 s and in the app <= 40 s on a 2-core machine")
