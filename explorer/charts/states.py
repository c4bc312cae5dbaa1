"""Heatmaps of recurrent internals over time: h_t, c_t and the gates. Units on y, time step t on x."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from explorer import style
from explorer.charts import figure
from explorer.charts.figure import FigureDict
from explorer.charts._common import (
    a_an, check_index, colourbar, example_tokens, finish, fit_screen, font, message_figure, state_range, symmetric_range, time_axis,
)

if TYPE_CHECKING:
    from explorer.records import Trace


def unit_heatmap(z: np.ndarray, zrange: tuple[float, float], colourscale: str, symbol: str, *,
                 tokens: list[str] | None = None, name: str = "", showscale: bool = True,
                 colorbar: dict | None = None) -> dict:
    """One (H, T) panel: unit on y, time step t on x, exact value in the hover."""
    H, T = z.shape
    token_hover = ""
    customdata = None
    if tokens is not None and T <= style.TOKEN_TICKS_MAX_T:
        customdata = np.tile(np.asarray(tokens, dtype=object), (H, 1))  # (H, T)
        token_hover = " (%{customdata})"
    return figure.heatmap(
        z=z, x=np.arange(T), y=np.arange(H), zmin=zrange[0], zmax=zrange[1], colorscale=colourscale,
        customdata=customdata, name=name, showscale=showscale, colorbar=colorbar,
        hovertemplate=f"t=%{{x}}{token_hover}<br>unit %{{y}}<br>{symbol}=%{{z:.4f}}<extra>{name}</extra>",
    )


def _directions_figure(values: np.ndarray, trace: Trace, layer: int, example: int, title: str,
                       symbol: str, zrange: tuple[float, float], scale: float) -> FigureDict:
    """values (L, D, B, T, H): one panel per direction, side by side, both indexed by input step t."""
    L, D, B, T, H = values.shape
    check_index("layer", layer, L)
    check_index("example", example, B)
    names = style.DIRECTION_NAMES[:D]
    fig = figure.make_subplots(rows=1, cols=D, shared_yaxes=True, horizontal_spacing=0.05,
                        subplot_titles=list(names) if D == 2 else None)
    tokens = example_tokens(trace, example, T)
    for d in range(D):
        z = values[layer, d, example].T  # (H, T)
        fig.add_trace(unit_heatmap(z, zrange, style.DIVERGING_SCALE, symbol, tokens=tokens, name=names[d],
                                   showscale=d == 0, colorbar=colourbar(symbol, scale)), row=1, col=d + 1)
        time_axis(fig, trace, example, T, row=1, col=d + 1, width=1 / (D * scale), say=D == 1)
    fig.update_yaxes(title_text="unit", row=1, col=1)
    return finish(fig, title, scale=scale, legend=False)


def hidden_state_heatmap(trace: Trace, layer: int = 0, example: int = 0, *, scale: float = 1.0) -> FigureDict:
    """h_t of one layer for one probe example; [-1, 1] unless the values exceed it (relu RNN, transformer)."""
    values = trace.hidden  # (L, D, B, T, H)
    check_index("layer", layer, values.shape[0])
    zrange = state_range(values[layer], trace.arch)
    return _directions_figure(values, trace, layer, example, f"Hidden state h_t (layer {layer})", "h_t",
                              zrange, scale)


def cell_state_heatmap(trace: Trace, layer: int = 0, example: int = 0, *, scale: float = 1.0) -> FigureDict:
    """LSTM c_t of one layer; c_t is unbounded, so the range is symmetric about 0 from the data."""
    title = f"Cell state c_t (layer {layer})"
    if trace.cell is None:
        label = style.ARCH_LABELS.get(trace.arch, trace.arch)
        return message_figure(title, f"Only the LSTM has a cell state c_t; this is {a_an(label)}.", scale=scale,
                              xlabel="time step t", ylabel="unit")
    check_index("layer", layer, trace.cell.shape[0])
    zrange = symmetric_range(trace.cell[layer], at_least=1e-6)
    return _directions_figure(trace.cell, trace, layer, example, title, "c_t", zrange, scale)


def _gate_title(trace: Trace, layer: int, direction: int | None) -> str:
    gates = style.GATES.get(trace.arch, ())
    label = style.ARCH_LABELS.get(trace.arch, trace.arch)
    D = trace.hidden.shape[1]
    where = f"layer {layer}" + ("" if D == 1 else ", both directions" if direction is None
                                else f", {style.DIRECTION_NAMES[direction]}")
    return f"Gates ({label} {', '.join(gates)}), {where}"


def _no_gates(trace: Trace, scale: float) -> FigureDict:
    model = a_an(style.ARCH_LABELS.get(trace.arch, trace.arch))  # "an RNN"
    return message_figure(f"Gates (none in {model})", f"{model[0].upper()}{model[1:]} has no gates: only the LSTM and the "
                          "GRU do.", scale=scale, xlabel="time step t", ylabel="unit")


def _gate_grid(gates: list[str], directions: list[int], D: int) -> tuple[int, int, list[tuple[str, int]], dict]:
    """(rows, cols, (gate, direction) per panel in reading order, colourbar (centre, length) by kind).

    One direction: LSTM i f / g o in a 2x2 grid, GRU r z n stacked. Both: a row per gate, a column per
    direction, so forward and reverse of a gate sit side by side on the same time axis."""
    if len(directions) == 2:
        rows = len(gates)
        tanh_row = next((k for k, g in enumerate(gates) if style.GATE_RANGES[g][0] < 0), rows - 1)
        bars = {"sigmoid": (1 - 1 / rows, 2 / rows * 0.9), "tanh": (1 - (tanh_row + 0.5) / rows, 0.9 / rows)}
        return rows, 2, [(g, d) for g in gates for d in directions], bars
    cols = 2 if len(gates) == 4 else 1
    bars = ({"sigmoid": (0.78, 0.45), "tanh": (0.22, 0.45)} if cols == 2
            else {"sigmoid": (0.68, 0.6), "tanh": (0.16, 0.3)})
    return -(-len(gates) // cols), cols, [(g, directions[0]) for g in gates], bars


def gate_heatmaps(trace: Trace, layer: int = 0, example: int = 0, direction: int | None = None, *,
                  scale: float = 1.0) -> FigureDict:
    """Every gate of one layer, of one direction or (None) of each: a bidirectional model's forward and
    reverse gates side by side, aligned in time as h_t and c_t are.

    Each panel has its gate's fixed range; sigmoid gates share one colourbar, tanh gates (g, n) another.
    """
    if not trace.gates:
        return _no_gates(trace, scale)
    gates = [g for g in style.GATES.get(trace.arch, tuple(trace.gates)) if g in trace.gates]
    L, D, B, T, H = trace.gates[gates[0]].shape
    check_index("layer", layer, L)
    if direction is not None:
        check_index("direction", direction, D)
    check_index("example", example, B)
    directions = list(range(D)) if direction is None else [direction]
    rows, cols, panels, bars = _gate_grid(gates, directions, D)
    names = [style.GATE_NAMES[g] + (f", {style.DIRECTION_NAMES[d]}" if len(directions) == 2 else "") for g, d in panels]
    fig = figure.make_subplots(rows=rows, cols=cols, shared_xaxes=True, shared_yaxes=True, vertical_spacing=0.12,
                               horizontal_spacing=0.05, subplot_titles=[style.GATE_NAMES[g] for g, _ in panels])
    if cols == 2:  # half-width panels: smaller titles (still >= 18 px on a projector), the direction under each column
        for a in fig.layout.annotations:
            a.update(font=font(scale, style.SUBPLOT_TITLE_SIZE - 4))
    tokens = example_tokens(trace, example, T)
    scale_shown: set[str] = set()  # "sigmoid" / "tanh" (one colourbar each), or an ssm selection gate (its own)
    for k, (gate, d) in enumerate(panels):
        row, col = k // cols + 1, k % cols + 1
        colourscale = style.gate_scale(gate)
        kind = "sigmoid" if colourscale == style.SIGMOID_SCALE else "tanh"
        if gate in style.SELECTION_GATES:  # ssm: each on its own range, its colourbar beside its panel
            shared, y, length, title = gate, 1 - (row - 0.5) / rows, 0.8 / rows, gate
        else:
            shared, (y, length) = kind, bars[kind]
            title = "sigmoid gates" if kind == "sigmoid" else f"tanh {gate}"
        bar = colourbar(title, scale, y=y, len=length, yanchor="middle")
        zrange = style.GATE_RANGES[gate]
        if gate in style.DATA_RANGE_GATES:  # ||B_t||, ||C_t|| have no natural top: the layer's largest value
            zrange = (0.0, max(float(np.nanmax(trace.gates[gate][layer])), 1e-6))
        fig.add_trace(unit_heatmap(trace.gates[gate][layer, d, example].T, zrange, colourscale, gate, tokens=tokens,
                                   name=names[k], showscale=shared not in scale_shown, colorbar=bar), row=row, col=col)
        scale_shown.add(shared)
        if row == rows:
            title = f"t ({style.DIRECTION_NAMES[d]})" if len(directions) == 2 else "time step t"
            time_axis(fig, trace, example, T, row=row, col=col, width=1 / (cols * scale), say=cols == 1, title=title)
        if col == 1:
            fig.update_yaxes(title_text="unit", row=row, col=col)
    height = fit_screen(rows * style.PANEL_HEIGHT + 120, scale)
    return finish(fig, _gate_title(trace, layer, direction), scale=scale, height=height, legend=False)


def gate_heatmap(trace: Trace, gate: str, layer: int = 0, direction: int = 0, example: int = 0, *,
                 scale: float = 1.0) -> FigureDict:
    """One gate of one layer and direction, on its fixed range from style.GATE_RANGES."""
    if not trace.gates:
        return _no_gates(trace, scale)
    if gate not in trace.gates:
        raise ValueError(f"gate must be one of {', '.join(trace.gates)}; got {gate!r}")
    values = trace.gates[gate]  # (L, D, B, T, H)
    L, D, B, T, H = values.shape
    check_index("layer", layer, L)
    check_index("direction", direction, D)
    check_index("example", example, B)
    fig = figure.new(unit_heatmap(values[layer, direction, example].T, style.GATE_RANGES[gate], style.gate_scale(gate),
                                 gate, tokens=example_tokens(trace, example, T), name=style.GATE_NAMES[gate],
                                 colorbar=colourbar(style.GATE_NAMES[gate], scale)))
    time_axis(fig, trace, example, T, width=1 / scale)
    fig.update_yaxes(title_text="unit")
    where = f"layer {layer}" + (f", {style.DIRECTION_NAMES[direction]}" if D == 2 else "")
    return finish(fig, f"Gates: {style.GATE_NAMES[gate]} ({where})", scale=scale, legend=False)
