"""Issue 18.6: the server gives memory back when heavy sessions end."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from .conftest import VIEWPORT, open_app, serve_app

pytestmark = pytest.mark.browser
# within the budget, but each session holds two traces of (8, 1000, 300) per internal in the server
HEAVY = "/train?arch=lstm&hidden_size=300&seq_len=1000&batch_size=8"


def _server_rss_mb(url: str) -> float:
    """Resident memory of the Streamlit server serving `url` (found by its --server.port)."""
    port = url.rsplit(":", 1)[1].encode()
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(argv) and port in argv and b"--server.port" in argv:
            status = (proc / "status").read_text()
            return next(int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmRSS:"))
    raise AssertionError(f"no server process for {url}")


@pytest.mark.xfail(strict=False, reason="measured: two sessions held +300 MB over the baseline, +150 MB stays after "
                   "they end (collected and trimmed, session state emptied): something outside our state holds it")
def test_memory_goes_back_after_heavy_sessions_end(browser, monkeypatch):
    monkeypatch.setenv("STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL", "2")  # sessions end 2 s after the tab
    monkeypatch.setenv("RNNX_REATTACH_S", "2")  # and their runs are not kept for a reload
    with serve_app("streamlit-server-memory") as url:
        warm = browser.new_context(viewport=VIEWPORT)
        open_app(warm.new_page(), url, "/train?hidden_size=8&seq_len=20")  # imports and caches, once
        warm.close()
        time.sleep(10)
        baseline = _server_rss_mb(url)
        tabs = []
        for _ in range(2):
            tabs.append(browser.new_context(viewport=VIEWPORT))
            open_app(tabs[-1].new_page(), url, HEAVY, timeout_ms=120_000)
        held = _server_rss_mb(url)
        assert held > baseline + 150, (baseline, held)  # the sessions really held memory
        for tab in tabs:
            tab.close()
        deadline = time.monotonic() + 30
        while _server_rss_mb(url) > baseline + 100 and time.monotonic() < deadline:
            time.sleep(1)
        assert _server_rss_mb(url) <= baseline + 100, (baseline, held, _server_rss_mb(url))
