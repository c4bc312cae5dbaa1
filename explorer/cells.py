"""The cell table: each architecture's gates in torch's chunk order, and each gate's long name and range.

One owner for these facts: the trace loop, the charts' colours, Inspect's equations and weight blocks
all read them here. Plain Python: no torch, no plotly. Not the equations' LaTeX (explorer/charts/equations.py).
"""
from __future__ import annotations

from typing import NamedTuple


class Gate(NamedTuple):
    long_name: str  # what titles and legends call it
    range: tuple[float, float]  # its fixed colour range: (0, 1) sigmoid, (-1, 1) tanh
    selection: bool = False  # ssm's step size and selection magnitudes: each chart gives them a colourbar of their own
    data_range: bool = False  # no natural top (||B_t||, ||C_t||): heatmaps range it over the data, strips use `range`


GATES: dict[str, Gate] = {
    "i": Gate("input gate i", (0, 1)),
    "f": Gate("forget gate f", (0, 1)),
    "g": Gate("cell candidate g", (-1, 1)),
    "o": Gate("output gate o", (0, 1)),
    "r": Gate("reset gate r", (0, 1)),
    "z": Gate("update gate z", (0, 1)),
    "n": Gate("new gate n", (-1, 1)),
    # ssm: Delta >= 1 forgets most of the state in one step (A_n <= -1), so (0, 1) shows what matters
    "delta": Gate("step size Δ", (0, 1), selection=True),
    "B": Gate("input selection ||B_t||", (0, 4), selection=True, data_range=True),
    "C": Gate("output selection ||C_t||", (0, 4), selection=True, data_range=True),
}


class Cell(NamedTuple):
    gates: tuple[str, ...]  # what the trace records, in torch's order (Trace.gates keys)
    chunks: tuple[str, ...]  # the row blocks of weight_ih / weight_hh (scan models: of their input linear map)
    eigen_block: str | None = None  # the W_hh block whose eigenvalues Inspect shows (None: all of W_hh)


# torch/nn/modules/rnn.py: LSTM (W_ii|W_if|W_ig|W_io), GRU (W_ir|W_iz|W_in). minGRU z; minLSTM f, i
# (normalised: f + i = 1), each with the candidate h~ last; ssm: Delta_t and the selection magnitudes.
CELLS: dict[str, Cell] = {
    "rnn": Cell((), ("h",)),
    "lstm": Cell(("i", "f", "g", "o"), ("i", "f", "g", "o"), eigen_block="g"),
    "gru": Cell(("r", "z", "n"), ("r", "z", "n"), eigen_block="n"),
    "transformer": Cell((), ()),
    "mingru": Cell(("z",), ("z", "h~")),
    "minlstm": Cell(("f", "i"), ("f", "i", "h~")),
    "ssm": Cell(("delta", "B", "C"), ()),
}


def gates(arch: str) -> tuple[str, ...]:
    """The gates a trace of `arch` records, in torch's order (empty for rnn and the transformer)."""
    return CELLS[arch].gates
