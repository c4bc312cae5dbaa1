"""Plain figure dicts for the chart builders: the subset of plotly's go.Figure API they use, without its cost.

Not a chart. A builder writes `fig = figure.new()`, `fig.add_trace(figure.scatter(...), row=1, col=1)`,
`fig.update_xaxes(...)` as it would with plotly, and returns a `FigureDict`: a dict with "data" and
"layout" that the browser's plotly.js draws as it is, and that `go.Figure(d)` (or `d.figure()`) turns
into a plotly figure for a notebook or a PNG. Building one costs a few hundred microseconds; go.Figure
costs tens of milliseconds (per-property objects). Subplot grids come from plotly's own make_subplots,
computed once per grid and cached, so domains, anchors and subplot titles are plotly's.

`reference()` makes the same calls build real plotly objects: tests/test_figure_dicts.py proves that
both ways give the same figure for every builder.
"""
from __future__ import annotations

import contextlib
import functools
import json
import threading
from typing import Any

_mode = threading.local()  # .reference = True: build go.Figure objects (tests)


@contextlib.contextmanager
def reference():
    """Inside the block, builders make plotly go.Figure objects (checked), as before figure dicts."""
    _mode.reference = True
    try:
        yield
    finally:
        _mode.reference = False


def _reference() -> bool:
    return getattr(_mode, "reference", False)


class Node(dict):
    """A dict with plotly's attribute access: node.font.size, node.update(title_text=...)."""

    _COMPOUND = {"font", "title", "legend", "marker", "line", "colorbar", "margin", "hoverlabel", "textfont"}

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self:
            return self[name]
        if name in self._COMPOUND or name.startswith(("xaxis", "yaxis")):
            child = self[name] = Node()
            return child
        return None

    def __setattr__(self, name: str, value) -> None:
        self[name] = _node(value)

    def update(self, other: dict | None = None, **kwargs) -> "Node":  # type: ignore[override]
        """Merge like plotly's update: nested dicts merge, `a_b=v` means a.b = v, None unsets.

        Every live frame builds its figures anew through here: the common cases (a plain key, a value that
        is not a dict) take the shortest way."""
        items = ({**other, **kwargs} if kwargs else other) if other else kwargs
        for key, value in items.items():
            if "_" in key:
                *path, leaf = key.split("_")
                node = self
                for part in path:
                    node = node.setdefault(part, Node())
            else:
                node, leaf = self, key
            if value is None:
                node.pop(leaf, None)
            elif isinstance(value, dict):
                current = node.get(leaf)
                if key == "template":  # shared and never changed: kept as it is, not copied
                    node[leaf] = value
                elif isinstance(current, dict):
                    current.update(value)
                else:
                    node[leaf] = value if type(value) is Node else Node().update(value)
            elif isinstance(value, (list, tuple)):
                node[leaf] = _node(value)
            else:
                node[leaf] = value
        return self


def _node(value):
    if isinstance(value, Node):
        return value
    if isinstance(value, dict):
        return Node().update(value)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, dict) for v in value):
        return [_node(v) for v in value]
    return value


def _trace(kind: str, kwargs: dict):
    if _reference():
        import plotly.graph_objects as go

        return getattr(go, kind[0].upper() + kind[1:])(**kwargs)
    return Node(type=kind).update({k: v for k, v in kwargs.items() if v is not None})


def scatter(**kwargs):
    return _trace("scatter", kwargs)


def heatmap(**kwargs):
    return _trace("heatmap", kwargs)


def scatter3d(**kwargs):
    return _trace("scatter3d", kwargs)


def bar(**kwargs):
    return _trace("bar", kwargs)


class FigureDict(dict):
    """{"data": [trace dicts], "layout": dict}: what plotly.js draws. Builders call the go.Figure-like methods."""

    def __init__(self, data=None, layout=None, grid=None) -> None:
        traces = data if isinstance(data, list) else [] if data is None else [data]
        super().__init__(data=[_node(t) for t in traces], layout=Node().update(layout or {}))
        self._grid = grid  # make_subplots' grid: [row][col] -> tuple of SubplotRef

    @property
    def data(self) -> list:
        return self["data"]

    @property
    def layout(self) -> Node:
        return self["layout"]

    def figure(self):
        """The plotly go.Figure of this dict: for notebooks (.show()) and PNG export."""
        import plotly.graph_objects as go

        return go.Figure(self)

    def show(self, *args, **kwargs) -> None:
        self.figure().show(*args, **kwargs)

    def add_trace(self, trace, row=None, col=None, secondary_y=None) -> "FigureDict":
        trace = _node(trace)
        if self._grid is not None and (row is not None or secondary_y is not None):
            refs = self._grid[(row or 1) - 1][(col or 1) - 1]
            trace.update(refs[1 if secondary_y and len(refs) > 1 else 0].trace_kwargs)
        self["data"].append(trace)
        return self

    def update_layout(self, dict1=None, **kwargs) -> "FigureDict":
        self.layout.update(dict1, **kwargs)
        return self

    def _axes(self, letter: str, row, col, secondary_y) -> list[str]:
        if self._grid is None:
            return sorted([k for k in self.layout if k.startswith(letter + "axis")] or [letter + "axis"])
        keys = []
        for r, cells in enumerate(self._grid):
            for c, refs in enumerate(cells):
                if (row is not None and r + 1 != row) or (col is not None and c + 1 != col):
                    continue
                for k, ref in enumerate(refs):
                    if letter == "y" and secondary_y is not None and bool(k) != bool(secondary_y):
                        continue
                    key = ref.layout_keys[0 if letter == "x" else -1]
                    if key not in keys:
                        keys.append(key)
        return keys

    def update_xaxes(self, patch=None, row=None, col=None, **kwargs) -> "FigureDict":
        for key in self._axes("x", row, col, None):
            self.layout.setdefault(key, Node()).update(patch, **kwargs)
        return self

    def update_yaxes(self, patch=None, row=None, col=None, secondary_y=None, **kwargs) -> "FigureDict":
        for key in self._axes("y", row, col, secondary_y):
            self.layout.setdefault(key, Node()).update(patch, **kwargs)
        return self

    def add_annotation(self, **kwargs) -> "FigureDict":
        self.layout.setdefault("annotations", []).append(Node().update(kwargs))
        return self

    def add_shape(self, **kwargs) -> "FigureDict":
        self.layout.setdefault("shapes", []).append(Node().update(kwargs))
        return self


def new(data=None, layout=None):
    """go.Figure(data, layout), as a FigureDict (or the real thing inside reference())."""
    if _reference():
        import plotly.graph_objects as go

        return go.Figure(data, layout)
    return FigureDict(data, layout)


def make_subplots(**kwargs):
    """plotly's make_subplots: its layout and grid computed once per set of arguments, then copied."""
    if _reference():
        from plotly.subplots import make_subplots as plotly_make_subplots

        return plotly_make_subplots(**kwargs)
    layout, grid = _grid(json.dumps(kwargs, sort_keys=True))
    return FigureDict(layout=_plain_copy(layout), grid=grid)


def _plain_copy(value):
    """A copy of JSON-like data (dicts, lists, scalars): copy.deepcopy's result, at a fraction of its cost."""
    if isinstance(value, dict):
        return {k: _plain_copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_copy(v) for v in value] if isinstance(value, list) else tuple(_plain_copy(v) for v in value)
    return value


@functools.lru_cache(maxsize=256)
def _grid(key: str) -> tuple[dict, list]:
    from plotly.subplots import make_subplots as plotly_make_subplots

    fig = plotly_make_subplots(**json.loads(key))
    layout = fig.to_plotly_json()["layout"]
    layout.pop("template", None)
    return layout, fig._grid_ref


def to_json_ready(value: Any):
    """Numpy arrays -> lists (None for NaN in object arrays stays None); for json.dumps of a figure."""
    import numpy as np

    if isinstance(value, dict):
        return {k: to_json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_json_ready(value.tolist()) if value.dtype == object else value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
