"""The Learn and Compare pages in Chromium: equations render, and a short race runs to its end."""
import time

import pytest

from .conftest import RUNS_JS, open_app, screenshot, wait_idle

pytestmark = pytest.mark.browser

RACE_TIMEOUT_MS = 120_000  # 4 architectures x 50 steps take seconds; this bounds a busy shared machine


def no_exception(page) -> None:
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, errors.first.inner_text()


def record_failed_requests(page) -> list[str]:
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    return failed


def no_console_errors(page, failed: list[str], path: str) -> None:
    """Only Streamlit's own base-path probes may fail: opened at /learn it first asks /learn/_stcore/health."""
    probes = [url for url in failed if f"{path}/_stcore/" in url]
    assert failed == probes, failed
    others = [e for e in page.console_errors if "status of 404" not in e]
    assert others == [] and len(page.console_errors) <= len(probes), page.console_errors


def test_learn_page_shows_equations_and_lessons(page, app_url):
    failed = record_failed_requests(page)
    open_app(page, app_url, "/learn", timeout_ms=120_000)  # the first visit trains small example runs
    page.get_by_role("heading", name="Why gradients vanish and explode").wait_for()
    screenshot(page, "learn")
    no_exception(page)
    assert page.locator(".katex").count() >= 7  # five cells and the two gradient formulas, typeset
    assert page.locator(".gtitle", has_text="Gates: forget gate f").count() == 1
    lesson = page.get_by_role("button", name="Vanishing gradients: RNN against LSTM")
    lesson.wait_for(timeout=60_000)  # the lessons come last, once the page above them is drawn
    assert lesson.is_visible()
    no_console_errors(page, failed, "/learn")


def test_a_short_comparison_runs_to_the_end_and_overlays_the_losses(page, app_url):
    failed = record_failed_requests(page)
    open_app(page, app_url, "/compare")
    budget = page.locator('[data-testid="stSlider"]', has_text="Steps per architecture").get_by_role("slider")
    budget.focus()
    budget.press("Home")  # the smallest budget: 50 steps per architecture
    wait_idle(page)
    page.get_by_role("button", name="Start comparison").click()
    page.get_by_text("Finished the budget of 50 steps.").wait_for(timeout=RACE_TIMEOUT_MS)
    wait_idle(page)
    loss = page.locator(".gtitle", has_text="Loss by architecture")
    loss.wait_for()
    legend = page.locator(".js-plotly-plot", has=loss).locator(".legendtext")
    assert sorted(legend.all_text_contents()) == ["GRU", "LSTM", "RNN", "Transformer"]
    page.locator(".gtitle", has_text="Gradient norm over time").wait_for()  # drawn in the browser after the run
    assert page.locator(".gtitle", has_text="Gradient norm over time").count() == 1
    assert page.get_by_role("table").get_by_text("Transformer", exact=True).count() == 1
    screenshot(page, "compare_race")
    no_exception(page)
    no_console_errors(page, failed, "/compare")


RACE_LINE_JS = """() => { const p = document.querySelector('.st-key-race-status .rnnx-status');
  const bar = p && p.querySelector('[role="progressbar"]');
  return p ? [p.textContent, bar ? Number(bar.getAttribute('aria-valuenow')) : null] : null; }"""


def test_the_race_progress_moves_with_the_live_frames(page, app_url):
    """While the race trains, its progress line and bar come with the feed's frames, not with the page's runs (its
    fragment reruns every 5 s while fed): the line changes more often than the page runs."""
    open_app(page, app_url, "/compare")
    budget = page.locator('[data-testid="stSlider"]', has_text="Steps per architecture").get_by_role("slider")
    budget.focus()
    budget.press("End")  # the largest budget: the race trains for the whole look, however fast the machine
    wait_idle(page)
    page.get_by_role("button", name="Start comparison").click()
    page.wait_for_function(f"() => {{ const r = ({RACE_LINE_JS})(); return r && /· training/.test(r[0]); }}",
                           timeout=RACE_TIMEOUT_MS)
    runs = page.evaluate(RUNS_JS)
    seen, bars, deadline = set(), [], time.monotonic() + 60
    while len(seen) < 6:
        assert time.monotonic() < deadline, f"the race's line took over 60 s to change 6 times: {seen}"
        line = page.evaluate(RACE_LINE_JS)
        assert line is not None and "· training" in line[0], line
        seen.add(line[0])
        bars.append(line[1])
        time.sleep(0.1)
    runs = page.evaluate(RUNS_JS) - runs
    assert runs < len(seen) - 1, f"{runs} page runs for {len(seen)} lines: the line changed only with the page"
    assert bars == sorted(bars) and 0 <= bars[0] <= bars[-1] <= 100, bars
    page.get_by_role("button", name="Cancel").first.click()  # the race's (the sweep's comes second)
    page.get_by_text("Cancelled").first.wait_for(timeout=30_000)
    no_exception(page)
