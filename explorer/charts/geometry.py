"""Charts of precomputed arrays: a hidden-state trajectory, W_hh eigenvalues, a saliency strip.

The numbers (PCA projection, eigenvalues, input gradients) are computed elsewhere; these only draw.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from explorer import style
from explorer.charts._common import check_index, colourbar, finish, font, symmetric_range, token_label


def hidden_trajectory(points: np.ndarray, t_mark: int, *, axis_labels: Sequence[str] | None = None,
                      scale: float = 1.0) -> go.Figure:
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
        fig = go.Figure(go.Scatter(x=points[:, 0], y=points[:, 1], mode="lines+markers", marker=marker,
                                   line=dict(color=style.OTHER_CLASS_COLOUR, width=1.5), customdata=t,
                                   hovertemplate=hover, name="h_t"))
        fig.add_trace(go.Scatter(x=points[[t_mark], 0], y=points[[t_mark], 1], mode="markers+text",
                                 text=[f"t={t_mark}"], textposition="top right", name=f"t={t_mark}",
                                 marker=dict(symbol="circle-open", size=round(22 * scale), color=style.WRONG_COLOUR,
                                             line=dict(width=3)), hoverinfo="skip"))
        fig.add_annotation(x=points[0, 0], y=points[0, 1], text="t=0", showarrow=True, arrowhead=2, ax=-30, ay=-30)
        fig.update_xaxes(title_text=labels[0])
        fig.update_yaxes(title_text=labels[1])
    else:
        fig = go.Figure(go.Scatter3d(x=points[:, 0], y=points[:, 1], z=points[:, 2], mode="lines+markers",
                                     marker=marker | dict(size=round(4 * scale)), customdata=t, hovertemplate=hover,
                                     line=dict(color=style.OTHER_CLASS_COLOUR, width=2), name="h_t"))
        fig.add_trace(go.Scatter3d(x=points[[t_mark], 0], y=points[[t_mark], 1], z=points[[t_mark], 2],
                                   mode="markers+text", text=[f"t={t_mark}"], name=f"t={t_mark}",
                                   marker=dict(size=round(9 * scale), color=style.WRONG_COLOUR), hoverinfo="skip"))
        axis = dict(tickfont=font(scale, style.FONT_SIZE - 5), title_font=font(scale, style.FONT_SIZE - 1), nticks=5)
        fig.update_layout(scene=dict(aspectmode="cube", **{f"{a}axis": axis | dict(title_text=label)
                                                           for a, label in zip("xyz", labels)}))
    return finish(fig, f"Hidden state trajectory (t={t_mark})", scale=scale, height=style.HEIGHT + 60, legend=False)


def eigenvalue_chart(eigvals: np.ndarray, radius: float, *, scale: float = 1.0) -> go.Figure:
    """Eigenvalues of W_hh in the complex plane, with the unit circle and a circle of the given radius.

    |lambda| > 1 along a direction makes it grow step after step (exploding); < 1 makes it fade (vanishing).
    """
    eigvals = np.asarray(eigvals, dtype=complex)
    angle = np.linspace(0, 2 * np.pi, 361)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=np.cos(angle), y=np.sin(angle), mode="lines", name="unit circle |λ| = 1",
                             line=dict(color=style.TEXT_COLOUR, width=2), hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=radius * np.cos(angle), y=radius * np.sin(angle), mode="lines",
                             name=f"radius {radius:.3g}", line=dict(color=style.MUTED_COLOUR, width=2, dash="dash"),
                             hoverinfo="skip"))
    outside = np.abs(eigvals) > 1
    for mask, label, colour in ((~outside, "|λ| ≤ 1: fades", style.CORRECT_COLOUR),
                                (outside, "|λ| > 1: grows", style.WRONG_COLOUR)):
        fig.add_trace(go.Scatter(
            x=eigvals.real[mask], y=eigvals.imag[mask], mode="markers", name=label,
            marker=dict(color=colour, size=round(9 * scale), opacity=0.85), customdata=np.abs(eigvals[mask]),
            hovertemplate="λ = %{x:.3f} %{y:+.3f}i<br>|λ| = %{customdata:.3f}<extra></extra>",
        ))
    extent = max(1.15, 1.1 * radius, 1.1 * float(np.abs(eigvals).max(initial=0)))
    fig.update_xaxes(title_text="Re λ", range=[-extent, extent], zeroline=True, constrain="domain")
    fig.update_yaxes(title_text="Im λ", range=[-extent, extent], zeroline=True, scaleanchor="x", constrain="domain")
    return finish(fig, "Recurrent weights: eigenvalues of W_hh", scale=scale, height=style.HEIGHT + 100)


def saliency_strip(saliency: np.ndarray, tokens: Sequence[str] | None, t: int, *, scale: float = 1.0) -> go.Figure:
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
    fig = go.Figure(go.Heatmap(
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
