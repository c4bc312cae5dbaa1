"""Fixtures that run the real app in a Streamlit server and drive it with headless Chromium.

Not the tests themselves. Fixtures: `app_url` (one server per test session), `fresh_app_url`
(a new server for one test), `browser`, `page` (fresh context per test, console errors in
`page.console_errors`). Helpers, imported with `from .conftest import ...`: `wait_idle`,
`open_app`, `screenshot`, `serve_app`.

Chromium is Debian's at /usr/bin/chromium (or $RNNX_CHROMIUM). When it is missing, the browser tests are skipped
if RNNX_SKIP_BROWSER=1 (set by scripts/test.sh outside CI) and fail otherwise; with CI=true
they always fail, so a missing browser never passes CI quietly.
"""
from __future__ import annotations

import re

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from explorer import appserver

REPO = Path(__file__).resolve().parents[2]
CHROMIUM, CHROMIUM_ARGS = appserver.CHROMIUM, appserver.CHROMIUM_ARGS
VIEWPORT = {"width": 1400, "height": 1000}
LOGS = REPO / "artifacts"
SCREENSHOTS = LOGS / "screenshots"

# script runs of the page (fragments' included) since the first call
RUNS_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app.__rnnxRuns) {
    app.__rnnxRuns = {n: 0};
    new MutationObserver(() => { if (app.getAttribute('data-test-script-state') === 'running') app.__rnnxRuns.n += 1; })
      .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  }
  return app.__rnnxRuns.n;
}"""

# The app is idle when the root element says no script run is in progress, the websocket is
# connected, and no skeleton placeholder is left (Streamlit 1.67 DOM). A click's rerun starts
# a few ms after the click returns, so idle must also follow a run seen since the wait began
# (a MutationObserver catches even short runs), or else last `settleMs` with no run at all.
_IDLE_JS = """
([settleMs]) => {
  const w = window.__rnnxIdle || (window.__rnnxIdle = {since: null, sawRun: false});
  const app = document.querySelector('[data-testid="stApp"]');
  if (app === null) return false;
  const state = app.getAttribute('data-test-script-state');
  if (!app.__rnnxObserver) {
    app.__rnnxObserver = new MutationObserver(() => {
      if (app.getAttribute('data-test-script-state') === 'running' && window.__rnnxIdle) {
        window.__rnnxIdle.sawRun = true;
      }
    });
    app.__rnnxObserver.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  }
  if (state === 'running') w.sawRun = true;
  const idle = state === 'notRunning'
    && app.getAttribute('data-test-connection-state') === 'CONNECTED'
    && document.querySelector('[data-testid="stSkeleton"]') === null;
  const now = performance.now();
  if (!idle) { w.since = null; return false; }
  if (w.since === null) w.since = now;
  return w.sawRun || now - w.since >= settleMs;
}
"""


def _browser_missing_reason() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -r requirements-dev.txt)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip browser tests when Chromium is missing and the caller allowed it, never in CI."""
    reason = _browser_missing_reason()
    if reason is None or os.environ.get("CI") == "true" or os.environ.get("RNNX_SKIP_BROWSER") != "1":
        return
    skip = pytest.mark.skip(reason=f"browser tests skipped: {reason}")
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)


@contextlib.contextmanager
def serve_app(log_name: str = "streamlit-server") -> Iterator[str]:
    """Run `streamlit run app.py` on a free port until the block ends; yield its base URL.

    The server's output goes to artifacts/<log_name>.log (read it when a page shows
    Streamlit's redacted error: the traceback is there).
    """
    with appserver.serve(LOGS / f"{log_name}.log") as server:
        yield server.url


@pytest.fixture(scope="session")
def app_url() -> Iterator[str]:
    """Base URL of one app server shared by the whole test session."""
    with serve_app() as url:
        yield url


@pytest.fixture
def fresh_app_url() -> Iterator[str]:
    """Base URL of a new server for this test alone (e.g. to open /train first after a start)."""
    with serve_app("streamlit-server-fresh") as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium for the session (a clear failure if it is missing)."""
    reason = _browser_missing_reason()
    if reason is not None:
        pytest.fail(f"{reason}; outside CI, set RNNX_SKIP_BROWSER=1 to skip browser tests", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh 1400x1000 page; console errors collect in `page.console_errors`."""
    context = browser.new_context(viewport=VIEWPORT)
    p = context.new_page()
    p.console_errors = []

    def on_console(msg) -> None:
        if msg.type == "error":
            p.console_errors.append(msg.text)

    p.on("console", on_console)
    p.on("pageerror", lambda exc: p.console_errors.append(str(exc)))
    yield p
    context.close()


def wait_idle(page, timeout_ms: float = 60_000, settle_ms: float = 500) -> None:
    """Wait until a script run started since the call has finished, or none started in `settle_ms`.

    Call it after each interaction. While a `st.fragment(run_every=...)` ticks, the end of a
    fragment run also counts as idle: there, wait for the element you expect as well.
    """
    page.evaluate("() => { window.__rnnxIdle = {since: null, sawRun: false}; }")
    page.wait_for_function(_IDLE_JS, arg=[settle_ms], timeout=timeout_ms, polling=50)


def status(page) -> str:
    """The Train page's status line ("step 12 · loss ... · training")."""
    return page.locator(".st-key-train-status").inner_text()


def step_of(page) -> int:
    return int(re.search(r"step (\d+)", status(page)).group(1))


def click(page, label: str) -> None:
    page.get_by_role("button", name=label, exact=True).click()


def wait_step(page, step: int, timeout_ms: float = 60_000) -> None:
    """Wait until the Train page's status line shows `step`, then for the page to be idle: on a loaded
    machine a click's script run can start later than wait_idle's settle time, so the status is what counts."""
    page.wait_for_function("(n) => new RegExp('step ' + n + '\\\\b').test("
                           "document.querySelector('.st-key-train-status')?.innerText || '')",
                           arg=step, timeout=timeout_ms)
    wait_idle(page)


def step_to(page, step: int, timeout_ms: float = 60_000) -> None:
    """Click Step and wait until the status line shows `step`."""
    page.get_by_role("button", name="Step", exact=True).click()
    wait_step(page, step, timeout_ms)


def open_app(page, app_url: str, path: str = "/", timeout_ms: float = 60_000) -> None:
    """Go to `app_url + path` and wait until the first script run has finished."""
    page.goto(app_url.rstrip("/") + "/" + path.lstrip("/"))
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    wait_idle(page, timeout_ms=timeout_ms)


def screenshot(page, name: str, full_page: bool = True) -> Path:
    """Save artifacts/screenshots/<name>.png (git-ignored) and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
