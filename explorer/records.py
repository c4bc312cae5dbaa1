"""Trace: every internal of a model on the probe batch, as numpy. Not the loop that fills it (explorer/trace.py)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Trace:
    """One look inside a model. L layers, D directions (1 or 2), B probe examples, T steps, H units.

    Both directions are indexed by input time step, as torch's outputs are: for direction 1,
    index t holds the state after reading inputs T-1 down to t.
    """

    arch: str  # rnn | lstm | gru | transformer
    task: str  # task name
    kind: str  # "classify" (targets are class indices) or "regress" (targets are values)
    hidden: np.ndarray  # (L, D, B, T, H) h_t; transformer: each block's output, D = 1
    cell: np.ndarray | None  # (L, D, B, T, H) c_t, lstm only
    gates: dict[str, np.ndarray]  # gate -> (L, D, B, T, H): lstm i f g o, gru r z n; {} otherwise
    grad_norm: np.ndarray  # (L, D, T) batch mean of ||dL/dh_t||, total derivative through later steps;
    #                        transformer: at each block's input (layer 0: the embedding of step t)
    attention: np.ndarray | None  # (L, heads, B, T, T) [.., t, s] = weight of query t on key s; transformer only
    inputs: np.ndarray  # (B, T, I)
    targets: np.ndarray  # classify: (B, T) int, -100 where not scored; regress: (B, T, O) float, NaN where not scored
    predictions: np.ndarray  # (B, T, O) = model(probe): logits (classify) or values (regress)
    loss: float  # task loss of predictions on targets
    step: int  # training steps taken when traced
    tokens: list[list[str]] = field(default_factory=list)  # (B, T) readable input symbol per step
    classes: list[str] = field(default_factory=list)  # classify: readable name of each output class
    input_grad: np.ndarray | None = None  # (T,) batch mean of ||dL/dx_t|| at the inputs: one measure for every arch
    free_running: np.ndarray | None = None  # (K, B, T, O) k-step-ahead forecasts fed on the model's own outputs
    #                                          (evaluate.free_running), k = horizons[i]; forecasting tasks, RNN/LSTM/GRU
    horizons: tuple[int, ...] = ()  # the k of each free_running row
    # sequence-to-sequence tasks (translate): S source steps, then U target steps
    alignment: np.ndarray | None = None  # (B, U, S) [.., u, s] = attention of target step u on source step s;
    #                                      the encoder-decoder with attention only (explorer/seq2seq.py)
    decoded: np.ndarray | None = None  # (B, U) class the model writes at each target step when fed its own
    #                                    previous outputs (greedy decoding), -100 after it wrote 'end'
    bptt: int | None = None  # truncated BPTT's k (RunConfig.bptt): the state entering steps k, 2k, ... was detached

    @property
    def shape(self) -> tuple[int, int, int, int, int]:
        """(L, D, B, T, H)."""
        return self.hidden.shape  # type: ignore[return-value]

    @property
    def scored(self) -> np.ndarray:
        """(B, T) bool: the steps where the loss looks at the output."""
        if self.kind == "classify":
            return self.targets >= 0
        return ~np.isnan(self.targets).any(axis=-1)
