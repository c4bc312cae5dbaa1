"""Charts of the gradient over time: against t for one trace, and against t and training step for a whole run.

What Trace.grad_norm holds depends on the architecture (the state h_t of each recurrent layer, a
Transformer block's input); GRADIENT_OF is the one place that says which, for every label and hover.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from explorer import style
from explorer.charts import figure
from explorer.charts.figure import FigureDict
from explorer.charts._common import (
    check_index, clip_log, colourbar, example_tokens, finish, finite_or_none, font, log_axis, log_clipped, message_figure,
    step_axis_end, token_axis, upright_tick_room,
)

if TYPE_CHECKING:
    from explorer.history import History
    from explorer.records import Trace

MAX_STEP_TICKS = 8  # y tick labels on the Gradient flow chart while it has few rows
STEADY_FROM_ROWS = 8  # from this many profiles, Gradient flow draws them on FLOW_ROWS even rows, ticked by plotly
FLOW_ROWS = 100
INPUT_GRADIENT = "||dL/dx_t||"  # at the inputs themselves (Trace.input_grad): the same for every architecture
INPUT_COLOUR = style.TEXT_COLOUR


def gradient_of(arch: str | None) -> tuple[str, str]:
    """(symbol, where it is taken) of Trace.grad_norm for an architecture, for axis titles and legends."""
    if arch == "transformer":
        return "||dL/de_t||", "block input"  # e_t: what block l reads at position t; block 0 reads the embedding
    return "||dL/dh_t||", "state h_t"


def _line_name(arch: str | None, layer: int, direction: int, D: int) -> str:
    if arch == "transformer":
        return f"block {layer} input" + (" (embedding)" if layer == 0 else "")
    return f"h_t, layer {layer}" + (f" {style.DIRECTION_NAMES[direction]}" if D == 2 else "")


def cut_lines(fig: FigureDict, bptt: int | None, T: int, *, colour: str = style.CUT_COLOUR) -> str:
    """Truncated BPTT's cuts (RunConfig.bptt = k): a dotted line between steps jk - 1 and jk for each j (no
    gradient crosses one). -> the note that says so, for the caller to place ("" without truncation)."""
    if bptt is None or bptt >= T:
        return ""
    cuts = list(range(bptt, T, bptt))
    if len(cuts) > style.MAX_CUT_LINES:
        return f"truncated BPTT:<br>cut every {bptt} steps<br>({len(cuts)} cuts, not drawn)"
    for t in cuts:
        fig.add_shape(type="line", xref="x", x0=t - 0.5, x1=t - 0.5, yref="y domain", y0=0, y1=1,
                      line=dict(color=colour, dash="dot", width=2))
    return f"truncated BPTT:<br>cut every {bptt} steps"  # two short lines: left of the first cut, where lines are zero


def _grad_lines(fig: FigureDict, grad_norm: np.ndarray, layers: list[int], colours: list[str], *,
                initial: bool, arch: str | None) -> bool:
    """Add one line per layer and direction; returns True when a value had to be clipped for the log axis."""
    L, D, T = grad_norm.shape  # (L, D, T)
    symbol = gradient_of(arch)[0]
    clipped_any = False
    for layer, colour in zip(layers, colours):
        for d in range(D):
            raw = grad_norm[layer, d].astype(float)
            y, reason = clip_log(raw)
            clipped_any |= bool(np.any(reason != ""))
            name = _line_name(arch, layer, d, D) + (" at init" if initial else "")
            dash = ("dash" if d == 0 else "dashdot") if initial else style.DIRECTION_DASH[d]
            fig.add_trace(figure.scatter(
                x=np.arange(T), y=finite_or_none(y), mode="lines", name=name,
                line=dict(color=colour, dash=dash, width=2 if initial else 3), opacity=0.45 if initial else 1.0,
                customdata=raw, text=reason,
                hovertemplate="t=%{x}<br>" + symbol + "=%{customdata:.3e}%{text}<extra>" + name + "</extra>",
            ))
    return clipped_any


def _input_line(fig: FigureDict, input_grad: np.ndarray) -> bool:
    """||dL/dx_t|| at the inputs, black: the one line that means the same for every architecture."""
    raw = np.asarray(input_grad, dtype=float)  # (T,)
    y, reason = clip_log(raw)
    name = f"input x_t: {INPUT_GRADIENT}"
    fig.add_trace(figure.scatter(
        x=np.arange(len(raw)), y=finite_or_none(y), mode="lines", name=name,
        line=dict(color=INPUT_COLOUR, width=2), customdata=raw, text=reason,
        hovertemplate="t=%{x}<br>" + INPUT_GRADIENT + "=%{customdata:.3e}%{text}<extra>input x_t</extra>",
    ))
    return bool(np.any(reason != ""))


def grad_norm_chart(trace: Trace, initial: Trace | None = None, layer: int | None = None, *,
                    scale: float = 1.0) -> FigureDict:
    """Gradient norm (batch mean, total derivative) against t on a log axis: Trace.grad_norm, one line per
    layer and direction (gradient_of says where it is taken), and ||dL/dx_t|| at the inputs in black.

    `initial` (the trace at initialisation) is drawn faint and dashed for reference. Zeros and
    overflows are drawn at style.GRAD_FLOOR / GRAD_CEIL and the hover says so.
    """
    L, D, T = trace.grad_norm.shape
    if layer is not None:
        check_index("layer", layer, L)
    layers = list(range(L)) if layer is None else [layer]
    colours = ([style.arch_colour(trace.arch)] if len(layers) == 1
               else [style.SERIES_COLOURS[k % len(style.SERIES_COLOURS)] for k in layers])
    fig = figure.new()
    clipped = False
    if initial is not None and initial.grad_norm.shape[0] > max(layers):
        clipped |= _grad_lines(fig, initial.grad_norm, layers, colours, initial=True, arch=trace.arch)
    clipped |= _grad_lines(fig, trace.grad_norm, layers, colours, initial=False, arch=trace.arch)
    drawn = [log_clipped(t.grad_norm[layers]) for t in (trace, initial) if t is not None]
    if trace.input_grad is not None:
        clipped |= _input_line(fig, trace.input_grad)
        drawn.append(log_clipped(trace.input_grad))
    token_axis(fig, example_tokens(trace, 0, T), T, whose="example 0", width=1 / scale)
    notes = [cut_lines(fig, trace.bptt, T)] + [f"zeros drawn at 10<sup>{math.log10(style.GRAD_FLOOR):.0f}</sup>"] * clipped
    if any(notes):  # inside the plot, top left: a vanishing line sits bottom left, and an axis title has no room
        fig.add_annotation(text="<br>".join(n for n in notes if n), xref="x domain", yref="y domain", x=0.01, y=0.99,
                           xanchor="left", yanchor="top", align="left", showarrow=False,
                           font=font(scale, style.FONT_SIZE - 1) | dict(color=style.MUTED_COLOUR))
    symbol, where = gradient_of(trace.arch)
    fig.update_yaxes(title_text=f"{symbol} at {where}", **log_axis(*drawn))
    if len(fig.data) <= 2:
        fig.update_layout(legend=dict(orientation="h", x=1, xanchor="right", y=1.02, yanchor="bottom"))
        return finish(fig, f"Gradient norm over time (step {trace.step})", scale=scale)
    # several layers and directions: the legend goes under the plot, which grows to keep its height
    per_row = 1 if len(fig.data) <= 4 else 2  # "h_t, layer 0 at init" needs the width of a whole row
    rows = math.ceil(len(fig.data) / per_row)
    room = upright_tick_room(fig, scale)  # words on the time axis stand upright: the legend goes below the title
    fig = finish(fig, f"Gradient norm over time (step {trace.step})", scale=scale,
                 height=style.HEIGHT + 26 * rows + room / scale)
    bottom = round((style.MARGIN["b"] + 26 * rows) * scale) + room
    plot = fig.layout.height - fig.layout.margin["t"] - bottom  # px of the plot area, which the legend's y counts in
    fig.update_layout(legend=dict(orientation="h", x=0, xanchor="left", y=-0.22 - room / max(plot, 1), yanchor="top",
                                  entrywidth=1 / per_row, entrywidthmode="fraction"),
                      margin=dict(b=bottom))
    return fig


def _profile_matrix(history: History, layer: int, direction: int) -> tuple[np.ndarray, np.ndarray]:
    """(steps (N,), values (N, T)) from history.profiles, sorted by step, one row per step."""
    by_step = {int(step): p for step, p in history.profiles}  # later wins
    steps = np.array(sorted(by_step))
    profiles = [np.asarray(by_step[s]) for s in steps.tolist()]  # each (L, D, T)
    shapes = {p.shape for p in profiles}
    for shape in shapes:
        check_index("layer", layer, shape[0])
        check_index("direction", direction, shape[1])
    if len(shapes) == 1:  # the usual case: one stack, not a row at a time (a live frame reads hundreds)
        return steps, np.stack(profiles)[:, layer, direction].astype(float)
    rows = [np.asarray(p[layer, direction], dtype=float) for p in profiles]
    T = max(len(r) for r in rows)
    values = np.full((len(rows), T), np.nan)
    for k, r in enumerate(rows):
        values[k, : len(r)] = r
    return steps, values


def log_ticks(zmin: float, zmax: float) -> list[int]:
    step = max(1, math.ceil((zmax - zmin) / 7))
    return list(range(int(zmin), int(zmax) + 1, step))


def _step_ticks(steps: np.ndarray) -> list[int]:
    """Up to MAX_STEP_TICKS of the profile steps, spaced by value so labels of thin rows do not collide."""
    gap = (steps[-1] - steps[0]) / MAX_STEP_TICKS
    ticks = [int(steps[0])]
    for s in steps[1:]:
        if s - ticks[-1] >= gap:
            ticks.append(int(s))
    if ticks[-1] != steps[-1]:  # always label the latest row, in place of a label too close to it
        if len(ticks) > 1 and steps[-1] - ticks[-1] < gap:
            ticks.pop()
        ticks.append(int(steps[-1]))
    return ticks


def _step_grid(steps: np.ndarray, values: np.ndarray, to: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """FLOW_ROWS + 1 evenly spaced rows from step 0 to where the step axis ends (step_axis_end), each the
    profile recorded nearest to it; rows the run has not reached (or before its first profile) are NaN.

    Profiles come at uneven steps (one per trace, at the publish rate). On even rows of a fixed number the
    chart keeps its shape and axes for many frames, so a live view recolours it in place, the way plotly
    draws an even heatmap (one pixel a cell); drawn at this many rows, the picture is the one the uneven
    rows give."""
    gap = step_axis_end(float(steps[-1]), to) / FLOW_ROWS
    grid = np.arange(FLOW_ROWS + 1) * gap
    after = np.clip(np.searchsorted(steps, grid), 1, len(steps) - 1)  # the profiles either side of each row
    nearest = np.where(grid - steps[after - 1] <= steps[after] - grid, after - 1, after)
    reached = (grid >= steps[0] - gap / 2) & (grid <= steps[-1] + gap / 2)
    return grid, np.where(reached[:, None], values[nearest], np.nan)


def gradient_flow_heatmap(history: History, layer: int = 0, direction: int = 0, *, trace: Trace | None = None,
                          scale: float = 1.0, steps_to: int | None = None) -> FigureDict:
    """log10 of Trace.grad_norm for time step t (x) and training step (y, the real step values: each profile's
    own row while there are few, then even rows from step 0 to the step axis' end, see _step_grid).

    `trace`: the run's latest trace, for the labels: what its architecture's grad_norm is (gradient_of)
    and the input tokens of probe example 0 on the time axis. `steps_to`: the steps the run is to take (a
    lesson's budget): the even rows run to it from the start.

    Vanishing gradients show as a dark band at early t; learning to carry memory shows as
    the band brightening, step by step, up the chart. Exact zeros are drawn in the darkest colour.
    """
    arch = trace.arch if trace is not None else None
    symbol, where = gradient_of(arch)
    part = f"block {layer} input" if arch == "transformer" else f"layer {layer}"
    title = f"Gradient flow ({part}" + (f", {style.DIRECTION_NAMES[direction]})" if direction else ")")
    if not history.profiles:
        return message_figure(title, "No gradient profiles yet: press Train", scale=scale,
                              xlabel="time step t", ylabel="training step")
    steps, raw = _profile_matrix(history, layer, direction)  # (N,), (N, T)
    zeros = np.any(np.isfinite(raw) & (raw <= style.GRAD_FLOOR))  # drawn below zmin: the darkest colour
    real = raw[np.isfinite(raw) & (raw > style.GRAD_FLOOR)]
    zmin = math.floor(np.log10(real.min())) if real.size else math.log10(style.GRAD_FLOOR)
    zmax = math.ceil(np.log10(real.max())) if real.size else zmin + 1
    zmax = max(zmax, zmin + 1)
    N, T = raw.shape
    rows, drawn = (_step_grid(steps, raw, steps_to) if N >= STEADY_FROM_ROWS else (steps, raw))
    clipped = log_clipped(drawn)
    z = np.log10(clipped)  # NaN stays NaN: a diverged step, or a row the run has not reached, shows as a gap
    fig = figure.new(figure.heatmap(
        z=z, x=np.arange(T), y=rows, zmin=zmin, zmax=zmax, colorscale=style.GRADIENT_SCALE, customdata=drawn,
        colorbar=colourbar(f"log10 {symbol}", scale, tickvals=log_ticks(zmin, zmax)),
        hovertemplate="step %{y}, t=%{x}<br>" + symbol + "=%{customdata:.3e}<extra></extra>",
    ))
    if N < STEADY_FROM_ROWS:  # label the few rows by their own steps (plotly's ticks would fall between them)
        fig.update_yaxes(tickvals=_step_ticks(steps))
    else:
        gap = rows[1] - rows[0]
        fig.update_yaxes(range=[-gap / 2, rows[-1] + gap / 2], autorange=False)
    if trace is not None:  # the lines only: above the plot there is no room for a third note; the caption says it
        cut_lines(fig, trace.bptt, T, colour=style.CUT_COLOUR_ON_HEATMAP)
    said = ["one row so far, one per trace"] * (N == 1) + ["zeros drawn darkest"] * bool(zeros)
    if said:
        fig.add_annotation(text="; ".join(said), xref="paper", yref="paper",
                           x=1, y=1.01, xanchor="right", yanchor="bottom", showarrow=False,
                           font=font(scale, style.FONT_SIZE - 1) | dict(color=style.MUTED_COLOUR))
    tokens = example_tokens(trace, 0, T) if trace is not None else None
    token_axis(fig, tokens, T, whose="example 0", width=1 / scale)
    fig.update_xaxes(showgrid=False)
    fig.update_yaxes(title_text="training step", showgrid=False)
    return finish(fig, title, scale=scale, legend=False)
