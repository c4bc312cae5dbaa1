"""Transformer attention weights: query step t (y) against key step s (x), fixed range [0, 1]."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from explorer import style
from explorer.charts import figure
from explorer.charts.figure import FigureDict
from explorer.charts._common import (
    a_an, check_index, colourbar, example_tokens, finish, fit_screen, message_figure, token_label,
)

if TYPE_CHECKING:
    from explorer.records import Trace

PLOT_WIDTH_PX = 800  # plot area of a typical page column, for deciding whether token ticks fit
TICK_PX = 18  # room one token tick label needs


def _no_attention(trace: Trace, title: str, scale: float) -> FigureDict:
    label = style.ARCH_LABELS.get(trace.arch, trace.arch)
    return message_figure(title, f"Only the Transformer has attention; this is {a_an(label)}.", scale=scale,
                          xlabel="key step s", ylabel="query step t")


def _attention_panel(weights: np.ndarray, name: str, scale: float, showscale: bool) -> dict:
    T = weights.shape[0]  # weights (T, T): [t, s]
    return figure.heatmap(
        z=weights, x=np.arange(T), y=np.arange(T), zmin=style.ATTENTION_RANGE[0], zmax=style.ATTENTION_RANGE[1],
        colorscale=style.ATTENTION_SCALE, showscale=showscale, name=name,
        colorbar=colourbar("attention weight", scale),
        hovertemplate="query t=%{y}, key s=%{x}<br>weight %{z:.3f}<extra>" + name + "</extra>",
    )


def _attention_panels(trace: Trace, panels: list[tuple[int, int]], cols: int, example: int, title: str,
                      scale: float, panel_height: float) -> FigureDict:
    """One square panel per (layer, head), `cols` to a row, matrix-style (query 0 at the top)."""
    L, heads, B, T, _ = trace.attention.shape  # (L, heads, B, T, T)
    check_index("example", example, B)
    for layer, _head in panels:
        check_index("layer", layer, L)
    rows = -(-len(panels) // cols)
    one_layer = len({layer for layer, _ in panels}) == 1
    titles = [f"head {h}" if one_layer else f"layer {layer}, head {h}" for layer, h in panels]
    fig = figure.make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.06,
                        vertical_spacing=0.12 if rows > 1 else 0.0)
    for k, (layer, h) in enumerate(panels):
        fig.add_trace(_attention_panel(trace.attention[layer, h, example], f"layer {layer}, head {h}", scale,
                                       showscale=k == 0), row=k // cols + 1, col=k % cols + 1)
    tokens = example_tokens(trace, example, T)
    ticks = {}
    if tokens is not None and T * TICK_PX <= PLOT_WIDTH_PX / cols:  # a readable label for every step
        ticks = dict(tickvals=list(range(T)), ticktext=[token_label(t) for t in tokens])
    fig.update_yaxes(autorange="reversed", showgrid=False, constrain="domain", **ticks)
    fig.update_xaxes(showgrid=False, constrain="domain", **ticks)
    for k in range(len(panels)):  # each panel square: its y axis follows its own x axis
        fig.layout[f"yaxis{k + 1 if k else ''}"].scaleanchor = f"x{k + 1 if k else ''}"
        row, col = k // cols + 1, k % cols + 1
        if col == 1:
            fig.update_yaxes(title_text="query t", row=row, col=col)
        if k + cols >= len(panels):  # bottom panel of its column
            fig.update_xaxes(title_text="key s", row=row, col=col)
    return finish(fig, title, scale=scale, height=fit_screen(rows * panel_height + 130, scale), legend=False)


def attention_heatmaps(trace: Trace, layer: int = 0, example: int = 0, *, scale: float = 1.0) -> FigureDict:
    """One heatmap per head of one layer: how much query step t attends to key step s."""
    title = f"Attention (layer {layer})"
    if trace.attention is None:
        return _no_attention(trace, title, scale)
    heads = trace.attention.shape[1]
    cols = heads if heads <= 2 else 2 if heads == 4 else min(heads, 4)
    panel = style.HEIGHT if cols <= 2 else style.PANEL_HEIGHT
    return _attention_panels(trace, [(layer, h) for h in range(heads)], cols, example, title, scale, panel)


def attention_grid(trace: Trace, example: int = 0, *, scale: float = 1.0) -> FigureDict:
    """Small multiples: every layer (rows) and head (columns) at once."""
    title = "Attention: all layers and heads"
    if trace.attention is None:
        return _no_attention(trace, title, scale)
    L, heads = trace.attention.shape[:2]
    panels = [(layer, h) for layer in range(L) for h in range(heads)]
    return _attention_panels(trace, panels, heads, example, title, scale, style.SMALL_PANEL_HEIGHT)
