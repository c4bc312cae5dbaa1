"""What the model outputs for one probe example, against the target, in the shape each task asks for."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from explorer import style
from explorer.charts import figure
from explorer.charts.figure import FigureDict
from explorer.charts.forecast import free_running_chart
from explorer.charts.shared import steady_linear
from explorer.charts._common import (
    check_index, colourbar, example_tokens, finish, finite_or_none, hline, message_figure, time_axis,
    title_lines, token_label,
)

if TYPE_CHECKING:
    from explorer.records import Trace

MAX_BARS = 30  # classes shown when one step is scored; the most probable, and always the target
BARELY = 0.25  # right, but p(target) less than this share of the way from chance (1/C) up to 1: barely above chance
VERDICTS = ("wrong", "right, barely above chance", "right")  # what verdict() says
LEGEND_ROW = 32  # px at scale 1: the class bars' legend, under the plot
MARKS_AT = 1.06  # p at which the class bars' target and predicted marks sit, above the bars (which end at 1)


def verdict(p_target: float, right: bool, classes: int) -> str:
    """How a prediction is named in titles: "wrong", "right, barely above chance" or "right".

    Right means the target is the most probable class; an untrained model can be right with p(target)
    = 0.27 against 0.25 chance, which is luck, not knowledge, so it says so."""
    if not right:
        return "wrong"
    chance = 1.0 / classes
    return "right, barely above chance" if p_target < chance + BARELY * (1 - chance) else "right"


def softmax(logits: np.ndarray) -> np.ndarray:
    """Over the last axis, stable for large logits."""
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def _class_names(trace: Trace, C: int) -> list[str]:
    return list(trace.classes) if len(trace.classes) == C else [str(c) for c in range(C)]


def _hover_tokens(trace: Trace, example: int, T: int) -> list[str]:
    tokens = example_tokens(trace, example, T)
    return [f" ({token_label(t, 20)})" for t in tokens] if tokens else [""] * T


def _regress(trace: Trace, example: int, scale: float) -> FigureDict:
    """Prediction at every step as a line; the target, drawn on top, only where it is scored."""
    targets, preds = trace.targets[example], trace.predictions[example]  # (T, O), (T, O)
    T, O = preds.shape
    t = np.arange(T)
    scored = trace.scored[example]  # (T,)
    tokens = _hover_tokens(trace, example, T)
    fig = figure.new()
    for o in range(O):
        colour = style.PREDICTION_COLOUR if O == 1 else style.SERIES_COLOURS[o % len(style.SERIES_COLOURS)]
        suffix = "" if O == 1 else f" {o}"
        fig.add_trace(figure.scatter(
            x=t, y=finite_or_none(preds[:, o]), mode="lines", name=f"prediction{suffix}", customdata=tokens,
            line=dict(color=colour, width=3), hovertemplate="t=%{x}%{customdata}<br>prediction %{y:.4g}<extra></extra>",
        ))
        fig.add_trace(figure.scatter(
            x=t[scored], y=finite_or_none(targets[scored, o]), name=f"target{suffix}",
            mode="lines+markers" if scored.all() else "markers",
            line=dict(color=style.TARGET_COLOUR, width=2), customdata=np.asarray(tokens)[scored],
            marker=dict(symbol="diamond", size=round(11 * scale) if scored.sum() <= 60 else 4,
                        color=style.TARGET_COLOUR),
            hovertemplate="t=%{x}%{customdata}<br>target %{y:.4g}<extra></extra>",
        ))
    time_axis(fig, trace, example, T, width=1 / scale)
    drawn = np.concatenate([preds.ravel(), targets[scored].ravel()])
    # coarser than other steady axes: a prediction wanders near the edge, and a live view redraws less
    fig.update_yaxes(title_text="value", **(steady_linear(drawn[np.isfinite(drawn)], parts=4) or {}))
    fig.update_layout(legend=dict(orientation="h", x=1, xanchor="right", y=1.02, yanchor="bottom"))
    return finish(fig, f"Prediction vs target (example {example})", scale=scale)


def _per_step(trace: Trace, example: int, probs: np.ndarray, scale: float) -> FigureDict:
    """Every step scored: p(target class) per step as bars, coloured and marked by verdict(): right, barely
    above chance (the legend shows it only when a step is), wrong."""
    T, C = probs.shape
    target = trace.targets[example]  # (T,) int, -100 where not scored
    t = np.flatnonzero(target >= 0)
    p_target = probs[t, target[t]]
    predicted = probs[t].argmax(-1)
    said = np.array([verdict(p, right, C) for p, right in zip(p_target, predicted == target[t])])
    names = np.asarray(_class_names(trace, C), dtype=object)
    tokens = np.asarray(_hover_tokens(trace, example, T), dtype=object)[t]
    info = np.stack([tokens, names[target[t]], names[predicted], said], axis=-1)
    looks = {"right": ("circle", style.CORRECT_COLOUR), "right, barely above chance": ("circle-open", style.MUTED_COLOUR),
             "wrong": ("x", style.WRONG_COLOUR)}
    fig = figure.new(figure.bar(
        x=t, y=p_target, marker_color=[looks[v][1] for v in said],
        customdata=info, showlegend=False, name="p(target)",
        hovertemplate="t=%{x}%{customdata[0]}<br>target %{customdata[1]}, predicted %{customdata[2]}"
                      "<br>p(target)=%{y:.3f}: %{customdata[3]}<extra></extra>",
    ))
    size = round((12 if len(t) <= 60 else 6) * scale)
    for label, (symbol, colour) in looks.items():
        mask = said == label
        barely = label.startswith("right,")
        if mask.any() or not barely:
            fig.add_trace(figure.scatter(x=t[mask], y=np.full(mask.sum(), 1.07), mode="markers",
                                         name="barely above chance" if barely else label,
                                         marker=dict(symbol=symbol, size=size, color=colour), hoverinfo="skip"))
    hline(fig, 1.0 / C, f"uniform 1/{C}", scale=scale)
    time_axis(fig, trace, example, T, width=1 / scale)
    fig.update_yaxes(title_text="p(target class)", range=[0, 1.12], tickvals=[0, 0.25, 0.5, 0.75, 1])
    fig.update_layout(bargap=0.15, legend=dict(orientation="h", x=1, xanchor="right", y=1.02, yanchor="bottom"))
    right, barely = np.mean(said != "wrong"), np.mean(said == "right, barely above chance")
    title = f"Prediction: p(target), {right:.0%} right" + (f", {barely:.0%} barely above chance" if barely else "")
    return finish(fig, title, scale=scale)


def steady_title(head: str, said: str, scale: float) -> str:
    """"head said" on one line when every verdict would fit there at this scale, else the verdict on a line of its
    own: the same lines whatever the verdict, so a live chart's title keeps its height as the verdict changes
    (and the browser rewrites its words in place)."""
    longest = max(VERDICTS, key=len)
    return f"{head} {said}" if len(title_lines(f"{head} {longest}", scale)) == 1 else f"{head} <br>{said}"


def _class_bars(trace: Trace, example: int, probs: np.ndarray, step: int, scale: float) -> FigureDict:
    """One scored step: the probability of each class, the target's bar highlighted, the target and the
    predicted class marked in a band above p = 1.

    Laid out so that training moves values only (the browser moves them in place): classes sit at 0, 1, ...
    on a numeric axis named by its ticks, the two marks are traces, and the title keeps its lines."""
    p = probs[step]  # (C,)
    C = len(p)
    target = int(trace.targets[example, step])
    shown = np.argsort(-p)[:MAX_BARS]
    if target not in shown:
        shown = np.append(shown[:-1], target)
    shown = np.sort(shown)
    names = _class_names(trace, C)
    predicted = int(p.argmax())
    colours = [style.CORRECT_COLOUR if c == target else style.WRONG_COLOUR if c == predicted else
               style.OTHER_CLASS_COLOUR for c in shown]
    labels = [names[c] for c in shown]
    at = np.arange(len(shown))
    column = {c: i for i, c in enumerate(shown.tolist())}
    fig = figure.new(figure.bar(x=at, y=p[shown], marker_color=colours, name="probability", customdata=labels,
                                showlegend=False, hovertemplate="class %{customdata}<br>p=%{y:.3f}<extra></extra>"))
    size = round(14 * scale)
    for name, c, marker in (
            ("target", target, dict(symbol="diamond-open", size=round(1.6 * size), color=style.CORRECT_COLOUR,
                                    line=dict(width=round(3 * scale)))),
            ("predicted", predicted, dict(symbol="triangle-down", size=size, color=style.TEXT_COLOUR))):
        fig.add_trace(figure.scatter(x=[column[c]], y=[MARKS_AT], mode="markers", name=name, marker=marker,
                                     customdata=[names[c]], hovertemplate=f"{name} %{{customdata}}<extra></extra>"))
    hline(fig, 1.0 / C, f"uniform 1/{C}", scale=scale)
    fig.update_xaxes(title_text=f"class (probe example {example})", tickvals=at, ticktext=labels,
                     range=[-0.5, len(shown) - 0.5], autorange=False, zeroline=False)
    fig.update_yaxes(title_text="probability", range=[0, 1.12], tickvals=[0, 0.25, 0.5, 0.75, 1])
    # the legend under the axis title, in a row of its own: above the plot it would meet a long verdict
    fig.update_layout(legend=dict(orientation="h", x=1, xanchor="right", yref="container", y=0, yanchor="bottom"))
    said = verdict(float(p[target]), predicted == target, C)
    fig = finish(fig, steady_title(f"Prediction at t={step}:", said, scale), scale=scale,
                 height=style.HEIGHT + LEGEND_ROW)
    fig.layout.margin["b"] += round(LEGEND_ROW * scale)
    return fig


def _prob_table(trace: Trace, example: int, probs: np.ndarray, steps: np.ndarray, scale: float) -> FigureDict:
    """A few scored steps (copy): probability per class (y) and scored step (x), each target outlined."""
    C = probs.shape[1]
    names = _class_names(trace, C)
    target = trace.targets[example, steps]  # (n,)
    x = [str(s) for s in steps]
    fig = figure.new(figure.heatmap(
        z=probs[steps].T, x=x, y=names, zmin=0, zmax=1, colorscale=style.PROBABILITY_SCALE,
        colorbar=colourbar("probability", scale), hovertemplate="t=%{x}, class %{y}<br>p=%{z:.3f}<extra></extra>",
    ))
    wrong = probs[steps].argmax(-1) != target
    fig.add_trace(figure.scatter(
        x=x, y=[names[c] for c in target], mode="markers", name="target",
        marker=dict(symbol="square-open", size=round(22 * scale), color=style.WRONG_COLOUR, line=dict(width=3)),
        hovertemplate="t=%{x}<br>target %{y}<extra></extra>",
    ))
    fig.update_xaxes(title_text="scored time step t", type="category")
    fig.update_yaxes(title_text="class", type="category")
    fig.update_layout(legend=dict(orientation="h", x=0, xanchor="left", y=1.02, yanchor="bottom"))
    title = f"Prediction: {1 - wrong.mean():.0%} correct"
    return finish(fig, title, scale=scale, height=max(style.HEIGHT, 40 * C + 140))


def prediction_chart(trace: Trace, example: int = 0, *, scale: float = 1.0) -> FigureDict:
    """Prediction against target for one probe example.

    regress: target and prediction over t; on a forecasting task with an RNN/LSTM/GRU (the trace holds
    free_running) also the k-step-ahead forecasts fed on the model's own outputs (free_running_chart). classify with most steps scored (parity, text, lookahead):
    p(target) per step. One scored step (recall, sentiment): class probabilities at that step.
    A few scored steps (copy): a table of class probabilities per scored step.
    """
    check_index("example", example, trace.predictions.shape[0])
    if trace.kind == "regress" and trace.free_running is not None:
        return free_running_chart(trace, example, scale=scale)
    if trace.kind == "regress":
        return _regress(trace, example, scale)
    T = trace.predictions.shape[1]
    steps = np.flatnonzero(trace.scored[example])
    if steps.size == 0:
        return message_figure("Prediction", "No step of this example is scored.", scale=scale,
                              xlabel="time step t", ylabel="probability")
    probs = softmax(trace.predictions[example].astype(float))  # (T, C)
    if steps.size == 1:
        return _class_bars(trace, example, probs, int(steps[0]), scale)
    if steps.size >= T / 2:
        return _per_step(trace, example, probs, scale)
    return _prob_table(trace, example, probs, steps, scale)
