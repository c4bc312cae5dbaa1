"""Charts of precomputed arrays: a hidden-state trajectory, W_hh eigenvalues, a saliency strip, one step's
gate and state strips, step Jacobian norms over time, one query's attention row.

The numbers (PCA projection, eigenvalues, input gradients) are computed elsewhere; these only draw.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from explorer import style
from explorer.charts import figure
from explorer.charts.figure import FigureDict
from explorer.charts._common import (
    check_index, clip_log, colourbar, finish, font, hline, log_axis, symmetric_range, token_label,
)


def hidden_trajectory(points: np.ndarray, t_mark: int, *, axis_labels: Sequence[str] | None = None,
                      scale: float = 1.0) -> FigureDict:
    """The path of h_t projected to 2 or 3 dimensions (points (T, 2|3)), coloured by t, step t_mark ringed."""
    points = np.asarray(points, dtype=float)
    T, k = points.shape
    if k not in (2, 3):
        raise ValueError(f"points must have 2 or 3 columns; got shape {points.shape}")
    check_index("t_mark", t_mark, T)
    labels = list(axis_labels or [f"PC {j + 1}" for j in range(k)])
    t = np.arange(T)
    marker = dict(color=t, colorscale=style.TIME_SCALE, size=round(8 * scale), showscale=True,
                  colorbar=colourbar("time step t", scale))
    hover = "t=%{customdata}<extra></extra>"
    if k == 2:
        fig = figure.new(figure.scatter(x=points[:, 0], y=points[:, 1], mode="lines+markers", marker=marker,
                                   line=dict(color=style.OTHER_CLASS_COLOUR, width=1.5), customdata=t,
                                   hovertemplate=hover, name="h_t"))
        fig.add_trace(figure.scatter(x=points[[t_mark], 0], y=points[[t_mark], 1], mode="markers+text",
                                 text=[f"t={t_mark}"], textposition="top right", name=f"t={t_mark}",
                                 marker=dict(symbol="circle-open", size=round(22 * scale), color=style.WRONG_COLOUR,
                                             line=dict(width=3)), hoverinfo="skip"))
        fig.add_annotation(x=points[0, 0], y=points[0, 1], text="t=0", showarrow=True, arrowhead=2, ax=-30, ay=-30)
        fig.update_xaxes(title_text=labels[0])
        fig.update_yaxes(title_text=labels[1])
    else:
        fig = figure.new(figure.scatter3d(x=points[:, 0], y=points[:, 1], z=points[:, 2], mode="lines+markers",
                                     marker=marker | dict(size=round(4 * scale)), customdata=t, hovertemplate=hover,
                                     line=dict(color=style.OTHER_CLASS_COLOUR, width=2), name="h_t"))
        fig.add_trace(figure.scatter3d(x=points[[t_mark], 0], y=points[[t_mark], 1], z=points[[t_mark], 2],
                                   mode="markers+text", text=[f"t={t_mark}"], name=f"t={t_mark}",
                                   marker=dict(size=round(9 * scale), color=style.WRONG_COLOUR), hoverinfo="skip"))
        axis = dict(tickfont=font(scale, style.FONT_SIZE - 5), title_font=font(scale, style.FONT_SIZE - 1), nticks=5)
        fig.update_layout(scene=dict(aspectmode="cube", **{f"{a}axis": axis | dict(title_text=label)
                                                           for a, label in zip("xyz", labels)}))
    return finish(fig, f"Hidden state trajectory (t={t_mark})", scale=scale, height=style.HEIGHT + 60, legend=False)


def eigenvalue_chart(eigvals: np.ndarray, radius: float, *, scale: float = 1.0) -> FigureDict:
    """Eigenvalues of W_hh in the complex plane, with the unit circle and a circle of the given radius.

    |lambda| > 1 along a direction makes it grow step after step (exploding); < 1 makes it fade (vanishing).
    """
    eigvals = np.asarray(eigvals, dtype=complex)
    angle = np.linspace(0, 2 * np.pi, 361)
    fig = figure.new()
    fig.add_trace(figure.scatter(x=np.cos(angle), y=np.sin(angle), mode="lines", name="unit circle |λ| = 1",
                             line=dict(color=style.TEXT_COLOUR, width=2), hoverinfo="skip"))
    fig.add_trace(figure.scatter(x=radius * np.cos(angle), y=radius * np.sin(angle), mode="lines",
                             name=f"radius {radius:.3g}", line=dict(color=style.MUTED_COLOUR, width=2, dash="dash"),
                             hoverinfo="skip"))
    outside = np.abs(eigvals) > 1
    for mask, label, colour in ((~outside, "|λ| ≤ 1: fades", style.CORRECT_COLOUR),
                                (outside, "|λ| > 1: grows", style.WRONG_COLOUR)):
        fig.add_trace(figure.scatter(
            x=eigvals.real[mask], y=eigvals.imag[mask], mode="markers", name=label,
            marker=dict(color=colour, size=round(9 * scale), opacity=0.85), customdata=np.abs(eigvals[mask]),
            hovertemplate="λ = %{x:.3f} %{y:+.3f}i<br>|λ| = %{customdata:.3f}<extra></extra>",
        ))
    extent = max(1.15, 1.1 * radius, 1.1 * float(np.abs(eigvals).max(initial=0)))
    fig.update_xaxes(title_text="Re λ", range=[-extent, extent], zeroline=True, constrain="domain")
    fig.update_yaxes(title_text="Im λ", range=[-extent, extent], zeroline=True, scaleanchor="x", constrain="domain")
    return finish(fig, "Recurrent weights: eigenvalues of W_hh", scale=scale, height=style.HEIGHT + 100)


def saliency_strip(saliency: np.ndarray, tokens: Sequence[str] | None, t: int, *, scale: float = 1.0) -> FigureDict:
    """How much each input step s moves the output at step t (saliency (T,)), as one coloured strip."""
    saliency = np.asarray(saliency, dtype=float)
    T = saliency.shape[0]
    check_index("t", t, T)
    if np.nanmin(saliency, initial=0) < 0:
        zmin, zmax = symmetric_range(saliency)
        colourscale = style.DIVERGING_SCALE
    else:
        zmin, zmax = 0.0, max(float(np.nanmax(saliency, initial=0)), 1e-12)
        colourscale = style.SALIENCY_SCALE
    tokens = [str(s) for s in tokens] if tokens is not None and len(tokens) == T else None
    hover_tokens = [f" ({token_label(s, 20)})" for s in tokens] if tokens else [""] * T
    fig = figure.new(figure.heatmap(
        z=saliency[None, :], x=np.arange(T), y=["input"], zmin=zmin, zmax=zmax, colorscale=colourscale,
        customdata=[hover_tokens], colorbar=colourbar("saliency", scale, len=1.2),
        hovertemplate="input step s=%{x}%{customdata}<br>saliency %{z:.3g}<extra></extra>",
    ))
    fig.add_shape(type="rect", x0=t - 0.5, x1=t + 0.5, y0=-0.5, y1=0.5, line=dict(color=style.TEXT_COLOUR, width=3))
    if tokens and T <= style.TOKEN_TICKS_MAX_T:
        fig.update_xaxes(tickvals=list(range(T)), ticktext=[token_label(s) for s in tokens],
                         title_text="input step s (input token)")
    else:
        fig.update_xaxes(title_text="input step s")
    fig.update_yaxes(showticklabels=False, title_text="")
    return finish(fig, f"Saliency of the output at t={t} (outlined) on each input step", scale=scale,
                  height=230, legend=False)


STRIP_ROW_HEIGHT = 58  # px per strip at scale 1
STRIP_TEXT_MAX_UNITS = 10  # print the value inside each cell up to this many units
STATE_LABELS = {"c_t": "cell state c_t", "h_t": "hidden state h_t"}


def _strip_style(name: str, values: np.ndarray, ranges: dict) -> tuple[str, tuple[float, float]]:
    """Colour scale and fixed range of one strip: a gate's from style, a state's from `ranges` or the data."""
    if name in style.GATE_RANGES:
        return style.gate_scale(name), tuple(style.GATE_RANGES[name])
    if name in ranges:
        return style.DIVERGING_SCALE, tuple(ranges[name])
    return style.DIVERGING_SCALE, symmetric_range(values, at_least=1.0)


def step_strips(rows: Sequence[tuple[str, np.ndarray]], title: str, *, ranges: dict | None = None,
                scale: float = 1.0) -> FigureDict:
    """One time step's vectors as 1 x H heat strips, one row each (rows: (name, values (H,))), unit on x.

    Names are gate letters (i f g o, r z n: ranges from style) or "h_t", "c_t" (diverging; pass the
    sequence-wide range in `ranges` so colours stay put while t moves). Rows that share a colour scale
    are drawn together under one colour bar; a row alone on its scale names its range in its label.
    Exact values in the hover, and printed in the cells for small H.
    """
    ranges = ranges or {}
    H = len(rows[0][1])
    styles = [_strip_style(name, np.asarray(v, dtype=float), ranges) for name, v in rows]
    order = sorted(range(len(rows)), key=lambda k: styles.index(styles[k]))  # stable: groups keep first-seen order
    groups: list[list[int]] = []  # positions (after ordering) that share one colour bar
    for pos, k in enumerate(order):
        if groups and styles[order[groups[-1][0]]] == styles[k]:
            groups[-1].append(pos)
        else:
            groups.append([pos])
    fig = figure.make_subplots(rows=len(rows), cols=1, shared_xaxes=True, vertical_spacing=min(0.04, 0.3 / len(rows)))
    text = dict(texttemplate="%{z:.2f}", textfont=font(scale, style.FONT_SIZE - 5)) if H <= STRIP_TEXT_MAX_UNITS else {}
    for group in groups:
        alone = len(group) == 1 and len(rows) > 1
        for pos in group:
            name, values = rows[order[pos]]
            colourscale, (zmin, zmax) = styles[order[pos]]
            label = style.GATE_NAMES.get(name, STATE_LABELS.get(name, name))
            shown = label + (f" (±{zmax:.2g})" if alone and zmin == -zmax else f" ({zmin:.2g}..{zmax:.2g})" if alone else "")
            fig.add_trace(figure.heatmap(
                z=[np.asarray(values, dtype=float)], x=np.arange(H), y=[shown], zmin=zmin, zmax=zmax,
                colorscale=colourscale, showscale=pos == group[0] and not alone, name=label, xgap=1, **text,
                hovertemplate=f"{label}<br>unit %{{x}}: %{{z:.4f}}<extra></extra>",
            ), row=pos + 1, col=1)
    fig.update_layout(margin=dict(r=round(90 * scale)))
    for group in groups:  # after layout: each colour bar spans its rows' y domains
        top = fig.layout[f"yaxis{group[0] + 1 if group[0] else ''}"].domain[1]
        bottom = fig.layout[f"yaxis{group[-1] + 1 if group[-1] else ''}"].domain[0]
        bar = colourbar("", scale, y=(top + bottom) / 2, len=top - bottom, yanchor="middle")
        fig.data[group[0]].colorbar = bar | dict(thickness=round(12 * scale))
    fig.update_yaxes(showgrid=False, automargin=True)
    fig.update_xaxes(showgrid=False, tickangle=0, dtick=1 if H <= 12 else 2 if H <= 24 else None)
    fig.update_xaxes(title_text="unit", row=len(rows), col=1)
    height = max(len(rows), 2) * STRIP_ROW_HEIGHT + style.MARGIN["t"] + style.MARGIN["b"]
    fig = finish(fig, title, scale=scale, height=height, legend=False)
    fig.update_yaxes(tickfont=font(scale, style.FONT_SIZE - 2))
    return fig


def step_jacobian_chart(norms: np.ndarray, *, bounds: np.ndarray | None = None, lstm: bool = False,
                        scale: float = 1.0) -> FigureDict:
    """Spectral norm of each step's Jacobian ds_t/ds_{t-1} over input step t (norms (D, T)), log axis.

    bounds (D, T): the running product of the norms read after t, an upper bound on ||ds_last/ds_t||.
    s_t = h_t, or (h_t, c_t) for the LSTM (lstm=True changes only the labels).
    """
    norms = np.atleast_2d(np.asarray(norms, dtype=float))
    D, T = norms.shape
    symbol = "ds_t/ds_{t-1}" if lstm else "dh_t/dh_{t-1}"
    last = "ds_last/ds_t" if lstm else "dh_last/dh_t"
    fig = figure.new()
    t = np.arange(T)
    shown = [norms]
    for d in range(D):
        where = f" ({style.DIRECTION_NAMES[d]})" if D == 2 else ""
        drawn, reason = clip_log(norms[d])
        fig.add_trace(figure.scatter(
            x=t, y=drawn, mode="lines+markers" if T <= 60 else "lines", name=f"||{symbol}||{where}",
            line=dict(color=style.SERIES_COLOURS[0], dash=style.DIRECTION_DASH[d], width=2.5),
            marker=dict(size=round(5 * scale)), customdata=np.stack([norms[d], reason], axis=-1),
            hovertemplate="t=%{x}<br>||" + symbol + "|| = %{customdata[0]:.4g}%{customdata[1]}<extra></extra>",
        ))
        if bounds is not None:
            b = np.atleast_2d(np.asarray(bounds, dtype=float))[d]
            drawn, reason = clip_log(b)
            shown.append(drawn)
            fig.add_trace(figure.scatter(
                x=t, y=drawn, mode="lines", name=f"product of later norms ≥ ||{last}||{where}",
                line=dict(color=style.SERIES_COLOURS[1], dash=style.DIRECTION_DASH[d], width=2),
                customdata=np.stack([b, reason], axis=-1),
                hovertemplate="t=%{x}<br>bound %{customdata[0]:.3g}%{customdata[1]}<extra></extra>",
            ))
    hline(fig, 1.0, "norm 1: neither shrinks nor grows", scale=scale, log=True)
    fig.update_xaxes(title_text="time step t")
    fig.update_yaxes(title_text="norm (log scale)", **log_axis(*shown, np.ones(1)))
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.22, x=0))
    title = ("Recurrent weights: ||ds_t/ds_{t-1}||<br><sup>LSTM state s_t = (h_t, c_t)</sup>" if lstm
             else "Recurrent weights: ||dh_t/dh_{t-1}||")
    fig = finish(fig, title, scale=scale, height=style.HEIGHT + 60)
    fig.update_layout(margin=dict(b=round(130 * scale)))
    return fig


def attention_row(weights: np.ndarray, t: int, tokens: Sequence[str] | None = None, *, layer: int = 0,
                  scale: float = 1.0) -> FigureDict:
    """Where query step t looks: weights (heads, T) over key steps s, one row per head, fixed range [0, 1]."""
    weights = np.asarray(weights, dtype=float)
    heads, T = weights.shape
    check_index("t", t, T)
    tokens = [str(s) for s in tokens] if tokens is not None and len(tokens) == T else None
    text = dict(texttemplate="%{z:.2f}", textfont=font(scale, style.FONT_SIZE - 4)) if T <= STRIP_TEXT_MAX_UNITS else {}
    hover = np.array([[f" ({token_label(s, 20)})" for s in tokens]] * heads) if tokens else None
    fig = figure.new(figure.heatmap(
        z=weights, x=np.arange(T), y=[f"head {h}" for h in range(heads)], zmin=style.ATTENTION_RANGE[0],
        zmax=style.ATTENTION_RANGE[1], colorscale=style.ATTENTION_SCALE, xgap=1, ygap=2, customdata=hover,
        colorbar=colourbar("attention weight", scale), **text,
        hovertemplate="%{y}<br>key s=%{x}" + ("%{customdata}" if tokens else "") + "<br>weight %{z:.3f}<extra></extra>",
    ))
    fig.add_shape(type="rect", x0=t - 0.5, x1=t + 0.5, y0=-0.5, y1=heads - 0.5, line=dict(color=style.TEXT_COLOUR, width=3))
    if tokens and T <= style.TOKEN_TICKS_MAX_T:
        fig.update_xaxes(tickvals=list(range(T)), ticktext=[token_label(s) for s in tokens],
                         title_text="key step s (input token)")
    else:
        fig.update_xaxes(title_text="key step s")
    fig.update_yaxes(title_text="", autorange="reversed", showgrid=False)
    return finish(fig, f"Attention of query t={t} (outlined) over key steps s, layer {layer}", scale=scale,
                  height=150 + 45 * heads, legend=False)
