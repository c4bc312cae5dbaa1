"""One scale for the same chart of several runs shown side by side (shared axis ranges, colour ranges and
sizes), and steady scales for a chart redrawn many times a second.

Pure: figure dicts in, the same dicts out with explicit ranges. Not a chart builder: it reads what the
builders drew, so each builder stays the one source of its own look and any chart can be shared.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from explorer.charts._common import log_axis, nice_ceil
from explorer.charts.gradients import log_ticks

PAD = 0.04  # share of the span left free at each end of a linear axis
LOG_PAD = 0.15  # decades left free at each end of a log axis


def _numbers(values) -> np.ndarray:
    """Finite floats of a trace's x, y or z (lists with None, numpy arrays); empty when they are not numbers."""
    if values is None:
        return np.zeros(0)
    try:
        array = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        array = np.asarray([v for v in np.ravel(np.asarray(values, dtype=object)) if isinstance(v, (int, float))],
                           dtype=float)
        if array.size < np.asarray(values, dtype=object).size:  # strings: a category axis, not ours to scale
            return np.full(1, np.nan)
    return array[np.isfinite(array)] if array.size else array


def _axis_key(ref: str) -> str:
    """A trace's axis reference ('x', 'y2') -> its layout key ('xaxis', 'yaxis2')."""
    return ref[0] + "axis" + ref[1:]


def _extents(fig: dict) -> dict[str, list[np.ndarray]]:
    """Layout axis key -> the values drawn on it (data, reference lines, explicit ranges)."""
    layout = fig["layout"]
    out: dict[str, list[np.ndarray]] = {}
    for trace in fig["data"]:
        if trace.get("type") == "heatmap":  # units and rows differ between models: only the colours are shared
            continue
        for letter in "xy":
            out.setdefault(_axis_key(trace.get(letter + "axis", letter)), []).append(_numbers(trace.get(letter)))
    for shape in layout.get("shapes") or ():
        ref = shape.get("yref", "y")
        if " " not in ref and ref != "paper":
            out.setdefault(_axis_key(ref), []).append(_numbers([shape.get("y0"), shape.get("y1")]))
    for key, axis in layout.items():
        if key[1:5] == "axis" and axis.get("range") is not None and key in out:
            low, high = axis["range"]
            bounds = [low, high] if axis.get("type") != "log" else [10.0 ** low, 10.0 ** high]
            out[key].append(_numbers(bounds))
    return out


def _shared_axis(values: list[np.ndarray], log: bool) -> dict | None:
    """range (and ticks on a log axis) covering every value, or None when there are none or not numbers."""
    if any(np.isnan(v).any() for v in values):
        return None
    flat = np.concatenate(values) if values else np.zeros(0)
    if log:
        flat = flat[flat > 0]
    if flat.size == 0:
        return None
    low, high = float(flat.min()), float(flat.max())
    if log:
        a, b = math.log10(low), math.log10(high)
        pad = max(LOG_PAD, 0.5 - (b - a) / 2)  # a single value still gets a decade to sit in
        axis = dict(log_axis(flat))
        axis["range"] = [a - pad, b + pad]
        return axis
    pad = PAD * (high - low) if high > low else max(abs(high) * 0.1, 0.5)
    return dict(range=[low - pad, high + pad], autorange=False)


def _share_axes(figures: Sequence[dict]) -> None:
    extents = [_extents(f) for f in figures]
    keys = {k for e in extents for k in e}
    for key in sorted(keys):
        holders = [(f, e[key]) for f, e in zip(figures, extents) if key in e]
        axes = [f["layout"].get(key) or {} for f, _ in holders]
        if len(holders) < 2 or any(a.get("type") == "category" for a in axes):
            continue
        joined = [np.concatenate(v) for _, v in holders]
        spans = {(float(j.min()), float(j.max())) if j.size else None for j in joined}
        if len(spans) == 1:  # every run drew the same span already: its builder's own axis stands
            continue
        log = any(a.get("type") == "log" for a in axes)
        patch = _shared_axis([v for _, values in holders for v in values], log)
        if patch is None:
            continue
        for fig, _ in holders:
            fig["layout"].setdefault(key, {}).update(patch)


def _share_colours(figures: Sequence[dict]) -> None:
    """The k-th heatmap of every figure gets the union of their [zmin, zmax]."""
    heatmaps = [[t for t in f["data"] if t.get("type") == "heatmap" and t.get("zmin") is not None] for f in figures]
    for k in range(max(map(len, heatmaps), default=0)):
        group = [h[k] for h in heatmaps if len(h) > k]
        if len(group) < 2:
            continue
        zmin, zmax = min(t["zmin"] for t in group), max(t["zmax"] for t in group)
        for t in group:
            t["zmin"], t["zmax"] = zmin, zmax
            bar = t.get("colorbar") or {}
            if bar.get("tickvals") is not None:  # only the log colourbars set ticks (Gradient flow)
                bar["tickvals"] = log_ticks(zmin, zmax)


def share_scales(figures: Sequence[dict]) -> Sequence[dict]:
    """Make the same chart of several runs comparable at a glance, in place, and return the figures.

    Every axis that holds numbers gets the range covering all the runs (log axes: their ticks too);
    the k-th heatmap of each gets the union of their colour ranges; height and margins become the largest, so the plot areas line up
    even when one chart has a taller legend or a note.
    """
    figures = [f for f in figures if f is not None]
    if len(figures) < 2:
        return figures
    _share_axes(figures)
    _share_colours(figures)
    heights = [f["layout"].get("height") for f in figures]
    if all(h is not None for h in heights):
        for f in figures:
            f["layout"]["height"] = max(heights)
    margins = [f["layout"].get("margin") or {} for f in figures]
    for side in "lrtb":
        sides = [m.get(side) for m in margins if m.get(side) is not None]
        if sides:
            for f in figures:
                f["layout"].setdefault("margin", {})[side] = max(sides)
    return figures


def steady_axes(fig: dict) -> dict:
    """Explicit ranges, rounded outward, for every numeric axis the builder left to plotly's autorange; in
    place, and returns the figure. A live chart's next frame then keeps its layout until the data outgrow
    it, and plotly.js redraws its traces only: measured in Chromium, about half the time of a redraw that
    re-ranges the axes. Ticks of a log axis follow its rounded range, not the data, for the same reason."""
    layout = fig["layout"]
    for key, values in _extents(fig).items():
        axis = layout.setdefault(key, {})
        if axis.get("range") is not None or axis.get("autorange") == "reversed" or axis.get("type") == "category":
            continue
        if any(np.isnan(v).any() for v in values):  # strings on the axis: not numbers to round
            continue
        flat = np.concatenate(values) if values else np.zeros(0)
        patch = _steady_log(flat) if axis.get("type") == "log" else steady_linear(flat)
        if patch is not None:
            axis.update(patch)
    return fig


def _steady_log(values: np.ndarray) -> dict | None:
    """Half decades around the values, at least one decade."""
    values = values[values > 0]
    if values.size == 0:
        return None
    low, high = math.floor(2 * math.log10(values.min())) / 2, math.ceil(2 * math.log10(values.max())) / 2
    if high - low < 1:  # a single value still gets a decade to sit in
        extra = (1 - (high - low)) / 2
        low, high = low - extra, high + extra
    return dict(log_axis(np.array([10.0 ** low, 10.0 ** high])), range=[low, high], autorange=False)


def steady_linear(values: np.ndarray, parts: int = 8) -> dict | None:
    """Outward to the next multiple of a 1-2-5 step about 1/parts of the span; from 0 when the values start near
    it (time steps, magnitudes). Values that wander near an edge (a prediction) cross it less with fewer parts."""
    if values.size == 0:
        return None
    low, high = float(values.min()), float(values.max())
    if 0 <= low <= 0.2 * high:
        low = 0.0
    elif 0.2 * low <= high <= 0:
        high = 0.0
    span = high - low if high > low else max(abs(high), 1.0)
    step = nice_ceil(span / parts, (1, 2, 5))
    pad = 0.02 * span  # a line at the data's edge is not drawn on the frame
    return dict(range=[math.floor((low - pad * (low != 0)) / step) * step,
                       math.ceil((high + pad * (high != 0)) / step) * step], autorange=False)

