"""The translate task's alignment: attention of each target step (a digit written) on each source step (a word),
in the look of the Transformer's attention maps, and what greedy decoding wrote against the target."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from explorer import style
from explorer.charts import figure
from explorer.charts.figure import FigureDict
from explorer.charts._common import check_index, colourbar, finish, message_figure

if TYPE_CHECKING:
    from explorer.records import Trace

TITLE = "Attention alignment"


def _symbols(trace: Trace, classes: np.ndarray) -> list[str]:
    return [trace.classes[k] if 0 <= k < len(trace.classes) else "" for k in classes]


def written(trace: Trace, example: int) -> tuple[str, str]:
    """(what greedy decoding wrote, the target) for one probe example, as text: '342005', or '3420055 (no end)'
    when the decoder never wrote 'end'."""
    U = trace.decoded.shape[1]
    S = trace.targets.shape[1] - U

    def text(classes) -> str:
        symbols = _symbols(trace, classes)
        end = trace.classes[-1]
        return "".join(symbols[:symbols.index(end)]) if end in symbols else "".join(symbols) + " (no end)"
    return text(trace.decoded[example]), text(trace.targets[example, S:])


def alignment_chart(trace: Trace, example: int = 0, *, scale: float = 1.0) -> FigureDict:
    """Heatmap of attention weights, target step (y, the digits the target asks for) x source step (x, the words),
    for one probe example, on the fixed range [0, 1]; the title says what greedy decoding wrote."""
    if trace.decoded is None:
        return message_figure(TITLE, "Only the translation task has an alignment of target to source.", scale=scale,
                              xlabel="source word", ylabel="target step")
    check_index("example", example, trace.decoded.shape[0])
    wrote, target = written(trace, example)
    verdict = "right" if wrote == target else "wrong"
    title = f"{TITLE}: wrote {wrote or '(nothing)'} for {target} ({verdict})"
    if trace.alignment is None:
        what = "RNN" if trace.arch == "rnn" else style.ARCH_LABELS.get(trace.arch, trace.arch)
        text = (f"This {what} decoder has no attention: it reads only the encoder's final state, the same context "
                "vector at every step. A model with Attention on shows where each digit looks."
                if trace.arch in ("rnn", "lstm", "gru") else
                "This model reads source and target as one sequence: it has no encoder-decoder attention.")
        return message_figure(title, text, scale=scale, xlabel="source word", ylabel="target step")
    weights = trace.alignment[example]  # (U, S)
    U, S = weights.shape
    rows = int((trace.targets[example, S:] >= 0).sum())  # the digits and 'end'
    source = [str(t) for t in trace.tokens[example][:S]] if len(trace.tokens) > example else [""] * S
    cols = [s for s in range(S) if source[s]]  # the words (left padding is masked out)
    z = weights[:rows][:, cols]
    targets = _symbols(trace, trace.targets[example, S:S + rows])
    decoded = _symbols(trace, trace.decoded[example, :rows])
    ylabels = [f"{u}: {t}" if d == t else f"{u}: {t} (wrote {d or 'nothing'})" for u, (t, d) in
               enumerate(zip(targets, decoded))]
    fig = figure.new()
    fig.add_trace(figure.heatmap(
        z=z, x=list(range(len(cols))), y=list(range(rows)), zmin=style.ATTENTION_RANGE[0],
        zmax=style.ATTENTION_RANGE[1], colorscale=style.ATTENTION_SCALE, name="attention",
        colorbar=colourbar("attention weight", scale), customdata=[[source[s] for s in cols]] * rows,
        hovertemplate="target step %{y}, word %{customdata}<br>weight %{z:.3f}<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed", showgrid=False, constrain="domain", tickvals=list(range(rows)),
                     ticktext=ylabels, title_text="target step (digit due)")
    fig.update_xaxes(showgrid=False, constrain="domain", tickvals=list(range(len(cols))),
                     ticktext=[source[s] for s in cols], title_text="source word", tickangle=-45)
    return finish(fig, title, scale=scale, legend=False)
