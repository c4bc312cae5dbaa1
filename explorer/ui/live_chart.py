"""The live-chart element: a Streamlit component (v2, no iframe) that draws figure dicts with plotly.js.

Not the figures (explorer/charts builds them). Each page run sends the newest figure dicts; arrays go
as plotly's typed-array spec (base64) and the shared template once, so a frame stays small. Charts
scrolled out of view skip frames and draw the newest one when they come into view. In the browser Plotly.react updates each chart in place: nothing fades or
re-lays out. plotly.js is the plotly wheel's own plotly.min.js, served by Streamlit's component route.
Under AppTest (no browser) the same figures are drawn as static st.plotly_chart charts.
"""
from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import numpy as np
import plotly
import plotly.graph_objects as go
import streamlit as st

from explorer import charts
from explorer.ui import feed

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
function record(gd) {
  // per-chart renders: the benchmark and browser tests read them
  const title = ((gd.layout && gd.layout.title && gd.layout.title.text) || '').replace(/<[^>]*>/g, '');
  const all = window.__rnnxRenders || (window.__rnnxRenders = {});
  const key = gd.dataset.chart;
  const seen = ((all[key] || {}).titles || []).concat([title]).slice(-500);
  all[key] = {title: title, renders: ((all[key] || {}).renders || 0) + 1, at: performance.now(), titles: seen};
}
function counted(gd) {
  if (gd.__rnnxCounted) return;
  gd.__rnnxCounted = true;
  gd.on('plotly_afterplot', () => record(gd));  // plotly's own event after every full redraw
}
function draw(Plotly, gd, frame) {
  const t0 = performance.now();
  let done;
  if (recolour(gd, frame)) {
    record(gd);
    done = Promise.resolve();
  } else {
    // what a later frame must keep to be recoloured instead: only charts made of heatmaps can be
    const heatmaps = frame.data.length > 0 && frame.data.every((t) => t.type === 'heatmap');
    const shown = heatmaps ? {layout: frame.layout, config: JSON.stringify(frame.config), rests: frame.data.map(rest)} : null;
    done = Plotly.react(gd, frame.data, frame.layout, frame.config).then(() => {  // it adds uids to the traces
      if (!gd.__rnnxCounted) record(gd);  // the first drawing: later ones are counted from plotly's event
      counted(gd);
      gd.__rnnxShown = shown;
    });
  }
  const d = window.__rnnxDraw || (window.__rnnxDraw = {ms: 0, n: 0});
  d.ms += performance.now() - t0; d.n += 1;
  return done;
}
// -- heatmaps whose values alone changed: recoloured in place ------------------------------------------
// A full Plotly.react redraws axes, titles and colourbars (about 30 ms a chart on a 2-core machine). When a
// frame keeps the layout and every trace but z (Hidden state, Gates, Cell state while training), the new
// values are painted into the heatmap images the way plotly's own "fast" heatmap drawing does (one pixel
// a cell, scaled up pixelated), with plotly's colour mapping, and hover reads the new values.
function rest(trace) {
  const {z, ...others} = trace;
  return JSON.stringify(others);
}
function recolour(gd, frame) {
  const shown = gd.__rnnxShown;
  if (!shown || shown.layout !== frame.layout || shown.config !== JSON.stringify(frame.config)) return false;
  if (frame.data.length !== shown.rests.length) return false;
  if (frame.data.some((t, i) => rest(t) !== shown.rests[i])) return false;
  const groups = Array.from(gd.querySelectorAll('g.hm'));
  if (groups.length !== frame.data.length) return false;
  const plans = [];
  for (const g of groups) {
    const cd = g.__data__ && g.__data__[0];
    const image = g.querySelector('image');
    if (!cd || !image || !/pixelated/.test(image.getAttribute('style') || '') || cd.trace.zauto !== false) return false;
    const z = values(frame.data[cd.trace.index].z);
    if (!z || z.rows !== cd.z.length || z.cols !== cd.z[0].length) return false;
    plans.push([cd, image, z]);
  }
  for (const [cd, image, z] of plans) {
    paint(gd, cd, image, z);
    gd.data[cd.trace.index].z = frame.data[cd.trace.index].z;  // what a PNG export or the next redraw reads
  }
  return true;
}
function values(spec) {
  // a 2-d array as sent (plotly's typed-array spec); lists take the full redraw
  if (!spec || spec.bdata === undefined) return null;
  const shape = String(spec.shape).split(',').map(Number);
  const kinds = {f4: Float32Array, i4: Int32Array};
  if (shape.length !== 2 || !kinds[spec.dtype]) return null;
  const text = atob(spec.bdata);
  const bytes = new Uint8Array(text.length);
  for (let k = 0; k < text.length; k++) bytes[k] = text.charCodeAt(k);
  return {values: new kinds[spec.dtype](bytes.buffer), rows: shape[0], cols: shape[1]};
}
function rgba(colour) {
  // any CSS colour as [r, g, b, a], read back from a canvas (plotly's tinycolor gives the same)
  const cache = window.__rnnxColours || (window.__rnnxColours = new Map());
  if (!cache.has(colour)) {
    const ctx = window.__rnnxCtx || (window.__rnnxCtx = document.createElement('canvas').getContext('2d'));
    ctx.fillStyle = '#000';
    ctx.fillStyle = colour;
    const s = ctx.fillStyle;
    cache.set(colour, s[0] === '#'
      ? [parseInt(s.slice(1, 3), 16), parseInt(s.slice(3, 5), 16), parseInt(s.slice(5, 7), 16), 1]
      : s.slice(s.indexOf('(') + 1, -1).split(',').map(Number));
  }
  return cache.get(colour);
}
function colourScale(trace) {
  // plotly's makeColorScaleFunc: stops at zmin + position * (zmax - zmin), linear in RGBA, clamped
  const scale = trace.reversescale ? trace.colorscale.map(([p, c]) => [1 - p, c]).reverse() : trace.colorscale;
  const at = scale.map(([p]) => trace.zmin + p * (trace.zmax - trace.zmin));
  const colours = scale.map(([, c]) => rgba(c));
  const last = at.length - 1;
  return (v) => {
    if (v <= at[0]) return colours[0];
    if (v >= at[last]) return colours[last];
    let k = 1;
    while (k < last && at[k] <= v) k++;
    const t = (v - at[k - 1]) / (at[k] - at[k - 1]), a = colours[k - 1], b = colours[k];
    return [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]), a[2] + t * (b[2] - a[2]), a[3] + t * (b[3] - a[3])];
  };
}
function paint(gd, cd, image, z) {
  const trace = cd.trace, colour = colourScale(trace);
  const plot = gd._fullLayout._plots[trace.xaxis + trace.yaxis];
  // plotly's orientation: the image's first column is the leftmost brick, its first row the topmost
  const xrev = plot.xaxis.c2p(cd.x[cd.x.length - 1]) < plot.xaxis.c2p(cd.x[0]);
  const yrev = plot.yaxis.c2p(cd.y[cd.y.length - 1]) < plot.yaxis.c2p(cd.y[0]);
  const {values: v, rows: m, cols: n} = z;
  const canvas = document.createElement('canvas');
  canvas.width = n; canvas.height = m;
  const ctx = canvas.getContext('2d');
  const pixels = ctx.createImageData(n, m);
  const px = pixels.data, rows = new Array(m);
  for (let j = 0; j < m; j++) {
    rows[j] = Array.from(v.subarray(j * n, (j + 1) * n), (x) => (x === x ? x : undefined));
    const y = yrev ? m - 1 - j : j;
    for (let i = 0; i < n; i++) {
      const value = v[j * n + i], k = (y * n + (xrev ? n - 1 - i : i)) * 4;
      if (value !== value) { px[k + 3] = 0; continue; }  // NaN: a gap, as plotly draws it
      const c = colour(value);
      px[k] = Math.round(c[0]); px[k + 1] = Math.round(c[1]); px[k + 2] = Math.round(c[2]); px[k + 3] = Math.round(c[3] * 255);
    }
  }
  ctx.putImageData(pixels, 0, 0);
  image.setAttributeNS('http://www.w3.org/1999/xlink', 'xlink:href', canvas.toDataURL('image/png'));
  cd.z = rows;  // hover reads the values from the calcdata
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
function apply(Plotly, root, charts) {
  // one frame: a cell per chart, in order; cells no longer named go, with their plots
  const keep = new Set(charts.map((c) => c.key));
  for (const cell of Array.from(root.children)) {
    if (!keep.has(cell.dataset.chart)) { queue().frames.delete(cell.firstChild); Plotly.purge(cell.firstChild); cell.remove(); }
  }
  charts.forEach((c, i) => {
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
    if (!same) gd.__rnnxLayout = Object.assign({template: window.__rnnxTemplate}, c.layout);
    const layout = gd.__rnnxLayout;
    gd.__rnnxLayoutText = text;
    enqueue(Plotly, gd, {data: c.data, layout: layout, config: root.__rnnxConfig}, !same);
  });
}
function setTemplate(template) {
  const text = JSON.stringify(template);
  if (window.__rnnxTemplateText !== text) {
    window.__rnnxTemplateText = text;
    window.__rnnxTemplate = template;
  }
}
function drawn(Plotly) {
  // resolves when every queued chart frame has been drawn
  return new Promise((resolve) => { queue().acks.push(resolve); pump(Plotly); });
}
const FEED_EVERY_MS = 150;  // at most about seven frames a second from the feed, the trainer's publishing pace
const FEED_RETRY_MS = 40;
async function follow(Plotly, root, url) {
  // while the run trains: fetch the newest frame, draw it, wait out the rest of FEED_EVERY_MS, again.
  // A frame is asked for only when the last one is drawn, so a slow browser gets fewer, never late ones.
  if (root.__rnnxFeed === url) return;
  root.__rnnxFeed = url;
  let since = -1;
  const following = () => root.__rnnxFeed === url && root.isConnected;
  while (following()) {
    const t0 = performance.now();
    let response = null;
    try { response = await fetch(`${url}?since=${since}`, {cache: 'no-store', credentials: 'same-origin'}); }
    catch (error) { console.warn('live feed', error); }
    if (!following()) return;
    if (response && response.status === 200) {
      const frame = await response.json();
      if (!following()) return;  // the page has moved on (Pause): its own frame is the last word
      if (frame.stopped) break;  // the run stopped training: the page reruns and draws its last frame
      since = frame.version;
      if (frame.template) setTemplate(frame.template);
      apply(Plotly, root, frame.charts);
      await drawn(Plotly);
      window.__rnnxFeedFrames = (window.__rnnxFeedFrames || 0) + 1;
    } else if (response && response.status !== 204) {
      break;  // refused (400): nothing to follow
    }
    // nothing newer yet (204): ask again soon; the network failed: in a second
    const every = !response ? 1000 : response.status === 204 ? FEED_RETRY_MS : FEED_EVERY_MS;
    const wait = every - (performance.now() - t0);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  if (root.__rnnxFeed === url) root.__rnnxFeed = null;
}
export default function (component) {
  const { data, parentElement } = component;
  if (!data) return;
  window.__rnnxPageFrames = (window.__rnnxPageFrames || 0) + (data.charts ? 1 : 0);  // frames sent by a page run
  let root = parentElement.querySelector('.rnnx-live');
  if (!root) {
    root = document.createElement('div');
    root.className = 'rnnx-live';
    parentElement.appendChild(root);
  }
  root.style.gridTemplateColumns = `repeat(${data.columns}, minmax(0, 1fr))`;
  root.__rnnxConfig = data.config;
  if (!data.feed) root.__rnnxFeed = null;  // a frame from the page: any feed stops at once
  if (data.template) setTemplate(data.template);
  loadPlotly(data.plotly).then((Plotly) => {
    if (data.charts) apply(Plotly, root, data.charts);
    if (data.feed) follow(Plotly, root, data.feed);
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
/* Live charts and their status line are redrawn in place: Streamlit's fade of elements whose rerun is under
   way would only make them flicker between grey and colour. */
[data-stale="true"]:has(.rnnx-live), .st-key-train-status[data-stale="true"],
[data-stale="true"]:has(> .st-key-train-status) { opacity: 1 !important; transition: none !important; }
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
        _static(figures, key, columns)
        return None
    charts_, template = _cells(figures, key)
    result = _mount()(key=key, data={"plotly": _asset_url(PLOTLY_JS), "columns": columns, "config": CONFIG,
                                     "template": template, "charts": charts_, "step": step, "feed": None},
                      on_drawn_change=_ignore)
    return getattr(result, "drawn", None)


def follow(worker, key: str, figures: Callable[[object], list[tuple[dict, str]]], *, columns: int = 2) -> None:
    """While `worker` trains: the element under `key` fetches `figures(snapshot)` of each newer snapshot from
    the live feed (explorer/ui/feed.py), with no rerun of the page; it keeps its charts until the first one."""
    if not in_browser():
        _static(figures(worker.snapshot), key, columns)
        return

    def frame(snap) -> dict:
        charts_, template = _cells(figures(snap), key)
        return {"charts": charts_, "template": template}

    token = feed.open_feed(worker, key, frame)
    _mount()(key=key, data={"plotly": _asset_url(PLOTLY_JS), "columns": columns, "config": CONFIG,
                            "template": None, "charts": None, "step": None, "feed": _url(feed.PATH + token)},
             on_drawn_change=_ignore)


def _static(figures: list[tuple[dict, str]], key: str, columns: int) -> None:
    for start in range(0, len(figures), columns):
        for col, (fig, name) in zip(st.columns(columns), figures[start:start + columns]):
            with col:
                st.plotly_chart(go.Figure(fig), key=f"{key}-{name}", config=CONFIG)
                st.caption(charts.CAPTIONS[name])


def _cells(figures: list[tuple[dict, str]], key: str) -> tuple[list[dict], dict | None]:
    """The element's cells, JSON-ready, and the template they share (sent once, not per chart)."""
    cells, template = [], None
    for fig, name in figures:
        layout = dict(fig["layout"])
        template = layout.pop("template", template)
        cells.append({"key": f"{key}-{name}", "caption": charts.CAPTIONS[name], "layout": _ready(layout),
                      "data": _ready(fig["data"])})
    return cells, template


def _url(path: str) -> str:
    """`path` under the server's base URL path."""
    base = st.get_option("server.baseUrlPath").strip("/")
    return "/" + (base + "/" if base else "") + path.lstrip("/")


def _asset_url(name: str) -> str:
    return _url(f"_stcore/bidi-components/{NAME}/{name}")


def _ignore() -> None:
    """The drawn step is read where the element is drawn; its change needs no callback of its own."""


_SCALARS = {int, float, str, bool, type(None)}


def _ready(value, *, in_list: bool = False):
    """JSON-ready: numeric arrays as plotly's base64 typed arrays, everything else as plain lists.

    plotly.js decodes a typed array only as an attribute's whole value: an array inside a list (z=[row])
    goes as a plain list."""
    if isinstance(value, dict):
        return {k: _ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if all(type(v) in _SCALARS for v in value):  # a series: one pass, no call per point
            return [None if v != v else v for v in value]
        return [_ready(v, in_list=True) for v in value]
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fiu" and value.size and value.ndim <= 2 and not in_list:
            kind = "f4" if value.dtype.kind == "f" else "i4"
            array = np.ascontiguousarray(value, dtype=kind)
            return {"dtype": kind, "bdata": base64.b64encode(array.tobytes()).decode(),
                    "shape": ", ".join(map(str, array.shape))}
        return _ready(value.tolist(), in_list=in_list)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    return value
