"""Charts of a run's History over training steps: loss, metric, global gradient norm."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from explorer import style
from explorer.charts import figure
from explorer.charts.figure import FigureDict
from explorer.charts._common import (
    FEW_POINTS, clip_log, finish, finite_or_none, font, hline, log_axis, message_figure, smooth, step_axis_end, thinned,
)

if TYPE_CHECKING:
    from explorer.history import History

SMOOTH_FROM = 100  # points; below this the raw curve is readable on its own


def _step_axis(fig: FigureDict, steps: np.ndarray, to: int | None = None) -> None:
    """The training-step axis, to `to` (a lesson's budget) when given; over a few steps, whole steps only
    (plotly would tick 0.5 steps)."""
    fig.update_xaxes(title_text="training step")
    if len(steps) and steps[-1] - steps[0] < 10 and to is None:
        fig.update_xaxes(range=[float(steps[0]) - 1, float(steps[-1]) + 1], dtick=1)
    elif len(steps):
        fig.update_xaxes(range=[0.0, step_axis_end(float(steps[-1]), to)])



def _all_positive(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return finite.size > 0 and bool(np.all(finite > 0))


def _loss_traces(fig: FigureDict, x: np.ndarray, loss: np.ndarray, name: str, colour: str, *,
                 faint: bool = False, say_smoothed: bool = True, **where) -> None:
    """The loss curve; past SMOOTH_FROM points, the raw curve goes faint under a smoothed one."""
    dash = "dash" if faint else "solid"
    if len(loss) >= SMOOTH_FROM:
        raw_x, raw = thinned(loss, x, loss)
        fig.add_trace(figure.scatter(x=raw_x, y=finite_or_none(raw), mode="lines", name=f"{name} (raw)",
                                 line=dict(color=colour, width=1), opacity=0.2 if faint else 0.3, showlegend=False,
                                 hovertemplate="step %{x}<br>loss %{y:.4g}<extra>" + name + "</extra>"), **where)
        loss = smooth(loss, span=max(5, len(loss) // 40))
        name = f"{name} (smoothed)" if say_smoothed else name
    x, loss = thinned(loss, x, loss)
    fig.add_trace(figure.scatter(x=x, y=finite_or_none(loss), mode="lines+markers" if len(loss) < FEW_POINTS else "lines",
                             name=name, line=dict(color=colour, width=2 if faint else 3, dash=dash),
                             marker=dict(size=8), opacity=0.6 if faint else 1,
                             hovertemplate="step %{x}<br>loss %{y:.4g}<extra>" + name + "</extra>"), **where)


def _metric_on_second_axis(fig: FigureDict, history: History, a: dict[str, np.ndarray], scale: float) -> None:
    """The metric and its chance line on the right-hand axis: percent for accuracy, log for positive errors."""
    name = history.metric_name
    x, metric = thinned(a["metric"], a["step"], a["metric"])
    fig.add_trace(figure.scatter(x=x, y=finite_or_none(metric), name=name,
                             mode="lines+markers" if len(x) < FEW_POINTS else "lines",
                             line=dict(color=style.METRIC_COLOUR, width=2.5), marker=dict(size=8),
                             hovertemplate="step %{x}<br>" + name + " %{y:.4g}<extra></extra>"), secondary_y=True)
    log = not history.higher_is_better and _all_positive(a["metric"]) and history.chance > 0
    hline(fig, history.chance, "chance", yref="y2", colour=style.METRIC_COLOUR, scale=scale, log=log)
    axis = dict(title_text=name, title_font_color=style.METRIC_COLOUR, showgrid=False)
    if log:
        axis.update(log_axis(a["metric"], np.array([history.chance])))
    elif name in ("accuracy", "exact match"):  # shares in [0, 1], explicit ticks: plotly would sync them to the loss axis grid
        axis.update(range=[0, 1.05], tickvals=[0, 0.25, 0.5, 0.75, 1], tickformat=".0%")
    fig.update_yaxes(secondary_y=True, **axis)


def _lr_marks(fig: FigureDict, history: History, scale: float) -> None:
    """A dotted vertical line where the learning rate changed while training (History.lr_changes), labelled
    with the new value at the top of the plot; each label a line below the one before (a schedule's changes
    may sit close together on a narrow chart), from the top again after three."""
    for k, (step, lr) in enumerate(getattr(history, "lr_changes", ())):
        fig.add_shape(type="line", x0=step, x1=step, yref="y domain", y0=0, y1=1, name=f"lr {lr:g}",
                      line=dict(color=style.MUTED_COLOUR, dash="dot", width=2))
        fig.add_annotation(text=f"lr → {lr:g}", x=step, yref="y domain", y=1 - 0.1 * (k % 3), xanchor="left", yanchor="top",
                           showarrow=False, bgcolor="rgba(255,255,255,0.8)",
                           font=font(scale, style.FONT_SIZE - 2) | dict(color=style.MUTED_COLOUR))


def loss_chart(history: History, *, compare: History | dict[str, History] | None = None,
               scale: float = 1.0, steps_to: int | None = None) -> FigureDict:
    """Loss over training steps (log axis when positive), the metric on a second axis and its chance level,
    and a dotted line at each learning-rate change made while training.

    When the metric is the loss itself (MSE on a regression task) one axis carries both.
    `compare`: a run (or named runs) to draw faint and dashed behind this one, e.g. the previous run.
    `steps_to`: the steps the run is to take (a lesson's budget): the step axis spans them from the start.
    """
    title = f"Loss and {history.metric_name}"
    if len(history) == 0:
        return message_figure(title, "No training steps yet: press Train", scale=scale,
                              xlabel="training step", ylabel="loss")
    a = history.arrays("step", "loss", "metric")
    loss, metric = a["loss"], a["metric"]
    # the metric is the loss itself (MSE on a regression task)? np.isclose's test on the first step settles most
    apart = abs(loss[0] - metric[0]) > 1e-8 + 1e-5 * abs(metric[0])  # False for NaN: then the whole test decides
    same = not apart and bool(np.allclose(loss, metric, equal_nan=True))
    fig = figure.make_subplots(specs=[[{"secondary_y": not same}]])
    others = {"previous run": compare} if compare is not None and not isinstance(compare, dict) else (compare or {})
    others = {name: other for name, other in others.items() if len(other)}
    faint = {name: other.arrays("step", "loss") for name, other in others.items()}
    for name, b in faint.items():
        _loss_traces(fig, b["step"], b["loss"], f"loss, {name}", style.MUTED_COLOUR, faint=True)
    _loss_traces(fig, a["step"], a["loss"], f"loss = {history.metric_name}" if same else "loss", style.LOSS_COLOUR)
    losses = [a["loss"]] + [b["loss"] for b in faint.values()]
    log = all(_all_positive(v) for v in losses) and (history.chance > 0 or not same)
    if same:
        hline(fig, history.chance, "chance", colour=style.METRIC_COLOUR, scale=scale, log=log)
        losses.append(np.array([history.chance]))
    else:
        _metric_on_second_axis(fig, history, a, scale)
    _step_axis(fig, a["step"], steps_to)
    _lr_marks(fig, history, scale)
    fig.layout.yaxis.update(title_text=f"loss = {history.metric_name}" if same else "loss",
                            title_font_color=style.LOSS_COLOUR, **(log_axis(*losses) if log else dict(type="linear")))
    fig.update_layout(legend=dict(orientation="h", x=1, xanchor="right", y=1.02, yanchor="bottom"))
    return finish(fig, title, scale=scale)


def loss_compare_chart(histories: dict[str, History], *, x: str = "step", scale: float = 1.0,
                       steps_to: int | None = None) -> FigureDict:
    """Loss curves of several runs overlaid (labels = dict keys), against training step or wall time;
    `steps_to`: the steps each run is to take (the race's budget), where the step axis ends."""
    if x not in ("step", "wall"):
        raise ValueError(f"x must be 'step' or 'wall'; got {x!r}")
    title = "Loss by architecture"
    xlabel = "training step" if x == "step" else "wall time (s)"
    runs = {name: h for name, h in histories.items() if len(h)}
    if not runs:
        return message_figure(title, "No training steps yet: press Train", scale=scale, xlabel=xlabel, ylabel="loss")
    fig = figure.new()
    used: set[str] = set()
    losses = []
    for k, (name, h) in enumerate(runs.items()):
        colour = style.arch_colour(name, default=style.SERIES_COLOURS[k % len(style.SERIES_COLOURS)])
        if colour in used:  # two runs of one architecture: tell them apart
            colour = next((c for c in style.SERIES_COLOURS if c not in used), colour)
        used.add(colour)
        a = h.arrays(x, "loss")
        _loss_traces(fig, a[x], a["loss"], name, colour, say_smoothed=False)
        losses.append(a["loss"])
    if x == "step" and steps_to is not None:
        _step_axis(fig, np.array([max(h.step[-1] for h in runs.values())]), steps_to)  # runs: none empty
    fig.update_xaxes(title_text=xlabel)
    fig.update_yaxes(title_text="loss", **(log_axis(*losses) if all(map(_all_positive, losses)) else {}))
    fig.update_layout(legend=dict(orientation="h", x=1, xanchor="right", y=1.02, yanchor="bottom"))
    return finish(fig, title, scale=scale)


def param_grad_chart(history: History, *, scale: float = 1.0, steps_to: int | None = None) -> FigureDict:
    """Global gradient norm over all parameters (before clipping) per training step, log axis; the step axis
    to `steps_to` (a lesson's budget) when given."""
    title = "Parameter gradients"
    if len(history) == 0:
        return message_figure(title, "No training steps yet: press Train", scale=scale,
                              xlabel="training step", ylabel="global grad norm")
    a = history.arrays("step", "grad_norm")
    x, norm = thinned(a["grad_norm"], a["step"], a["grad_norm"])
    y, reason = clip_log(norm)
    fig = figure.new(figure.scatter(
        x=x, y=finite_or_none(y), mode="lines+markers" if len(y) < FEW_POINTS else "lines",
        name="global grad norm", line=dict(color=style.LOSS_COLOUR, width=2.5), marker=dict(size=8), customdata=norm, text=reason,
        hovertemplate="step %{x}<br>grad norm %{customdata:.3e}%{text}<extra></extra>",
    ))
    if history.clip_grad_norm is not None:
        hline(fig, history.clip_grad_norm, f"clip at {history.clip_grad_norm:g}", colour=style.METRIC_COLOUR,
              scale=scale, log=True)
    _step_axis(fig, a["step"], steps_to)
    clip = [history.clip_grad_norm] if history.clip_grad_norm is not None else []
    fig.update_yaxes(title_text="global grad norm (before clipping)", **log_axis(y, np.array(clip)))
    return finish(fig, title, scale=scale, legend=False)
