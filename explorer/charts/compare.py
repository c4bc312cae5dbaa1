"""Charts that compare architectures: gradient profiles overlaid, and measurements against sequence length.

Pure: dicts of Trace / numbers in, plotly Figure out. Not the comparison logic (explorer/compare.py).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from explorer import style
from explorer.charts import figure
from explorer.charts.figure import FigureDict
from explorer.charts._common import clip_log, finish, finite_or_none, hline, log_axis, message_figure
from explorer.charts.gradients import INPUT_GRADIENT

if TYPE_CHECKING:
    from explorer.records import Trace

LEGEND_ROW_PX = 34  # height one legend entry needs at scale 1: the chart grows so its legend never scrolls


def _colours(names) -> dict[str, str]:
    """Each name's architecture colour; a second run of one architecture gets a free series colour."""
    out, used = {}, set()
    for k, name in enumerate(names):
        colour = style.arch_colour(name, default=style.SERIES_COLOURS[k % len(style.SERIES_COLOURS)])
        if colour in used:
            colour = next((c for c in style.SERIES_COLOURS if c not in used), colour)
        used.add(colour)
        out[name] = colour
    return out


def _profile_line(fig: FigureDict, trace: Trace, name: str, colour: str, *, initial: bool) -> tuple[np.ndarray, bool]:
    """One run's ||dL/dx_t|| at the inputs (Trace.input_grad); exact zeros are left out (a log axis has no 0).

    -> (the values drawn, whether a zero was left out). The inputs are where every architecture can be
    measured alike: a recurrent state and a Transformer block are different things.
    """
    raw = np.asarray(trace.input_grad, dtype=float)  # (T,)
    zero = raw == 0
    y, reason = clip_log(raw)
    y = np.where(zero, np.nan, y)
    label = f"{name} at init" if initial else f"{name} now"  # the step is in the title: a live frame keeps the legend
    few = np.count_nonzero(np.isfinite(y)) < 3  # too few points for a visible line: mark them
    fig.add_trace(figure.scatter(
        x=np.arange(len(raw)), y=finite_or_none(y), mode="lines+markers" if few else "lines", name=label,
        legendgroup=name, line=dict(color=colour, dash="dash" if initial else "solid", width=2 if initial else 3),
        marker=dict(size=10), opacity=0.5 if initial else 1.0, customdata=raw, text=reason,
        hovertemplate="t=%{x}<br>" + INPUT_GRADIENT + "=%{customdata:.3e}%{text}<extra>" + label + "</extra>",
    ))
    return y[np.isfinite(y)], bool(zero.any())


def grad_norm_compare_chart(traces: dict[str, Trace], initial: dict[str, Trace] | None = None, *,
                            scale: float = 1.0) -> FigureDict:
    """||dL/dx_t|| at the inputs against t for several runs, the end solid and init dashed, log axis.

    Names (dict keys) pick the architecture colours, so init and end of one run share a colour.
    """
    title = "Gradient norm over time, by architecture"
    if not traces:
        return message_figure(title, "No runs yet: press Start comparison", scale=scale,
                              xlabel="time step t", ylabel=INPUT_GRADIENT)
    colours = _colours(list(traces))
    fig = figure.new()
    drawn, zeros = [], []
    for name, trace in traces.items():
        for t, is_initial in (((initial or {}).get(name), True), (trace, False)):
            if t is None:
                continue
            values, had_zero = _profile_line(fig, t, name, colours[name], initial=is_initial)
            drawn.append(values)
            if had_zero and name not in zeros:
                zeros.append(name)
    note = f"   (exact zeros not drawn: {', '.join(zeros)})" if zeros else ""
    fig.update_xaxes(title_text="input time step t" + note)
    fig.update_yaxes(title_text=f"{INPUT_GRADIENT} at the input", **log_axis(*drawn))
    fig.update_layout(legend=dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top"))
    entries = len(fig.data)
    title += f" (step {max(t.step for t in traces.values())})"
    return finish(fig, title, scale=scale, height=max(style.HEIGHT, LEGEND_ROW_PX * entries + 180))


def _length_axis(fig: FigureDict, lengths: list[int]) -> None:
    fig.update_xaxes(title_text="sequence length T", type="log", tickvals=lengths, ticktext=[str(T) for T in lengths])


def _by_length_lines(fig: FigureDict, values: dict[str, dict[int, float]], fmt: str, unit: str) -> list[int]:
    """One line with markers per name over its lengths; -> every length seen, sorted."""
    colours = _colours(list(values))
    lengths: set[int] = set()
    for name, points in values.items():
        xs = sorted(points)
        lengths.update(xs)
        fig.add_trace(figure.scatter(
            x=xs, y=finite_or_none([points[T] for T in xs]), mode="lines+markers", name=name,
            line=dict(color=colours[name], width=3), marker=dict(size=11),
            hovertemplate="T=%{x}<br>%{y:" + fmt + "}" + unit + "<extra>" + name + "</extra>",
        ))
    return sorted(lengths)


def accuracy_length_chart(accuracy: dict[str, dict[int, float]], *, chance: float, solved_at: float,
                          provisional: bool = False, scale: float = 1.0) -> FigureDict:
    """Accuracy of each architecture (dict key) at each sequence length, with chance and the 'solved' line.

    provisional=True: the values are training-batch accuracies while training goes on, and the title says so.
    """
    title = "Accuracy against sequence length" + (" (training batches, so far)" if provisional else " (held out)")
    if not any(accuracy.values()):
        return message_figure(title, "No sweep yet: press Start sweep", scale=scale,
                              xlabel="sequence length T", ylabel="accuracy")
    fig = figure.new()
    lengths = _by_length_lines(fig, accuracy, ".2f", "")
    hline(fig, chance, f"chance {chance:.2g}", colour=style.MUTED_COLOUR, scale=scale)
    hline(fig, solved_at, f"solved at {solved_at:g}", colour=style.METRIC_COLOUR, scale=scale)
    _length_axis(fig, lengths)
    fig.update_yaxes(title_text="accuracy", range=[0, 1.05], tickvals=[0, 0.25, 0.5, 0.75, 1], tickformat=".0%")
    fig.update_layout(legend=dict(orientation="h", x=1, xanchor="right", y=1.02, yanchor="bottom"))
    return finish(fig, title, scale=scale)


def step_time_length_chart(ms_per_step: dict[str, dict[int, float]], *, scale: float = 1.0) -> FigureDict:
    """Training wall time per step (ms) of each architecture against sequence length, log-log."""
    title = "Wall time per step against sequence length"
    if not any(ms_per_step.values()):
        return message_figure(title, "No sweep yet: press Start sweep", scale=scale,
                              xlabel="sequence length T", ylabel="ms per step")
    fig = figure.new()
    lengths = _by_length_lines(fig, ms_per_step, ".2f", " ms per step")
    _length_axis(fig, lengths)
    values = np.array([v for points in ms_per_step.values() for v in points.values()], dtype=float)
    fig.update_yaxes(title_text="ms per training step", **log_axis(values))
    fig.update_layout(legend=dict(orientation="h", x=1, xanchor="right", y=1.02, yanchor="bottom"))
    return finish(fig, title, scale=scale)
