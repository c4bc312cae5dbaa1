"""The live-chart element: a Streamlit component (v2, no iframe) that draws figure dicts with plotly.js.

Not the figures (explorer/charts builds them). Each page run sends the newest figure dicts; arrays go
as plotly's typed-array spec (base64) and the shared template once, so a frame stays small. Charts
scrolled out of view skip frames and draw the newest one when they come into view. In the browser Plotly.react updates each chart in place: nothing fades or
re-lays out. plotly.js is the plotly wheel's own plotly.min.js, served by Streamlit's component route.
Under AppTest (no browser) the same figures are drawn as static st.plotly_chart charts.
"""
from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import plotly
import plotly.graph_objects as go
import streamlit as st

from explorer import charts

NAME = "rnnx.live_chart"
PLOTLY_JS = "plotly.min.js"

JS = r"""
function loadPlotly(url) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__rnnxPlotly) {
    window.__rnnxPlotly = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = url; s.async = true;
      s.onload = () => resolve(window.Plotly); s.onerror = reject;
      document.head.appendChild(s);
    });
  }
  return window.__rnnxPlotly;
}
function counted(gd) {
  // per-chart renders, counted from plotly's own event: the benchmark and browser tests read them
  if (gd.__rnnxCounted) return;
  gd.__rnnxCounted = true;
  gd.on('plotly_afterplot', () => {
    const title = ((gd.layout && gd.layout.title && gd.layout.title.text) || '').replace(/<[^>]*>/g, '');
    const all = window.__rnnxRenders || (window.__rnnxRenders = {});
    const key = gd.dataset.chart;
    const seen = ((all[key] || {}).titles || []).concat([title]).slice(-500);
    all[key] = {title: title, renders: ((all[key] || {}).renders || 0) + 1, at: performance.now(), titles: seen};
  });
}
function draw(Plotly, gd, frame) {
  const t0 = performance.now();
  const done = Plotly.react(gd, frame.data, frame.layout, frame.config);
  const d = window.__rnnxDraw || (window.__rnnxDraw = {ms: 0, n: 0});
  d.ms += performance.now() - t0; d.n += 1;
  return done.then(() => counted(gd));
}
function queue() {
  return window.__rnnxQueue || (window.__rnnxQueue = {frames: new Map(), busy: false, acks: []});
}
function enqueue(Plotly, gd, frame, relayout) {
  // a chart out of view keeps its newest frame for when it comes into view, unless its layout changed
  if (gd.__rnnxVisible === false && !relayout) { gd.__rnnxPending = frame; return; }
  gd.__rnnxPending = null;
  const q = queue();
  q.frames.delete(gd);
  q.frames.set(gd, frame);  // the newest frame wins: frames that arrive while the browser is busy are skipped
  pump(Plotly);
}
function pump(Plotly) {
  // one chart per task, so a click (Pause) is handled between two charts, never behind a queue of frames
  const q = queue();
  if (q.busy) return;
  const next = q.frames.entries().next();
  if (next.done) { const acks = q.acks; q.acks = []; acks.forEach((ack) => ack()); return; }
  const [gd, frame] = next.value;
  q.frames.delete(gd);
  q.busy = true;
  let done;
  try { done = draw(Plotly, gd, frame); } catch (error) { done = Promise.reject(error); }
  done.catch((error) => console.warn('live chart', error))
      .finally(() => { q.busy = false; setTimeout(() => pump(Plotly), 0); });
}
function watch(Plotly, gd) {
  // charts scrolled out of view skip their frames: the browser's time goes to what can be seen
  if (!window.__rnnxSeen) {
    window.__rnnxSeen = new IntersectionObserver((entries) => {
      for (const e of entries) {
        e.target.__rnnxVisible = e.isIntersecting;
        if (e.isIntersecting && e.target.__rnnxPending) enqueue(window.Plotly, e.target, e.target.__rnnxPending, true);
      }
    }, {rootMargin: '100px'});
  }
  window.__rnnxSeen.observe(gd);
}
export default function (component) {
  const { data, parentElement } = component;
  if (!data) return;
  let root = parentElement.querySelector('.rnnx-live');
  if (!root) {
    root = document.createElement('div');
    root.className = 'rnnx-live';
    parentElement.appendChild(root);
  }
  root.style.gridTemplateColumns = `repeat(${data.columns}, minmax(0, 1fr))`;
  const templateText = JSON.stringify(data.template);
  if (window.__rnnxTemplateText !== templateText) {
    window.__rnnxTemplateText = templateText;
    window.__rnnxTemplate = data.template;
  }
  const template = window.__rnnxTemplate;
  loadPlotly(data.plotly).then((Plotly) => {
    const keep = new Set(data.charts.map((c) => c.key));
    for (const cell of Array.from(root.children)) {
      if (!keep.has(cell.dataset.chart)) { queue().frames.delete(cell.firstChild); Plotly.purge(cell.firstChild); cell.remove(); }
    }
    data.charts.forEach((c, i) => {
      let cell = root.querySelector(`[data-chart="${c.key}"]`);
      if (!cell) {
        cell = document.createElement('div');
        cell.dataset.chart = c.key;
        cell.className = 'rnnx-cell';
        const gd = document.createElement('div');
        gd.dataset.chart = c.key;
        const caption = document.createElement('div');
        caption.className = 'rnnx-caption';
        cell.append(gd, caption);
        watch(Plotly, gd);
      }
      if (root.children[i] !== cell) root.insertBefore(cell, root.children[i] || null);
      cell.lastChild.textContent = c.caption;
      const gd = cell.firstChild;
      // the same template object every frame, and the previous layout object when nothing in it changed:
      // Plotly.react then redraws the traces only, with no relayout
      const text = JSON.stringify(c.layout);
      const same = text === gd.__rnnxLayoutText;
      if (!same) gd.__rnnxLayout = Object.assign({template: template}, c.layout);
      const layout = gd.__rnnxLayout;
      gd.__rnnxLayoutText = text;
      enqueue(Plotly, gd, {data: c.data, layout: layout, config: data.config}, !same);
    });
    // tell the page which step the browser has drawn (a slow Pace waits for it before the next step)
    if (data.step !== null && data.step !== undefined) {
      queue().acks.push(() => component.setStateValue('drawn', data.step));
      pump(Plotly);
    }
  });
}
"""

CSS = """
.rnnx-live { display: grid; gap: 1rem; width: 100%; }
.rnnx-cell { min-width: 0; }
.rnnx-caption { font-size: 0.875rem; color: rgba(49, 51, 63, 0.6); margin: 0.25rem 0 0.75rem; }
"""
CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"scale": 2}}

_component = None


def _mount():
    """Register once per process: the component, and plotly's package data as its asset folder."""
    global _component
    if _component is None:
        from streamlit.components.v2.get_bidi_component_manager import get_bidi_component_manager
        from streamlit.components.v2.manifest_scanner import ComponentConfig, ComponentManifest

        manager = get_bidi_component_manager()
        if manager.get_component_asset_root(NAME) is None:
            package = Path(plotly.__file__).parent
            manifest = ComponentManifest(name="rnnx", version="1",
                                         components=[ComponentConfig(name="live_chart", asset_dir="package_data")])
            manager.register_from_manifest(manifest, package)
        _component = st.components.v2.component(NAME, js=JS, css=CSS, isolate_styles=False)
    return _component


def in_browser() -> bool:
    """False under AppTest, whose runtime is a stand-in with no browser to run the component."""
    from streamlit.runtime import Runtime

    return type(Runtime._instance) is Runtime  # noqa: SLF001 - AppTest installs a MagicMock there


def show(figures: list[tuple[dict, str]], key: str, *, columns: int = 2, step: int | None = None) -> int | None:
    """Draw (figure dict, caption name) pairs in a grid, in place of the previous frame's under `key`.

    `step`: the training step these figures show; returns the last step the browser reported drawn (None
    under AppTest, or before the first report)."""
    if not in_browser():
        for start in range(0, len(figures), columns):
            for col, (fig, name) in zip(st.columns(columns), figures[start:start + columns]):
                with col:
                    st.plotly_chart(go.Figure(fig), key=f"{key}-{name}", config=CONFIG)
                    st.caption(charts.CAPTIONS[name])
        return None
    cells, template = [], None
    for fig, name in figures:
        layout = dict(fig["layout"])
        template = layout.pop("template", template)  # the same for every chart: sent once
        cells.append({"key": f"{key}-{name}", "caption": charts.CAPTIONS[name], "layout": _ready(layout),
                      "data": _ready(fig["data"])})
    base = st.get_option("server.baseUrlPath").strip("/")
    url = "/" + (base + "/" if base else "") + f"_stcore/bidi-components/{NAME}/{PLOTLY_JS}"
    result = _mount()(key=key, data={"plotly": url, "columns": columns, "config": CONFIG, "template": template,
                                     "charts": cells, "step": step}, on_drawn_change=_ignore)
    return getattr(result, "drawn", None)


def _ignore() -> None:
    """The drawn step is read where the element is drawn; its change needs no callback of its own."""


def _ready(value):
    """JSON-ready: numeric arrays as plotly's base64 typed arrays, everything else as plain lists."""
    if isinstance(value, dict):
        return {k: _ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fiu" and value.size and value.ndim <= 2:
            kind = "f4" if value.dtype.kind == "f" else "i4"
            array = np.ascontiguousarray(value, dtype=kind)
            return {"dtype": kind, "bdata": base64.b64encode(array.tobytes()).decode(),
                    "shape": ", ".join(map(str, array.shape))}
        return _ready(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    return value
