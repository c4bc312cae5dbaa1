"""Shared layout and data helpers for the chart builders. Not a chart itself."""
from __future__ import annotations

import functools
import html
import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from explorer import style
from explorer.charts import figure
from explorer.charts.figure import FigureDict

_TEMPLATE = go.layout.Template(pio.templates["plotly_white"])
# Tick labels may overflow the chart's div (ours sit inside the margins): plotly.js otherwise measures every
# label's box on every redraw to hide overflowing ones, a sixth of a live chart's draw time.
_TEMPLATE.layout.xaxis.ticklabeloverflow = _TEMPLATE.layout.yaxis.ticklabeloverflow = "allow"
TEMPLATE = _TEMPLATE.to_plotly_json()  # whole, not its name: plotly.js knows no template names


def font(scale: float, size: float = style.FONT_SIZE) -> dict:
    """Family and size only: colour comes from the layout font unless a caller sets its own."""
    return dict(family=style.FONT_FAMILY, size=round(size * scale))


def wrap(text: str, chars: int) -> list[str]:
    """Words into lines of at most `chars` characters (a longer word keeps a line of its own)."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= chars:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def title_lines(title: str, scale: float) -> list[str]:
    """The title in lines that fit a half-width chart at this scale: plotly clips a title, it never wraps one.

    Joined with " <br>": the text without markup (what tests and the browser read) keeps its spaces. A title that
    breaks its own lines (" <br>") keeps them, each wrapped on its own."""
    chars = max(12, round(style.TITLE_LINE_CHARS / scale))
    return [line for part in title.split(" <br>") for line in wrap(part, chars)]


def fit_screen(height: float, scale: float) -> float:
    """A height (at scale 1) no taller than one projector screen once scaled: style.SCREEN_HEIGHT."""
    return min(height, style.SCREEN_HEIGHT / scale)


def _height(plot: int, extra: int) -> int:
    """The figure's height with `extra` title lines: a chart that fitted one projector screen still does."""
    return min(plot + extra, style.SCREEN_HEIGHT) if plot <= style.SCREEN_HEIGHT else plot + extra


def finish(fig: FigureDict, title: str, *, scale: float = 1.0, height: float = style.HEIGHT,
           legend: bool = True) -> FigureDict:
    """White template, projector-sized fonts, a title and a height: the look every chart shares.

    A long title wraps onto more lines and the top margin grows to hold them."""
    margin = {k: round(v * scale) for k, v in style.MARGIN.items()}
    lines = title_lines(title, scale)
    extra = round((len(lines) - 1) * style.TITLE_SIZE * 1.25 * scale)
    margin["t"] += extra
    fig.update_layout(
        template=_TEMPLATE if not isinstance(fig, FigureDict) else TEMPLATE,
        title=dict(text=" <br>".join(lines), font=font(scale, style.TITLE_SIZE), x=0.01, xanchor="left"),
        font=font(scale) | dict(color=style.TEXT_COLOUR),
        height=_height(round(height * scale), extra),
        margin=margin,
        hoverlabel=dict(font=font(scale, style.FONT_SIZE - 1)),
        showlegend=legend,
        legend=dict(font=font(scale, style.FONT_SIZE - 1), bgcolor="rgba(255,255,255,0.7)"),
    )
    for a in fig.layout.annotations or ():  # subplot titles (make_subplots sets a size, not our font) and unsized notes
        if a.font.size is None or a.font.family is None:
            a.font.update(font(scale, style.SUBPLOT_TITLE_SIZE))
    fig.update_xaxes(gridcolor=style.GRID_COLOUR, title_font=font(scale), tickfont=font(scale, style.FONT_SIZE - 2))
    fig.update_yaxes(gridcolor=style.GRID_COLOUR, title_font=font(scale), tickfont=font(scale, style.FONT_SIZE - 2))
    return fig


def a_an(label: str) -> str:
    """"an RNN", "an LSTM", "a GRU", "a Transformer": the article as the name is spoken."""
    return ("an " if label[:1] in "AEFHILMNORSX" and label.isupper() or label[:1] in "AEIOU" else "a ") + label


def note(fig: FigureDict, text: str, scale: float = 1.0) -> FigureDict:
    """A grey message in the middle of the plot area, e.g. "press Train" on an empty chart; it wraps to fit
    a half-width chart at this scale, as titles do."""
    chars = max(12, round(style.TITLE_LINE_CHARS * style.TITLE_SIZE / (style.FONT_SIZE + 3) / scale))
    fig.add_annotation(text=" <br>".join(wrap(text, chars)), xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                       font=font(scale, style.FONT_SIZE + 3) | dict(color=style.MUTED_COLOUR))
    return fig


def message_figure(title: str, text: str, *, scale: float = 1.0, xlabel: str = "", ylabel: str = "") -> FigureDict:
    """A titled chart with labelled axes and no data: what to draw when there is nothing to draw."""
    fig = figure.new()
    fig.update_xaxes(title_text=xlabel, showticklabels=False, zeroline=False, showgrid=False)
    fig.update_yaxes(title_text=ylabel, showticklabels=False, zeroline=False, showgrid=False)
    return finish(note(fig, text, scale), title, scale=scale, legend=False)


def colourbar(title: str, scale: float, **extra) -> dict:
    return dict(title=dict(text=title, side="right", font=font(scale, style.FONT_SIZE - 1)),
                tickfont=font(scale, style.FONT_SIZE - 2), thickness=round(16 * scale), **extra)


def _tick_text(value: float, plain: bool) -> str:
    if plain and 1e-3 <= value < 1e4 or value == 1:
        return f"{value:g}"
    mantissa, exponent = f"{value:.0e}".split("e")
    power = f"10<sup>{int(exponent)}</sup>"
    return power if mantissa == "1" else f"{mantissa}\u00d7{power}"


def log_axis(*series: np.ndarray) -> dict:
    """A log axis with plain tick labels: 1-2-5 steps over a short span, whole decades over a long one.

    Under one decade (one training step: a single point) the axis spans a decade around the values, so
    the point sits in the middle with a few readable ticks instead of plotly's sliver of crammed ones."""
    values = np.concatenate([np.ravel(np.asarray(s, dtype=float)) for s in series] or [np.ones(1)])
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        return dict(type="log")
    span = np.log10(values.max() / values.min())
    lo, hi = math.floor(np.log10(values.min())), math.ceil(np.log10(values.max()))
    hi = max(hi, lo + 1)
    axis: dict = dict(type="log")
    if span < 1:
        centre = (np.log10(values.min()) + np.log10(values.max())) / 2
        axis["range"] = [float(centre - 0.5), float(centre + 0.5)]
        lo, hi = math.floor(centre - 0.5), math.ceil(centre + 0.5)
    ticks, text = _log_ticks(lo, hi, bool(span <= 3.5))
    return axis | dict(tickvals=list(ticks), ticktext=list(text))


@functools.lru_cache(maxsize=1024)
def _log_ticks(lo: int, hi: int, plain: bool) -> tuple[tuple[float, ...], tuple[str, ...]]:
    """A log axis' ticks from 10^lo to 10^hi and their labels: 1-2-5 steps when `plain`, else whole decades
    (at most about eight). Remembered: live frames ask for the same few every time."""
    if plain:
        ticks = [m * 10.0**k for k in range(lo, hi + 1) for m in (1, 2, 5)]
    else:
        every = math.ceil((hi - lo) / 8)
        ticks = [10.0**k for k in range(lo, hi + 1, every)]
    return tuple(ticks), tuple(_tick_text(v, plain=plain) for v in ticks)


FEW_POINTS = 30  # a line of fewer points also marks each one: a single step is a dot, not nothing


def symmetric_range(values: np.ndarray, at_least: float = 0.0) -> tuple[float, float]:
    """(-m, m), m the largest finite |value| (at least `at_least`) rounded up to 1, 1.5, 2, 3, 5 or 7 x 10^k:
    0 stays white, and a live chart's colour scale holds still while values drift within a step."""
    finite = np.abs(values[np.isfinite(values)])
    m = max(float(finite.max()) if finite.size else 0.0, at_least)
    m = nice_ceil(m) if m > 0 else 1.0
    return -m, m


STEP_AXIS_GRID = (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8)  # x 10^k: where a live chart's training-step axis ends


def step_axis_end(step: float, to: int | None = None) -> float:
    """Where a training-step axis ends: at `to`, the steps the run is to take (a lesson's budget) while it has
    not passed them, so the axis holds still for the whole lesson; else the next point of STEP_AXIS_GRID, so
    a live chart keeps its axis (and its in-place redraws) for many frames, with at most a quarter of it
    ahead of the run."""
    if to is not None and 0 < step <= to:
        return float(to)
    return nice_ceil(step, STEP_AXIS_GRID) if step > 0 else 1.0


def nice_ceil(value: float, steps: tuple[float, ...] = (1, 1.5, 2, 3, 5, 7)) -> float:
    """The smallest of `steps` x 10^k that is >= value (> 0); by default 1, 1.5, 2, 3, 5, 7 x 10^k."""
    power = 10.0 ** np.floor(np.log10(value))
    return next(float(step * power) for step in (*steps, 10) if step * power >= value * (1 - 1e-9))


def state_range(values: np.ndarray, arch: str) -> tuple[float, float]:
    """[-1, 1] for tanh-bounded states; symmetric max |value| when they exceed it (relu RNN, transformer)."""
    lo, hi = symmetric_range(values)
    if arch != "transformer" and hi <= 1.0 + 1e-6:
        return style.TANH_RANGE
    return lo, hi


def log_clipped(values: np.ndarray) -> np.ndarray:
    """clip_log's values without its reasons (which cost more than the clipping): for what only draws or ranges."""
    return np.clip(np.asarray(values, dtype=float), style.GRAD_FLOOR, style.GRAD_CEIL)  # +-inf to the bounds, NaN stays


def clip_log(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values ready for a log axis: clipped into [GRAD_FLOOR, GRAD_CEIL], NaN kept (a gap).

    Returns (clipped, note) where note[i] is "" or the reason the drawn value differs from the real one.
    """
    values = np.asarray(values, dtype=float)
    clipped = log_clipped(values)
    reason = np.full(values.shape, "", dtype=object)
    for where, why in ((values < style.GRAD_FLOOR, f" (drawn at floor {style.GRAD_FLOOR:.0e})"),
                       (values > style.GRAD_CEIL, f" (drawn at ceiling {style.GRAD_CEIL:.0e})"),
                       (np.isnan(values), " (not a number: diverged)")):
        if where.any():
            reason[where] = why
    return clipped, reason


DRAWN_POINTS = 600  # a history line drawn with more points shows this many (see thin)


def thin(values: np.ndarray, points: int = DRAWN_POINTS) -> np.ndarray | None:
    """The indices of `values` a line chart draws: the series split into points / 2 equal runs, and of each run
    its lowest and its highest value in step order, and its first gap (a NaN, so a divergence still breaks the
    line). At a chart's width (under 1,300 px on a projector) the line looks the same, spikes and noise band
    included, from at most about `points` real points; a live frame's history lines were up to 2,000 each.
    None when the series has no more than `points` values: drawn whole."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n <= points:
        return None
    size = -(-n // max(1, points // 2))  # values per run; the last run may be shorter
    runs = -(-n // size)
    padded = np.full(runs * size, np.nan)
    padded[:n] = values
    finite = np.isfinite(padded).reshape(runs, size)
    rows = padded.reshape(runs, size)
    first = np.arange(runs) * size
    low = first + np.argmin(np.where(finite, rows, np.inf), axis=1)
    high = first + np.argmax(np.where(finite, rows, -np.inf), axis=1)
    gap = ~finite
    gap[-1, n - first[-1]:] = False  # the padding is no gap
    gaps = (first + np.argmax(gap, axis=1))[gap.any(axis=1)]
    return np.unique(np.concatenate([[0, n - 1], low, high, gaps]))  # the first and the newest always


def thinned(by: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """`arrays` (each as long as `by`) at the indices thin(by) keeps."""
    keep = thin(by)
    return arrays if keep is None else tuple(np.asarray(a)[keep] for a in arrays)


def finite_or_none(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Floats plotly draws with gaps where a value was NaN or infinite (NaN there: a gap in plotly.js and in
    plotly.py's typed arrays). An array, not a list: a live frame sends it as a typed array, about a
    third of the bytes of a JSON list of the same floats, and builds it without a call per point."""
    values = np.asarray(values, dtype=float)
    return np.where(np.isfinite(values), values, np.nan)


def token_label(token: str, max_chars: int = style.TOKEN_MAX_CHARS) -> str:
    """A token safe and short enough for a tick label: visible whitespace, HTML escaped."""
    shown = token.replace(" ", "\u2423").replace("\n", "\u21b5").replace("\t", "\u21e5")
    if len(shown) > max_chars:
        shown = shown[: max_chars - 1] + "\u2026"
    return html.escape(shown) if shown else "\u2205"


def example_tokens(trace, example: int, T: int) -> list[str] | None:
    """The probe example's input symbols (words, characters, keys), or None: none of the right length, or the
    inputs are numbers (a regression task's series), which the time axis would only repeat."""
    if trace.kind == "classify" and len(trace.tokens) > example and len(trace.tokens[example]) == T:
        return [str(t) for t in trace.tokens[example]]
    return None


def token_ticks(T: int, width: float = 1.0) -> int:
    """Label every k-th time step with its token: all of them up to style.TOKEN_TICKS_MAX_T steps on a
    half-width chart at scale 1; `width` is the axis's share of that (a panel of two: 1/2; larger type: 1/scale)."""
    return max(1, math.ceil(T / max(1.0, style.TOKEN_TICKS_MAX_T * width)))


def token_axis(fig: FigureDict, tokens: list[str] | None, T: int, *, row=None, col=None, title: str = "time step t",
               whose: str = "", width: float = 1.0, say: bool = True) -> None:
    """Label a time axis with the input tokens (every k-th when T is long or the axis narrow); plain t when
    there are none.

    `whose`: which example the tokens are from, when the chart is not of one example (a batch mean).
    `say`: name the tokens in the axis title (a grid of narrow panels has no room: the ticks show them)."""
    if tokens is None or len(tokens) != T:
        fig.update_xaxes(title_text=title, row=row, col=col)
        return
    k = token_ticks(T, width)
    shown = list(range(0, T, k))
    what = ("input token" if k == 1 else f"every {_ordinal(k)} token") + (f", {whose}" if whose else "")
    fig.update_xaxes(tickvals=shown, ticktext=[token_label(tokens[t]) for t in shown],
                     title_text=f"{title} ({what})" if say else title, row=row, col=col)


def upright_tick_room(fig: FigureDict, scale: float = 1.0) -> int:
    """px the x axis's token labels may take beyond one line of text: plotly turns labels that do not fit
    side by side upright, and then the axis title sits lower by the longest label's width (a word of the
    sentiment task: 'honest…'). 0 for labels of one or two characters, which stay level."""
    try:  # a figure dict, or a go.Figure
        ticktext = fig.layout["xaxis"]["ticktext"] or ()
    except KeyError:
        ticktext = ()
    longest = max((len(html.unescape(str(t))) for t in ticktext), default=0)
    if longest <= 2:
        return 0
    size = (style.FONT_SIZE - 2) * scale  # the tick font finish() sets
    return round((0.65 * longest - 0.5) * size)  # a character is about 0.6 of the font size wide, and a margin


def _ordinal(k: int) -> str:
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def time_axis(fig: FigureDict, trace, example: int, T: int, *, row=None, col=None, title: str = "time step t",
              width: float = 1.0, say: bool = True) -> None:
    """Label a time axis of one probe example's chart with its input tokens (token_axis)."""
    token_axis(fig, example_tokens(trace, example, T), T, row=row, col=col, title=title, width=width, say=say)


def check_index(name: str, value: int, size: int) -> None:
    if not 0 <= value < size:
        raise ValueError(f"{name} must be from 0 to {size - 1}; got {value}")


def hline(fig: FigureDict, y: float, label: str, *, yref: str = "y", colour: str = style.MUTED_COLOUR,
          scale: float = 1.0, log: bool = False) -> None:
    """A dashed horizontal reference line across the plot area, labelled at its right end.

    x is in "x domain" units, not "paper": a secondary y axis shrinks the plot area inside the paper.
    On a log axis a shape takes the data value but an annotation takes its log10 (plotly's rule).
    """
    fig.add_shape(type="line", xref="x domain", x0=0, x1=1, yref=yref, y0=y, y1=y, name=label,
                  line=dict(color=colour, dash="dash", width=2))
    fig.add_annotation(text=label, xref="x domain", x=1, xanchor="right", yref=yref, yanchor="bottom",
                       y=float(np.log10(y)) if log else y, showarrow=False, bgcolor="rgba(255,255,255,0.8)",
                       font=font(scale, style.FONT_SIZE - 1) | dict(color=colour))


def smooth(values: np.ndarray, span: int) -> np.ndarray:
    """Exponential moving average that steps over NaN (a diverged step) instead of spreading it."""
    alpha = 2.0 / (span + 1)
    out, avg = [], math.nan
    for v in np.asarray(values, dtype=float).tolist():  # Python floats: a fifth of the time of numpy scalars
        if math.isfinite(v):
            avg = v if avg != avg else avg + alpha * (v - avg)
        out.append(avg)
    return np.array(out)
