"""Closed-loop forecasts of one probe example: the one-step forecast beside k-step-ahead ones fed on the model's
own outputs. Not the computation (explorer/evaluate.py free_running fills Trace.free_running)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from explorer import style
from explorer.charts import figure
from explorer.charts.figure import FigureDict
from explorer.charts._common import check_index, finish, finite_or_none, time_axis

if TYPE_CHECKING:
    from explorer.records import Trace

# one look per horizon, k = 1 first (the teacher-forced forecast): colour-blind-safe colours and distinct dashes
LOOKS = ((style.PREDICTION_COLOUR, "solid"), ("#009E73", "dash"), ("#CC79A7", "dashdot"), ("#D55E00", "dot"))


def horizon_mse(trace: Trace, example: int) -> tuple[int, dict[int, float]]:
    """(first step, MSE of each horizon's forecasts on this example) over the scored steps every horizon reaches:
    t >= max(k) - 1, so all horizons are scored on the same targets. Empty when there is no such step."""
    first = max(trace.horizons) - 1
    targets = trace.targets[example, :, 0]  # (T,)
    steps = np.flatnonzero(~np.isnan(targets) & (np.arange(targets.size) >= first))
    if steps.size == 0:
        return first, {}
    return first, {k: float(np.mean((trace.free_running[i, example, steps, 0] - targets[steps]) ** 2))
                   for i, k in enumerate(trace.horizons)}


def _name(k: int, mse: float | None) -> str:
    name = "k=1, true inputs" if k == 1 else f"k={k}, own outputs"
    return name if mse is None else f"{name}: MSE {mse:.2g}"


def free_running_chart(trace: Trace, example: int = 0, *, scale: float = 1.0) -> FigureDict:
    """The target and, per horizon k, the forecast of each step from the true inputs up to k steps before it,
    the model reading its own outputs in between. k = 1 is the ordinary one-step (teacher-forced) prediction."""
    if trace.free_running is None:
        raise ValueError("this trace has no free-running forecasts (forecasting tasks with an RNN, LSTM or GRU)")
    check_index("example", example, trace.predictions.shape[0])
    targets = trace.targets[example, :, 0]  # (T,)
    T = targets.size
    t = np.arange(T)
    scored = ~np.isnan(targets)
    first, mse = horizon_mse(trace, example)
    fig = figure.new()
    fig.add_trace(figure.scatter(
        x=t[scored], y=finite_or_none(targets[scored]), name="target", mode="lines+markers",
        line=dict(color=style.TARGET_COLOUR, width=round(2 * scale)),
        marker=dict(symbol="diamond", size=round(7 * scale), color=style.TARGET_COLOUR),
        hovertemplate="t=%{x}<br>target %{y:.3g}<extra></extra>",
    ))
    for i, k in enumerate(trace.horizons):
        colour, dash = LOOKS[i % len(LOOKS)]
        fig.add_trace(figure.scatter(
            x=t, y=finite_or_none(trace.free_running[i, example, :, 0]), name=_name(k, mse.get(k)), mode="lines",
            line=dict(color=colour, dash=dash, width=round((3.5 if k == 1 else 3) * scale)),
            hovertemplate=f"t=%{{x}}<br>{k}-step forecast %{{y:.3g}}<extra></extra>",
        ))
    time_axis(fig, trace, example, T, width=1 / scale)
    fig.update_yaxes(title_text="value")
    fig.update_layout(legend=dict(orientation="h", x=0, xanchor="left", y=-0.22 - 0.05 * (scale - 1), yanchor="top"))
    title = f"Prediction k steps ahead (example {example})" + (f", MSE from t = {first}" if mse else "")
    return finish(fig, title, scale=scale, height=style.HEIGHT + 60)
