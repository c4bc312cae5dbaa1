"""Memory benchmark (issue 18.6): the server's RSS before, while and after heavy sessions. Prints figures, asserts nothing.

Starts `streamlit run app.py` with sessions that end 2 s after their tab closes and runs that wait RNNX_REATTACH_S=3 s
for a reload, opens one small tab (imports, caches), then `--tabs` tabs of a heavy config in headless Chromium, Steps
each once, closes them, and prints the server's RSS every few seconds until it settles. Not the test
(tests/test_memory.py). Run: python -m explorer.bench_memory [--tabs 2] [--path /train?...].
"""
from __future__ import annotations

import argparse
import time

from explorer import appserver
from explorer.appserver import CHROMIUM
from explorer.bench_ui import CHROMIUM_ARGS, _rss_mb

HEAVY = "/train?arch=lstm&hidden_size=300&seq_len=1000&batch_size=8"  # within the budget: traces of (8, 1000, 300)
IDLE_JS = """() => { const app = document.querySelector('[data-testid="stApp"]');
  return app && app.getAttribute('data-test-script-state') === 'notRunning'
    && app.getAttribute('data-test-connection-state') === 'CONNECTED'; }"""


def _open(context, url: str):
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector(".js-plotly-plot", timeout=180_000)
    page.wait_for_function(IDLE_JS, timeout=180_000)
    return page


def measure(tabs: int, path: str, settle_s: float) -> list[tuple[str, float]]:
    from playwright.sync_api import sync_playwright

    # sessions end 2 s after their tab closes; runs wait 3 s for a reload
    server = appserver.start(env={"RNNX_REATTACH_S": "3", "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": "2"})
    proc, base = server.proc, server.url
    rows: list[tuple[str, float]] = [("started", _rss_mb(proc.pid))]
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            warm = browser.new_context(viewport={"width": 1400, "height": 1000})
            _open(warm, f"{base}/train?hidden_size=8&seq_len=20")
            warm.close()
            time.sleep(10)
            rows.append(("baseline (one small tab opened and closed)", _rss_mb(proc.pid)))
            contexts = []
            for _ in range(tabs):
                contexts.append(browser.new_context(viewport={"width": 1400, "height": 1000}))
                page = _open(contexts[-1], base + path)
                page.get_by_role("button", name="Step", exact=True).click()
                page.wait_for_function("() => /step 1\\b/.test(document.querySelector('.st-key-train-status')?.innerText || '')",
                                       timeout=180_000)
            rows.append((f"{tabs} heavy tabs open, one Step each", _rss_mb(proc.pid)))
            for context in contexts:
                context.close()
            start = time.monotonic()
            while time.monotonic() - start < settle_s:
                time.sleep(5)
                rows.append((f"{time.monotonic() - start:.0f} s after the tabs closed", _rss_mb(proc.pid)))
            browser.close()
    finally:
        appserver.stop(proc)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tabs", type=int, default=2)
    parser.add_argument("--path", default=HEAVY)
    parser.add_argument("--settle", type=float, default=40.0, help="seconds to watch after the tabs close")
    args = parser.parse_args(argv)
    rows = measure(args.tabs, args.path, args.settle)
    baseline = rows[1][1]
    for label, mb in rows:
        print(f"{label:<45} {mb:8.0f} MB  ({mb - baseline:+.0f} over the baseline)")


if __name__ == "__main__":
    main()
