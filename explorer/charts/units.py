"""Text coloured by one unit, and the model's top guesses for the next character under each character.

Plain numpy in, figure dicts out; the units and probabilities are computed elsewhere (explorer/units.py,
the trace's predictions). Not the page (explorer/ui/units_ui.py).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from explorer import style
from explorer.charts import figure
from explorer.charts.figure import FigureDict
from explorer.charts._common import colourbar, finish, font

ROW_CHARS = 32  # characters per line of coloured text
ROW_HEIGHT = 44  # px per line at scale 1
TOP_K = 5
GUESS_WIDTH = 16  # characters whose guesses one chart shows


def _shown(token: str) -> str:
    return "␣" if token == " " else token


def unit_text(tokens: Sequence[str], values: np.ndarray, title: str, *, label: str = "value",
              zrange: tuple[float, float] = style.TANH_RANGE, mark: int | None = None,
              scale: float = 1.0) -> FigureDict:
    """The input tokens in lines of ROW_CHARS, each cell coloured by one unit's value at that step (values (T,))
    on a fixed diverging range: blue below 0, white at 0, red above (the colours h_t has on every page).
    `mark` outlines one step (the page's time step t)."""
    values = np.asarray(values, dtype=float)
    T = len(tokens)
    if values.shape != (T,):
        raise ValueError(f"values must hold one number per token: shape ({T},); got {values.shape}")
    rows = max(1, -(-T // ROW_CHARS))
    z = np.full((rows, ROW_CHARS), np.nan)
    text = np.full((rows, ROW_CHARS), "", dtype=object)
    step = np.full((rows, ROW_CHARS), -1)
    for t in range(T):
        z[t // ROW_CHARS, t % ROW_CHARS] = values[t]
        text[t // ROW_CHARS, t % ROW_CHARS] = _shown(str(tokens[t]))
        step[t // ROW_CHARS, t % ROW_CHARS] = t
    fig = figure.new(figure.heatmap(
        z=z, text=text, texttemplate="%{text}", textfont=font(scale, style.FONT_SIZE + 1),
        colorscale=style.DIVERGING_SCALE, zmin=zrange[0], zmax=zrange[1], xgap=1, ygap=3, customdata=step,
        colorbar=colourbar(label, scale), hovertemplate="t=%{customdata}: %{text}<br>" + label + " %{z:.3f}<extra></extra>",
    ))
    if mark is not None and 0 <= mark < T:
        r, c = divmod(mark, ROW_CHARS)
        fig.add_shape(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5,
                      line=dict(color=style.TEXT_COLOUR, width=3))
    fig.update_xaxes(title_text=f"character in the line ({ROW_CHARS} a line)", showgrid=False, zeroline=False)
    fig.update_yaxes(title_text="line", autorange="reversed", showgrid=False, zeroline=False, dtick=1)
    return finish(fig, title, scale=scale, height=max(280, 150 + ROW_HEIGHT * rows), legend=False)


def next_guesses(tokens: Sequence[str], probs: np.ndarray, classes: Sequence[str], *, start: int = 0,
                 width: int = GUESS_WIDTH, k: int = TOP_K, mark: int | None = None, scale: float = 1.0) -> FigureDict:
    """Under each input character from `start` (width of them), the model's k likeliest next characters, most
    likely on top, each cell shaded by its probability and printing it in per cent (probs (T, V), a softmax over classes)."""
    probs = np.asarray(probs, dtype=float)
    T, V = probs.shape
    if len(tokens) != T or len(classes) != V:
        raise ValueError(f"need one token per step ({T}) and one class per column ({V}); got {len(tokens)} and {len(classes)}")
    start = max(0, min(start, T - 1))
    steps = np.arange(start, min(T, start + width))
    order = np.argsort(-probs[steps], axis=1)[:, :k]  # (W, k)
    p = np.take_along_axis(probs[steps], order, axis=1)  # (W, k)
    text = [[f"{_shown(classes[order[j, i]])}<br>{100 * p[j, i]:.0f}%" for j in range(len(steps))] for i in range(k)]
    fig = figure.new(figure.heatmap(
        z=p.T, x=steps, y=[f"guess {i + 1}" for i in range(k)], text=text, texttemplate="%{text}",
        textfont=font(scale, style.FONT_SIZE - 1), colorscale=style.PROBABILITY_SCALE, zmin=0, zmax=1, xgap=1, ygap=1,
        colorbar=colourbar("probability", scale), hovertemplate="after t=%{x}: %{text}<extra></extra>",
    ))
    if mark is not None and start <= mark < start + len(steps):
        fig.add_shape(type="rect", x0=mark - 0.5, x1=mark + 0.5, y0=-0.5, y1=k - 0.5,
                      line=dict(color=style.TEXT_COLOUR, width=3))
    fig.update_xaxes(tickvals=list(steps), ticktext=[_shown(str(tokens[t])) for t in steps], showgrid=False,
                     title_text="input character at step t (the guesses are for step t + 1)",
                     tickfont=font(scale, style.FONT_SIZE + 2))
    fig.update_yaxes(autorange="reversed", title_text="", showgrid=False)
    return finish(fig, f"Next-character guesses, top {k}, for t = {steps[0]} to {steps[-1]}", scale=scale,
                  height=150 + 44 * k, legend=False)
