"""The live-chart element: a Streamlit component (v2, no iframe) that draws figure dicts with plotly.js.

Not the figures (explorer/charts builds them). A page run, or the live feed while a run trains, sends the
newest figure dicts; arrays go as plotly's typed-array spec (base64) and the shared template once, so a frame
stays small. Charts scrolled out of view skip frames and draw the newest one when they come into view. In the
browser (live_chart.js) a frame whose values alone changed is drawn into the shapes plotly made; any other
goes through Plotly.react: nothing fades. plotly.js is the plotly wheel's own plotly.min.js, served by
Streamlit's component route. Under AppTest (no browser) the same figures are drawn as static st.plotly_chart
charts.
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
from explorer.charts._common import TEMPLATE
from explorer.ui import feed

NAME = "rnnx.live_chart"
PLOTLY_JS = "plotly.min.js"

JS = (Path(__file__).parent / "live_chart.js").read_text()  # the element's code: drawing, in-place updates, the feed

CSS = """
.rnnx-live { display: grid; gap: 1rem; width: 100%; }
/* Live charts, their status line and the race's progress bar are redrawn in place: Streamlit's fade of elements whose rerun is under
   way would only make them flicker between grey and colour. */
[data-stale="true"]:has(.rnnx-live), .st-key-train-status[data-stale="true"],
[data-stale="true"]:has(> .st-key-train-status),
[data-stale="true"]:has([data-testid="stProgress"]) { opacity: 1 !important; transition: none !important; }
.rnnx-cell { min-width: 0; }
.rnnx-status { margin: 0; font-size: 1rem; line-height: 1.6; }
.rnnx-bar { display: block; height: 0.5rem; margin: 0.4rem 0 0.25rem; border-radius: 0.25rem; overflow: hidden;
            background: rgba(49, 51, 63, 0.1); }
.rnnx-bar > span { display: block; height: 100%; background: currentColor; }
/* a status line's markdown shows with the page's first paint; once the element has drawn the line it keeps, it goes */
[class*="st-key-"]:has(.rnnx-status) > [data-testid="stElementContainer"]:has([data-testid="stMarkdown"]) { display: none; }
.rnnx-caption { font-size: 0.875rem; color: rgba(49, 51, 63, 0.6); margin: 0.25rem 0 0.75rem; }
"""
CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"scale": 2}}

# a status line: (text, style) pieces, style "b" (bold), "i" (italic), "" (plain) or "%" (a progress bar under the
# line, the text its done fraction from 0 to 1, drawn by the element only)
Line = list[tuple[str, str]]

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


def follow(worker, key: str, figures: Callable[..., list[tuple[dict, str]]], *, columns: int = 2,
           lines: Callable[[object], dict[str, Line]] | None = None, traced: feed.Traced | None = None) -> None:
    """While `worker` trains: the element under `key` fetches `figures(snapshot, only)` of each newer snapshot from
    the live feed (explorer/ui/feed.py), asking for the next while it draws one, with no rerun of the page;
    it keeps its charts until the first one. `only`: the names of the charts in the browser's view (None: all),
    the only ones `figures` need build; the others keep their last frame until they come into view.
    `lines(snapshot)`: status lines ({key: line}, see `status`) the frames rewrite too. `traced(only)`: whether the
    charts in view need the run's trace (None: they do), so the training process traces less while none does
    (explorer/ui/feed.py, Worker.needs_trace). When the run stops
    training, the element reruns its fragment (which then sees it)."""
    if not in_browser():
        _static(figures(worker.snapshot, None), key, columns)
        return

    def frame(snap, only: frozenset[str] | None) -> dict:  # the template goes once, with the element
        return {"charts": _cells(figures(snap, only), key)[0], "lines": lines(snap) if lines else None}

    token = feed.open_feed(worker, key, frame, traced)
    _mount()(key=key, data={"plotly": _asset_url(PLOTLY_JS), "columns": columns, "config": CONFIG,
                            "template": TEMPLATE, "charts": None, "step": None, "feed": _url(feed.PATH + token)},
             on_drawn_change=_ignore, on_ended_change=_ignore)


def status(key: str, line: Line, *, fed: bool = False) -> None:
    """A status line in a container under `key` (browser tests find it by that key), as markdown, which shows with
    the page's first paint. `fed`: drawn by the element as well, which then hides the markdown, so a live feed's
    frames rewrite it between the page's runs (`follow(lines=...)`)."""
    box = st.container(key=key)
    box.markdown(markdown(line))  # shown until the element has drawn its own line (CSS), then hidden
    if not fed or not in_browser():
        return
    with box:
        _mount()(key=f"{key}-line", data={"line": line, "target": key, "colour": st.get_option("theme.primaryColor")},
                 on_drawn_change=_ignore, on_ended_change=_ignore)


def markdown(line: Line) -> str:
    """The line as markdown (a styled piece has no spaces at its ends; a progress bar is left out)."""
    marks = {"b": "**", "i": "*", "": ""}
    return "".join(f"{marks[style]}{text}{marks[style]}" for text, style in line if style != "%")


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
        cells.append({"key": f"{key}-{name}", "name": name, "caption": charts.CAPTIONS[name], "layout": _ready(layout),
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
_AS_IS = _SCALARS - {float}  # JSON-ready as they are (a float may be NaN)


def _ready(value, *, in_list: bool = False):
    """JSON-ready: numeric arrays as plotly's base64 typed arrays, everything else as plain lists.

    plotly.js decodes a typed array only as an attribute's whole value: an array inside a list (z=[row])
    goes as a plain list. Every live frame passes through here (a few thousand values, mostly layout):
    values JSON takes as they are are not visited one call each."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            kind = type(v)
            out[k] = v if kind in _AS_IS or (kind is float and v == v) else _ready(v)
        return out
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
