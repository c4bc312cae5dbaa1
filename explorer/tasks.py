"""Toy sequence tasks: seeded batch generators with a loss, a metric and its chance level.

Not models, not training. Every task scores a model's per-step output (B, T, O): targets mark
the steps that count (class index >= 0, or a non-NaN value), so one loss serves every task.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE = -100  # class target at a step the loss does not look at


class Task:
    """Base class. Subclasses set the class attributes and implement sample()."""

    name: str = ""
    title: str = ""  # short human name, e.g. "Adding problem"
    description: str = ""  # one paragraph: what goes in, what must come out, why it is hard
    kind: str = "classify"  # "classify" (targets: class index per step) or "regress" (targets: values)
    causal: bool = True  # the answer at step t may depend only on inputs up to t (transformer mask)
    metric_name: str = "accuracy"
    higher_is_better: bool = True

    def __init__(self, seq_len: int) -> None:
        self.seq_len = seq_len

    input_size: int = 1  # I
    output_size: int = 1  # O: classes (classify) or values per step (regress)
    chance: float = 0.0  # metric of the best input-ignoring predictor

    def sample(self, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, I) float32; y (B, T) int64 with IGNORE, or (B, T, O) float32 with NaN."""
        raise NotImplementedError

    def loss(self, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean loss over scored steps. output (B, T, O)."""
        if self.kind == "classify":
            return F.cross_entropy(output.reshape(-1, output.shape[-1]), y.reshape(-1), ignore_index=IGNORE)
        mask = ~torch.isnan(y)
        return F.mse_loss(output[mask], y[mask])

    @torch.no_grad()
    def metric(self, output: torch.Tensor, y: torch.Tensor) -> float:
        if self.kind == "classify":
            mask = y != IGNORE
            return (output.argmax(-1)[mask] == y[mask]).float().mean().item()
        mask = ~torch.isnan(y)
        return F.mse_loss(output[mask], y[mask]).item()
