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
    page.wait_for_function("(keys) => keys.every(k => (window.__rnnxRenders || {})[k])", arg=keys, timeout=timeout_ms)


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
    assert a["colours"] == pytest.approx(b["colours"])
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
