"""Lessons in a real browser: side-by-side runs on one scale, and lecture mode on a 1280x720 projector."""
import re
import time

import pytest

from .conftest import open_app, screenshot, wait_idle

pytestmark = pytest.mark.browser

DIVERGED = re.compile("Diverged at step")  # the run's own message (the verdict's note says "diverged" too)
TALL = {"width": 1400, "height": 3200}  # every chart on screen: charts out of view skip frames

# What plotly.js drew for one chart cell: its axis ranges, heatmap colour ranges and the cell's place on the page.
DRAWN_JS = """(key) => {
  const gd = document.querySelector(`.js-plotly-plot[data-chart="${key}"]`);
  if (!gd || !gd._fullLayout) return null;
  const L = gd._fullLayout, box = gd.getBoundingClientRect();
  const axes = {};
  for (const k of Object.keys(L)) if (/^[xy]axis\\d*$/.test(k) && L[k].range) axes[k] = L[k].range.map(Number);
  return {axes, colours: gd._fullData.filter(d => d.type === 'heatmap').map(d => [d.zmin, d.zmax]),
          top: box.top + window.scrollY, height: box.height,
          plotTop: L._size.t, plotHeight: L._size.h};
}"""


def drawn(page, key: str) -> dict:
    return page.evaluate(DRAWN_JS, key)


def wait_drawn(page, keys: list[str], timeout_ms: float = 120_000) -> None:
    """Until plotly has drawn each chart once (a chart with no data, "An RNN has no gates", draws only once)."""
    page.wait_for_function("(keys) => keys.every(k => (document.querySelector(`.js-plotly-plot[data-chart=\"${k}\"]`)"
                           " || {})._fullLayout)", arg=keys, timeout=timeout_ms)


def test_a_lessons_two_runs_share_axes_colours_and_rows(page, app_url):
    # RNN against LSTM: the RNN's gradient falls to ~1e-13 at t=0, the LSTM's stays near 1e-2; one axis shows both
    page.set_viewport_size(TALL)
    open_app(page, app_url, "/train?preset=vanishing_gradients")
    charts = ["loss_chart", "param_grad_chart", "grad_norm_chart", "gradient_flow_heatmap", "hidden_state_heatmap",
              "gate_heatmaps", "cell_state_heatmap", "prediction_chart"]
    wait_drawn(page, [f"run{i}-{c}" for i in (0, 1) for c in charts])
    time.sleep(3)  # a few frames on
    page.get_by_role("button", name="Pause", exact=True).click()
    wait_idle(page)
    time.sleep(1)
    screenshot(page, "lesson_side_by_side_shared")
    rows = {c: (drawn(page, f"run0-{c}"), drawn(page, f"run1-{c}")) for c in charts}
    rnn, lstm = rows["grad_norm_chart"]
    assert rnn["axes"]["yaxis"] == pytest.approx(lstm["axes"]["yaxis"]), (rnn["axes"], lstm["axes"])
    assert rnn["axes"]["yaxis"][0] < -10  # the RNN's vanished gradient is inside the shared range
    for c in ("loss_chart", "param_grad_chart"):
        a, b = rows[c]
        for axis in ("xaxis", "yaxis"):
            assert a["axes"][axis] == pytest.approx(b["axes"][axis]), (c, axis, a["axes"], b["axes"])
    a, b = rows["gradient_flow_heatmap"]
    assert a["colours"] == b["colours"]
    for c, (a, b) in rows.items():  # the columns line up chart by chart, plot area by plot area
        assert abs(a["top"] - b["top"]) < 2 and abs(a["height"] - b["height"]) < 2, (c, a, b)
        assert a["plotTop"] == b["plotTop"] and a["plotHeight"] == b["plotHeight"], (c, a, b)


def test_a_divergence_is_said_once_and_the_columns_stay_aligned(page, app_url):
    page.set_viewport_size(TALL)
    open_app(page, app_url, "/train?preset=exploding_gradients")
    page.get_by_text(DIVERGED).first.wait_for(timeout=120_000)
    page.get_by_role("button", name="Pause", exact=True).click()
    wait_idle(page)
    wait_drawn(page, ["run0-loss_chart", "run1-loss_chart", "run0-prediction_chart", "run1-prediction_chart"])
    screenshot(page, "lesson_divergence_once")
    assert page.get_by_text(DIVERGED).count() == 1
    for c in ("loss_chart", "prediction_chart"):
        a, b = drawn(page, f"run0-{c}"), drawn(page, f"run1-{c}")
        assert abs(a["top"] - b["top"]) < 2, (c, a["top"], b["top"])


PROJECTOR = {"width": 1280, "height": 720}
# Every text plotly drew in one chart that is cut off by the chart's edges or smaller than 18 px.
TEXT_CHECK_JS = """(key) => {
  const gd = document.querySelector(`.js-plotly-plot[data-chart="${key}"]`);
  const box = gd.getBoundingClientRect();
  const bad = [];
  for (const el of gd.querySelectorAll('svg text')) {
    const text = el.textContent.trim();
    if (!text || el.closest('.hoverlayer')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    const clipped = r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1;
    if (clipped || size < 18) bad.push({text, size, left: Math.round(r.left - box.left), right: Math.round(box.right - r.right),
                                        top: Math.round(r.top - box.top), bottom: Math.round(box.bottom - r.bottom)});
  }
  const header = document.querySelector('[data-testid="stHeader"]');
  return {bad, height: box.height, top: box.top, screen: window.innerHeight,
          header: header ? header.getBoundingClientRect().bottom : 0,
          title: (gd.querySelector('.gtitle') || {}).textContent};
}"""


# The same, measured right after scrolling the chart's bottom to the screen's bottom (two frames later, in one call:
# a rerun after Pause can move the page between a scroll and a later measurement).
SCROLLED_CHECK_JS = """async (key) => {
  document.querySelector(`.js-plotly-plot[data-chart="${key}"]`).scrollIntoView({block: 'end'});
  for (let i = 0; i < 2; i++) await new Promise(r => requestAnimationFrame(r));
  return (""" + TEXT_CHECK_JS + """)(key);
}"""


def settled(page, key: str, tries: int = 10) -> dict:
    """The scrolled check once two looks half a second apart agree: the page has stopped moving (a rerun
    after Pause can still swap elements above the chart)."""
    seen = page.evaluate(SCROLLED_CHECK_JS, key)
    for _ in range(tries):
        time.sleep(0.5)
        again = page.evaluate(SCROLLED_CHECK_JS, key)
        if again["top"] == seen["top"] and again["height"] == seen["height"]:
            return again
        seen = again
    return seen


@pytest.mark.parametrize("preset, focus", [("lstm_memory", "gate_heatmaps"), ("vanishing_gradients", "grad_norm_chart"),
                                           ("sentiment", "hidden_state_heatmap"),
                                           ("transformer_memory", "attention_heatmaps")])
def test_lecture_mode_fits_the_lessons_chart_on_one_projector_screen(page, app_url, preset, focus):
    page.set_viewport_size(PROJECTOR)
    open_app(page, app_url, f"/train?preset={preset}&lecture=1")
    runs = 1 if preset == "sentiment" else 2
    keys = [f"run{i}-{focus}" for i in range(runs)]
    if preset in ("transformer_memory", "lstm_memory"):  # the other run lacks the chart: it leads, full width
        keys = [f"lead-{focus}"]
    wait_drawn(page, keys)
    page.get_by_role("button", name="Pause", exact=True).click()
    wait_idle(page)
    # scrolled as far as it goes while its bottom is on screen: the top must clear the page's sticky header
    page.evaluate("(key) => document.querySelector(`.js-plotly-plot[data-chart=\"${key}\"]`)"
                  ".scrollIntoView({block: 'end'})", keys[0])
    time.sleep(1.5)  # in view: the newest frame is drawn
    screenshot(page, f"lecture_{preset}", full_page=False)
    for key in keys:
        seen = settled(page, key)
        assert seen["height"] <= seen["screen"], (key, seen["height"])  # the whole chart on one screen
        assert seen["top"] >= seen["header"] - 1 and seen["top"] + seen["height"] <= seen["screen"] + 1, (key, seen)
        assert not seen["bad"], (key, seen["title"], str(seen["bad"]))  # every text whole and >= 18 px
    first = page.evaluate("() => document.querySelector('.js-plotly-plot').dataset.chart")
    assert first == keys[0]  # the lesson's chart comes first
    # every other chart's title is whole too, even where the chart is narrow
    for key in page.evaluate("() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(g => g.dataset.chart)"):
        page.evaluate("(key) => document.querySelector(`.js-plotly-plot[data-chart=\"${key}\"]`).scrollIntoView()", key)
        time.sleep(0.3)
        seen = page.evaluate(TEXT_CHECK_JS, key)
        assert not [b for b in seen["bad"] if b["text"] in (seen["title"] or "")], (key, str(seen["bad"]))


# Chart keys whose legend box overlaps an x axis title, and by how many px.
OVERLAP_JS = """() => {
  const out = [];
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const legend = gd.querySelector('.legend .bg');
    if (!legend) continue;
    const l = legend.getBoundingClientRect();
    for (const title of gd.querySelectorAll('.g-xtitle text, .xtitle')) {
      const t = title.getBoundingClientRect();
      const dx = Math.min(l.right, t.right) - Math.max(l.left, t.left), dy = Math.min(l.bottom, t.bottom) - Math.max(l.top, t.top);
      if (t.width > 0 && dx > 0 && dy > 0) out.push({chart: gd.dataset.chart, title: title.textContent, dy: Math.round(dy)});
    }
  }
  return out;
}"""


def test_words_on_the_time_axis_leave_the_legend_below_the_axis_title(page, app_url):
    # the sentiment lesson's tokens stand upright under the gradient chart: its legend once covered the axis title
    page.set_viewport_size(TALL)
    open_app(page, app_url, "/train?preset=sentiment")
    wait_drawn(page, ["run0-grad_norm_chart"])
    page.get_by_role("button", name="Pause", exact=True).click()
    wait_idle(page)
    wait_drawn(page, ["run0-grad_norm_chart"])
    time.sleep(1)
    screenshot(page, "sentiment_lesson")
    assert page.evaluate(OVERLAP_JS) == []
