"""The live-chart element's JavaScript on its own (no Streamlit): a static page, plotly.js from the plotly wheel,
frames built by the real chart builders. Checks the in-place recolouring of heatmaps against plotly's own drawing."""
from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from pathlib import Path

import numpy as np
import plotly
import pytest

from explorer import Run, RunConfig, charts
from explorer.ui import live_chart

PAGE = """<html><head><link rel="icon" href="data:,"><style>%s</style></head><body style="width:1200px"><div id=root></div>
<script type=module>
import draw from './live.js';
window.show = (frame) => draw({data: Object.assign({plotly: 'plotly.min.js', step: null}, frame),
                              parentElement: document.getElementById('root'), setStateValue: () => {}});
window.ready = true;
</script></body></html>"""
# the pixels of one chart's heatmap images, and how often plotly itself redrew the chart
PIXELS_JS = """async (key) => {
  const gd = document.querySelector(`.js-plotly-plot[data-chart="${key}"]`);
  const out = [];
  for (const image of gd.querySelectorAll('g.hm image')) {
    const img = new Image();
    img.src = image.getAttribute('xlink:href') || image.getAttribute('href');
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.width; canvas.height = img.height;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    out.push(Array.from(ctx.getImageData(0, 0, img.width, img.height).data));
  }
  return out;
}"""


@pytest.fixture(scope="module")
def static_url(tmp_path_factory):
    site = tmp_path_factory.mktemp("live-chart")
    (site / "live.js").write_text(live_chart.JS)
    (site / "index.html").write_text(PAGE % live_chart.CSS)
    shutil.copy(Path(plotly.__file__).parent / "package_data" / live_chart.PLOTLY_JS, site / live_chart.PLOTLY_JS)
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()


def frame(figures: list[tuple[dict, str]]) -> dict:
    cells, template = [], None
    for fig, name in figures:
        layout = dict(fig["layout"])
        template = layout.pop("template", template)
        cells.append({"key": name, "caption": name, "layout": live_chart._ready(layout), "data": live_chart._ready(fig["data"])})
    return json.loads(json.dumps({"columns": 1, "config": live_chart.CONFIG, "template": template, "charts": cells}))


def renders(page, key: str) -> int:
    return page.evaluate("(key) => (window.__rnnxRenders[key] || {}).renders || 0", key)


def test_heatmaps_recoloured_in_place_match_plotlys_own_drawing(page, static_url):
    run = Run(RunConfig(arch="lstm", task="adding", seq_len=20, hidden_size=12, batch_size=8))
    before = run.trace()
    run.train(30)
    after = run.trace()
    assert not np.allclose(before.hidden, after.hidden)
    build = lambda trace: [(charts.hidden_state_heatmap(trace), "hidden"), (charts.gate_heatmaps(trace), "gates")]
    first, second = frame(build(before)), frame(build(after))
    assert [c["layout"] for c in first["charts"]] == [c["layout"] for c in second["charts"]]

    page.goto(static_url)
    page.wait_for_function("() => window.ready")
    page.evaluate("(f) => show(f)", first)
    page.wait_for_function("() => ['hidden', 'gates'].every((k) => (window.__rnnxRenders || {})[k])")
    old = {key: page.evaluate(PIXELS_JS, key) for key in ("hidden", "gates")}
    afterplots = page.evaluate("() => document.querySelectorAll('.js-plotly-plot').length")
    page.evaluate("(f) => show(f)", second)
    page.wait_for_function("() => ['hidden', 'gates'].every((k) => window.__rnnxRenders[k].renders >= 2)")
    fast = {key: page.evaluate(PIXELS_JS, key) for key in ("hidden", "gates")}
    # hover reads the new values: the calcdata holds them
    hover = page.evaluate("() => document.querySelector('.js-plotly-plot[data-chart=\"hidden\"]').calcdata[0][0].z[3][7]")
    assert hover == pytest.approx(float(after.hidden[0, 0, 0, 7, 3]), abs=1e-6)  # unit 3 (row), t=7 (column)

    # now let plotly draw the same frame itself (a new layout object forces its full redraw)
    page.evaluate("""(f) => { for (const c of f.charts) c.layout.meta = 'full redraw'; show(f); }""", second)
    page.wait_for_function("() => ['hidden', 'gates'].every((k) => window.__rnnxRenders[k].renders >= 3)")
    full = {key: page.evaluate(PIXELS_JS, key) for key in ("hidden", "gates")}
    assert afterplots == 2
    for key in ("hidden", "gates"):
        assert len(fast[key]) == len(full[key]) == (1 if key == "hidden" else 4)
        for ours, plotlys, was in zip(fast[key], full[key], old[key]):
            ours, plotlys, was = np.array(ours), np.array(plotlys), np.array(was)
            assert ours.shape == plotlys.shape
            assert np.abs(ours - plotlys).max() <= 2, key  # rounding of the colour interpolation at most
            assert np.abs(was - plotlys).max() > 20, key  # and the new values did change the picture
    assert not page.console_errors


def test_a_changed_layout_or_a_line_on_autoranged_axes_takes_plotlys_full_redraw(page, static_url):
    run = Run(RunConfig(arch="gru", task="adding", seq_len=12, hidden_size=6, batch_size=8))
    first = frame([(charts.hidden_state_heatmap(run.trace()), "hidden"), (charts.loss_chart(run.history), "loss")])
    run.train(5)
    second = frame([(charts.hidden_state_heatmap(run.trace(), layer=0, example=1), "hidden"), (charts.loss_chart(run.history), "loss")])
    page.goto(static_url)
    page.wait_for_function("() => window.ready")
    page.evaluate("(f) => show(f)", first)
    page.wait_for_function("() => ['hidden', 'loss'].every((k) => (window.__rnnxRenders || {})[k])")
    page.evaluate("""() => { window.__afterplots = 0; for (const gd of document.querySelectorAll('.js-plotly-plot'))
                             gd.on('plotly_afterplot', () => window.__afterplots++); }""")
    second["charts"][0]["layout"]["title"]["text"] += " (example 1)"
    second["charts"][0]["layout"]["meta"] = "a layout that changed beyond its title"
    page.evaluate("(f) => show(f)", second)
    page.wait_for_function("() => window.__afterplots >= 2")  # plotly redrew both itself
    title = page.evaluate("() => window.__rnnxRenders['hidden'].title")
    assert title.endswith("(example 1)")


def test_an_array_inside_a_list_is_drawn_as_cells(page, static_url):
    # step strips pass z=[row]: plotly.js decodes a typed array only as an attribute's whole value
    values = np.linspace(-1, 1, 6)
    strips = charts.step_strips([("h_t", values), ("f", values / 2 + 0.5)], "Hidden state h_t at t=3")
    page.goto(static_url)
    page.wait_for_function("() => window.ready")
    page.evaluate("(f) => show(f)", frame([(strips, "strips")]))
    page.wait_for_function("() => (window.__rnnxRenders || {}).strips")
    rows = page.evaluate("""() => Array.from(document.querySelector('.js-plotly-plot[data-chart="strips"]').calcdata,
                                             (cd) => cd[0].z.map((row) => row.length))""")
    assert rows == [[6], [6]]  # one row of six cells per strip


# every line's vertices and every marker's place, per trace, in pixels
SHAPES_JS = """(key) => {
  const gd = document.querySelector(`.js-plotly-plot[data-chart="${key}"]`);
  return Array.from(gd.querySelectorAll('.scatterlayer g.trace'), (g) => ({
    line: Array.from((g.querySelector('path.js-line')?.getAttribute('d') || '').matchAll(/(-?[\\d.]+),(-?[\\d.]+)/g),
                     (m) => [Number(m[1]), Number(m[2])]),
    points: Array.from(g.querySelectorAll('g.points path.point'),
                       (p) => (p.getAttribute('transform') || '').match(/-?[\\d.]+/g).map(Number)),
  }));
}"""


def test_lines_and_markers_moved_in_place_lie_where_plotly_draws_them(page, static_url):
    """Loss (linear axes), Gradient norm over time (a log axis) and Prediction (lines and markers): a frame
    that keeps the layout is drawn into plotly's own shapes, and lands where plotly's full redraw puts it."""
    run = Run(RunConfig(arch="lstm", task="adding", seq_len=16, hidden_size=8, batch_size=8))
    run.train(30)
    before, early = run.trace(), run.history.copy()
    run.train(40)
    after = run.trace()
    build = lambda trace, history: [(charts.steady_axes(charts.loss_chart(history)), "loss"),
                                    (charts.steady_axes(charts.grad_norm_chart(trace)), "grads"),
                                    (charts.steady_axes(charts.prediction_chart(trace)), "prediction")]
    first, second = frame(build(before, early)), frame(build(after, run.history))
    for old, new in zip(first["charts"], second["charts"]):
        title = old["layout"]["title"]["text"]
        old["layout"] = json.loads(json.dumps(new["layout"]))  # the same steady axes, as between two changes of their ranges
        old["layout"]["title"]["text"] = title  # "Gradient norm over time (step 30)" -> "(step 70)": rewritten in place
    assert first["charts"][1]["layout"]["title"]["text"] != second["charts"][1]["layout"]["title"]["text"]
    keys = ("loss", "grads", "prediction")

    page.goto(static_url)
    page.wait_for_function("() => window.ready")
    page.evaluate("(f) => show(f)", first)
    page.wait_for_function("(keys) => keys.every((k) => (window.__rnnxRenders || {})[k])", arg=list(keys))
    page.evaluate("""() => { window.__afterplots = 0; for (const gd of document.querySelectorAll('.js-plotly-plot'))
                             gd.on('plotly_afterplot', () => window.__afterplots++); }""")
    page.evaluate("(f) => show(f)", second)
    page.wait_for_function("(keys) => keys.every((k) => window.__rnnxRenders[k].renders >= 2)", arg=list(keys))
    assert page.evaluate("() => window.__afterplots") == 0  # moved in place: plotly redrew nothing
    ours = {key: page.evaluate(SHAPES_JS, key) for key in keys}
    titles = page.evaluate("() => Array.from(document.querySelectorAll('.js-plotly-plot'), (gd) => gd.querySelector('.gtitle').textContent)")
    assert titles == [c["layout"]["title"]["text"] for c in second["charts"]]

    page.evaluate("""(f) => { for (const c of f.charts) c.layout.meta = 'full redraw'; show(f); }""", second)
    page.wait_for_function("(keys) => keys.every((k) => window.__rnnxRenders[k].renders >= 3)", arg=list(keys))
    plotlys = {key: page.evaluate(SHAPES_JS, key) for key in keys}
    for key in keys:
        assert len(ours[key]) == len(plotlys[key]) > 0, key
        for mine, theirs in zip(ours[key], plotlys[key]):
            assert len(mine["points"]) == len(theirs["points"])
            for a, b in zip(mine["points"], theirs["points"]):
                assert np.allclose(a, b, atol=0.5), key
            if theirs["line"]:
                # plotly drops vertices on a straight run; each one it keeps is one of ours
                mine_xy = np.array(mine["line"])
                for vertex in theirs["line"]:
                    assert np.abs(mine_xy - vertex).sum(axis=1).min() <= 1.0, key
    # the frame before moved the picture: the loss line grew from two points
    assert len(ours["loss"][0]["line"]) > 2
    assert not page.console_errors


BARS_JS = """(key) => Array.from(document.querySelectorAll(`.js-plotly-plot[data-chart="${key}"] .barlayer g.point > path`),
  (p) => (p.getAttribute('d').match(/-?[\\d.]+/g) || []).map(Number))"""


def test_bars_moved_in_place_stand_where_plotly_draws_them(page, static_url):
    """A classifier's Prediction (bars of class probabilities): new heights in plotly's own bars, the predicted
    mark moved to another class, and a two-line title whose verdict changed rewritten in place."""
    run = Run(RunConfig(arch="gru", task="recall", seq_len=12, hidden_size=8, batch_size=8))
    before = charts.steady_axes(charts.prediction_chart(run.trace()))
    run.train(60)
    after = charts.steady_axes(charts.prediction_chart(run.trace()))
    first, second = frame([(before, "bars")]), frame([(after, "bars")])
    first["charts"][0]["data"][0]["marker"] = {"color": ["#000000"] * 4}  # the colours move too
    first["charts"][0]["data"][2]["x"] = [(second["charts"][0]["data"][2]["x"][0] + 1) % 4]  # and the predicted mark
    title = second["charts"][0]["layout"]["title"]["text"]
    head, said = title.split(" <br>")  # "Prediction at t=11:", the verdict on a line of its own at every verdict
    first["charts"][0]["layout"] = json.loads(json.dumps(second["charts"][0]["layout"]))
    first["charts"][0]["layout"]["title"]["text"] = f"{head} <br>" + ("right, barely above chance" if said == "wrong" else "wrong")
    page.goto(static_url)
    page.wait_for_function("() => window.ready")
    page.evaluate("(f) => show(f)", first)
    page.wait_for_function("() => (window.__rnnxRenders || {}).bars")
    was = page.evaluate(BARS_JS, "bars")
    page.evaluate("""() => { window.__afterplots = 0;
                             document.querySelector('.js-plotly-plot').on('plotly_afterplot', () => window.__afterplots++); }""")
    page.evaluate("(f) => show(f)", second)
    page.wait_for_function("() => window.__rnnxRenders.bars.renders >= 2")
    assert page.evaluate("() => window.__afterplots") == 0
    ours = page.evaluate(BARS_JS, "bars")
    fills = page.evaluate("() => Array.from(document.querySelectorAll('.barlayer g.point > path'), (p) => p.style.fill)")
    assert "rgb(0, 0, 0)" not in fills and len(set(fills)) >= 2  # the predicted class stands out again
    marks = page.evaluate(SHAPES_JS, "bars")
    lines = page.evaluate("() => Array.from(document.querySelectorAll('.gtitle tspan.line'), (t) => t.textContent)")
    assert [line.strip() for line in lines] == [head, said]
    page.evaluate("""(f) => { f.charts[0].layout.meta = 'full redraw'; show(f); }""", second)
    page.wait_for_function("() => window.__rnnxRenders.bars.renders >= 3")
    plotlys = page.evaluate(BARS_JS, "bars")
    np.testing.assert_allclose([m["points"] for m in marks], [m["points"] for m in page.evaluate(SHAPES_JS, "bars")],
                               atol=0.5)  # the target and predicted marks, where plotly puts them
    assert len(ours) == len(plotlys) == 4
    np.testing.assert_allclose(ours, plotlys, atol=1.0)  # plotly rounds bar edges to whole pixels
    assert np.abs(np.array(was) - np.array(plotlys)).max() > 2  # and the heights did change
    assert not page.console_errors
