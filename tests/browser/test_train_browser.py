"""The Train page in a real browser: train, pause, switch architectures, open a link first on a new server."""
import re
import time

import pytest

from .conftest import VIEWPORT, click, open_app, screenshot, serve_app, status, step_of, wait_idle, wait_step

pytestmark = pytest.mark.browser

# Plotly's own record of each chart on the page: title text without markup, and the decoded data.
CHART_TITLES_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
  .map(g => ((g.layout && g.layout.title && g.layout.title.text) || '').replace(/<[^>]*>/g, ''))"""
LOSS_POINTS_JS = """() => {
  const g = Array.from(document.querySelectorAll('.js-plotly-plot'))
    .find(g => g.layout && g.layout.title && g.layout.title.text.replace(/<[^>]*>/g, '').startsWith('Loss'));
  return g && g._fullData && g._fullData.length ? Math.max(...g._fullData.map(d => (d.x || []).length)) : 0;
}"""


def choose(page, label: str, option: str) -> None:
    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text=label).first
    box.click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)


def titles(page) -> list[str]:
    return page.evaluate(CHART_TITLES_JS)


def wait_for_title(page, prefix: str, timeout_s: float = 30) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = titles(page)
        if any(t.startswith(prefix) for t in found):
            return found
        time.sleep(0.2)
    raise AssertionError(f"no chart titled {prefix!r}; charts: {titles(page)}")


def no_errors(page) -> None:
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, errors.first.inner_text()


def test_train_then_pause(page, app_url):
    open_app(page, app_url, "/train")
    assert step_of(page) == 0
    click(page, "Train")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (page.evaluate(LOSS_POINTS_JS) or 0) < 20:
        time.sleep(0.2)
    first = page.evaluate(LOSS_POINTS_JS)
    assert first >= 20, f"the loss chart did not gain points: {status(page)}"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and page.evaluate(LOSS_POINTS_JS) <= first:
        time.sleep(0.2)
    assert page.evaluate(LOSS_POINTS_JS) > first, "the loss chart stopped gaining points while training"
    screenshot(page, "train_lstm_training")
    click(page, "Pause")
    wait_idle(page)
    time.sleep(0.5)
    paused_at = step_of(page)
    assert "paused" in status(page)
    time.sleep(1.5)
    assert step_of(page) == paused_at, "training went on after Pause"
    no_errors(page)


def test_the_status_line_follows_the_live_frames(page, app_url):
    """The live feed's frames rewrite the status line as they come (the page itself reruns only when the run
    stops, or every few seconds): its step moves with the charts."""
    open_app(page, app_url, "/train")
    click(page, "Train")
    page.wait_for_function("() => (window.__rnnxLinesFed || []).length >= 5", timeout=60_000)
    written = page.evaluate("() => window.__rnnxLinesFed")
    assert all("training" in line for line in written), written
    assert len({int(re.search(r"step (\d+)", line).group(1)) for line in written}) >= 3, written
    click(page, "Pause")
    wait_idle(page)
    assert "paused" in status(page) and "training" not in status(page), status(page)
    no_errors(page)


GRAD_NORM_JS = """() => {
  const gd = document.querySelector('[data-chart="run0-grad_norm_chart"]:not(.rnnx-cell)');
  const seen = (window.__rnnxRenders || {})['run0-grad_norm_chart'] || {titles: []};
  return {visible: gd ? gd.__rnnxVisible : null, steps: seen.titles.map(t => +(t.match(/step (\\d+)/) || [0, -1])[1])};
}"""


def test_a_chart_scrolled_into_view_shows_the_newest_trace(page, app_url):
    """A laptop's window shows the training curves alone, and the run is traced about once a second meanwhile;
    the gradient norm chart scrolled into view moves at once with traces of the newest steps."""
    open_app(page, app_url, "/train?arch=lstm&seq_len=30&hidden_size=16")
    click(page, "Train")
    page.wait_for_function("() => (window.__rnnxLinesFed || []).length >= 5", timeout=60_000)
    time.sleep(2)
    assert page.evaluate(GRAD_NORM_JS)["visible"] is False  # out of this window's view
    before = step_of(page)
    page.locator('[data-chart="run0-grad_norm_chart"]').first.scroll_into_view_if_needed()
    deadline = time.monotonic() + 20
    while len([s for s in page.evaluate(GRAD_NORM_JS)["steps"] if s > before]) < 3:  # three traces since
        assert time.monotonic() < deadline, page.evaluate(GRAD_NORM_JS)
        time.sleep(0.1)
    assert max(page.evaluate(GRAD_NORM_JS)["steps"]) <= step_of(page)
    no_errors(page)


def test_switching_architecture_shows_its_internals(page, app_url):
    open_app(page, app_url, "/train")
    choose(page, "Architecture", "GRU")
    found = wait_for_title(page, "Gates (GRU r, z, n)")
    assert not any(t.startswith("Cell state") for t in found)
    screenshot(page, "train_gru")
    choose(page, "Architecture", "Transformer")
    found = wait_for_title(page, "Attention")
    assert not any(t.startswith("Gates") for t in found)
    screenshot(page, "train_transformer")
    assert "arch=transformer" in page.url  # the address bar is a link to this setup
    no_errors(page)


def test_a_shared_link_works_first_on_a_fresh_server(page, fresh_app_url):
    open_app(page, fresh_app_url, "/train?arch=rnn&seq_len=30&hidden_size=16")
    sidebar = page.locator('[data-testid="stSidebar"]')
    # a first visit by URL reruns once through app.py: the idle wait can end between the two runs
    sidebar.get_by_text("Architecture", exact=True).first.wait_for(timeout=60_000)
    assert sidebar.get_by_text("Architecture", exact=True).count() == 1
    click(page, "Step")
    wait_step(page, 1, timeout_ms=30_000)  # the very first click counts
    assert "arch=rnn" in page.url and "seq_len=30" in page.url
    wait_for_title(page, "Hidden state")  # the browser draws the charts once plotly.js has loaded
    no_errors(page)


RENDERS_JS = "() => Object.fromEntries(Object.entries(window.__rnnxRenders || {}).map(([k, v]) => [v.title.split(' (')[0], v.renders]))"


def renders(page) -> dict[str, int]:
    """Per live chart (by title), how many times plotly has drawn it: counted by plotly's afterplot event."""
    return page.evaluate(RENDERS_JS)


FRAMES_JS = "() => [window.__rnnxFeedFrames || 0, window.__rnnxPageFrames || 0]"
TALL = {"width": 1400, "height": 3200}  # every chart on screen: charts out of view skip frames


def test_every_live_chart_moves_while_training_and_none_after_pause(page, app_url):
    page.set_viewport_size(TALL)
    open_app(page, app_url, "/train?arch=lstm&seq_len=30&hidden_size=16")
    click(page, "Train")
    page.wait_for_function("() => Object.keys(window.__rnnxRenders || {}).length >= 8", timeout=60_000)
    start, frames = renders(page), page.evaluate(FRAMES_JS)
    # the issue asks for 10 changes within 5 s on an idle 2-core machine (python -m explorer.bench --ui
    # measures the rate); CI shares its cores, so the count here gets twice the time
    time.sleep(10)
    end, frames = renders(page), [b - a for a, b in zip(frames, page.evaluate(FRAMES_JS))]
    # the frames came from the live feed, not from page reruns (those carry no charts while it trains)
    assert frames[0] >= 10 and frames[1] == 0, f"feed frames, page frames in 10 s: {frames}"
    moved = {title: end[title] - start.get(title, 0) for title in end}
    assert {"Loss and mse", "Parameter gradients", "Gradient norm over time", "Gradient flow", "Hidden state h_t",
            "Gates", "Cell state c_t", "Prediction vs target"} <= set(moved), moved
    assert all(n >= 10 for n in moved.values()), f"changes in 10 s: {moved}"
    screenshot(page, "train_live")
    click(page, "Pause")
    wait_idle(page)
    time.sleep(0.5)  # the click's own rerun draws the paused state once
    before = renders(page)
    time.sleep(2)
    assert renders(page) == before, "a chart changed after Pause"
    assert "paused" in status(page)
    no_errors(page)


def test_slow_pace_shows_every_traced_step(page, app_url):
    page.set_viewport_size(TALL)
    open_app(page, app_url, "/train?arch=gru&seq_len=20&hidden_size=8&pace=slow")
    click(page, "Train")
    page.wait_for_function("() => (window.__rnnxRenders || {})['run0-grad_norm_chart']", timeout=60_000)
    time.sleep(6)
    click(page, "Pause")
    titles = page.evaluate("() => window.__rnnxRenders['run0-grad_norm_chart'].titles")
    steps = sorted({int(m.group(1)) for t in titles if (m := re.search(r"step (\d+)", t))})
    assert len(steps) >= 8, steps
    assert steps == list(range(steps[0], steps[-1] + 1)), f"steps not shown: {sorted(set(range(steps[0], steps[-1])) - set(steps))}"
    assert steps[-1] - steps[0] <= 6 * 20 + 5  # about 20 steps a second at most
    assert "pace=slow" in page.url
    no_errors(page)


def test_a_presets_side_by_side_runs_both_move(page, app_url):
    page.set_viewport_size(TALL)
    open_app(page, app_url, "/train?preset=lstm_memory")
    # the charts this test counts must have drawn once (the browser draws one chart at a time)
    page.wait_for_function("() => ['run0-grad_norm_chart', 'run1-grad_norm_chart'].every(k => (window.__rnnxRenders || {})[k])",
                           timeout=60_000)
    count = "() => [0, 1].map(i => window.__rnnxRenders[`run${i}-grad_norm_chart`].renders)"
    before = page.evaluate(count)
    time.sleep(5)
    after = page.evaluate(count)
    screenshot(page, "preset_side_by_side")
    assert all(a - b >= 2 for a, b in zip(after, before)), (before, after)  # each run's charts moved on
    click(page, "Pause")  # leave no lesson training for the tests after this one
    no_errors(page)


# Records every WebSocket the page opens, so a test can drop the connection as venue Wi-Fi does.
KEEP_SOCKETS_JS = """(() => {
  const Native = window.WebSocket;
  window.__rnnxSockets = [];
  window.WebSocket = function (...args) { const s = new Native(...args); window.__rnnxSockets.push(s); return s; };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
})()"""


def wait_for_step(page, above: int, timeout_s: float = 60) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            step = step_of(page)
        except Exception:  # the status is being redrawn
            step = -1
        if step > above:
            return step
        time.sleep(0.2)
    raise AssertionError(f"the step counter did not pass {above}: {status(page)}")


def test_a_dropped_connection_keeps_the_run_where_it_was(page, app_url):
    # Streamlit releases session-scoped resources on a websocket drop; the run must survive it
    page.add_init_script(KEEP_SOCKETS_JS)
    open_app(page, app_url, "/train")
    click(page, "Train")
    before = wait_for_step(page, 20)
    opened = page.evaluate("() => window.__rnnxSockets.length")
    page.evaluate("() => window.__rnnxSockets.forEach(s => s.close())")
    page.wait_for_function(f"() => window.__rnnxSockets.length > {opened}", timeout=30_000)  # it reconnected
    after = wait_for_step(page, before)
    assert after > before and "training" in status(page), status(page)
    click(page, "Pause")
    wait_idle(page)
    no_errors(page)


def test_a_reload_or_the_link_again_finds_the_run_and_another_browser_does_not(page, app_url, browser):
    open_app(page, app_url, "/train")
    click(page, "Train")
    before = wait_for_step(page, 20)
    page.reload()
    page.wait_for_selector(".st-key-train-status", timeout=60_000)
    assert step_of(page) >= before, status(page)  # the same run from the first frame, not a new one at step 0
    after = wait_for_step(page, before)
    assert "training" in status(page), status(page)
    wait_for_title(page, "Loss")
    screenshot(page, "reload_reattached", full_page=False)
    link = page.url
    page.close()  # the tab closed; the same link opened again in the same browser
    again = page.context.new_page()
    open_app(again, link)
    assert step_of(again) >= after, status(again)
    other = browser.new_context(viewport=VIEWPORT)  # another visitor, given the same link
    try:
        stranger = other.new_page()
        open_app(stranger, link)
        assert step_of(stranger) == 0 and "idle" in status(stranger), status(stranger)
    finally:
        other.close()
    click(again, "Pause")
    wait_idle(again)
    no_errors(again)


def test_a_run_lost_to_a_server_restart_says_so(browser):
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        with serve_app("streamlit-server-before-restart") as url:
            open_app(page, url, "/train")
            click(page, "Train")
            wait_for_step(page, 5)
            deadline = time.monotonic() + 30  # the page notes in a cookie that this server holds a run
            while not any(c["name"] == "rnnx_runs" for c in context.cookies()) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert any(c["name"] == "rnnx_runs" for c in context.cookies()), context.cookies()
        with serve_app("streamlit-server-after-restart") as url:
            open_app(page, url, "/train")
            warning = page.locator('[data-testid="stAlert"]').filter(has_text="is gone")
            warning.wait_for(timeout=30_000)
            assert "the server restarted" in warning.inner_text()
            assert step_of(page) == 0
            screenshot(page, "run_gone_after_restart", full_page=False)
            page.reload()  # said once: a reload does not repeat it
            page.wait_for_selector(".st-key-train-status", timeout=60_000)
            wait_idle(page)
            assert page.locator('[data-testid="stAlert"]').filter(has_text="is gone").count() == 0
    finally:
        context.close()
