"""The Task base class and the helpers its subclasses share: one-hot inputs, windows, parsing.

Not any particular task (see the sibling modules) and not models or training.
"""
from __future__ import annotations

import math
import re

import torch
import torch.nn.functional as F

from explorer.config import LIMITS

IGNORE = -100  # class target at a step the loss does not look at


class Task:
    """Base class. Subclasses set the class attributes and implement sample(), tokens(), encode().

    Targets mark the steps that count (class index >= 0, or a non-NaN value), so one loss and
    one metric serve every task.
    """

    name: str = ""
    title: str = ""  # short human name, e.g. "Adding problem"
    description: str = ""  # one paragraph: what goes in, what must come out, why it is hard
    kind: str = "classify"  # "classify" (targets: class index per step) or "regress" (targets: values)
    causal: bool = True  # the answer at step t may depend only on inputs up to t (transformer mask)
    metric_name: str = "accuracy"
    higher_is_better: bool = True
    input_size: int = 1  # I
    output_size: int = 1  # O: classes (classify) or values per step (regress)
    chance: float = 0.0  # metric of the best input-ignoring predictor
    classes: list[str] = []  # readable class names (classify); [] for regress
    input_hint: str = ""  # what a user may type for encode(), with an example
    writes_text: bool = False  # a character model: the Samples panel and next-character guesses show its text

    def __init__(self, seq_len: int) -> None:
        if isinstance(seq_len, bool) or not hasattr(seq_len, "__index__") or seq_len < 2:
            raise ValueError(f"seq_len must be an integer >= 2, got {seq_len!r}")
        self.seq_len = int(seq_len)

    def sample(self, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, I) float32; y (B, T) int64 with IGNORE, or (B, T, O) float32 with NaN."""
        raise NotImplementedError

    def sample_test(self, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch the model has not trained on. Synthetic tasks draw fresh sequences; data tasks override."""
        return self.sample(batch_size, generator)

    def tokens(self, x: torch.Tensor) -> list[list[str]]:
        """Readable symbol of each input step: (B, T) strings for x (B, T, I)."""
        raise NotImplementedError

    def encode(self, text: str) -> tuple[torch.Tensor, torch.Tensor]:
        """A user's own sequence -> x (1, T, I) and targets by the task's rule (IGNORE / NaN where undefined)."""
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

    def reject(self, why: str) -> ValueError:
        """The error encode() raises: what was wrong, then what is accepted."""
        return ValueError(f"{why}. {self.title} accepts {self.input_hint}")

    def check_length(self, n: int) -> None:
        if n == 0:
            raise self.reject("The sequence is empty")
        if n > LIMITS.max_seq_len:
            raise self.reject(f"The sequence has {n} steps, more than the limit of {LIMITS.max_seq_len}")

    def symbols_of(self, text: str, alphabet: str) -> list[int]:
        """Index in `alphabet` of every non-space character of text; ValueError on anything else."""
        chars = [c for c in text if not c.isspace()]
        bad = sorted({c for c in chars if c not in alphabet})
        if bad:
            raise self.reject(f"Unknown symbol(s) {' '.join(repr(c) for c in bad)}")
        self.check_length(len(chars))
        return [alphabet.index(c) for c in chars]

    def numbers_of(self, text: str) -> list[float]:
        """Finite numbers separated by spaces or commas; ValueError on anything else."""
        parts = [p for p in re.split(r"[\s,;]+", text.strip()) if p]
        values = []
        for part in parts:
            try:
                value = float(part)
            except ValueError:
                raise self.reject(f"{part!r} is not a number") from None
            if not math.isfinite(value):
                raise self.reject(f"{part!r} is not a finite number")
            values.append(value)
        self.check_length(len(values))
        return values


def one_hot(index: torch.Tensor, size: int) -> torch.Tensor:
    """(B, T) int64 -> (B, T, size) float32; negative indices give all-zero rows (padding)."""
    out = F.one_hot(index.clamp(min=0), size).float()
    return out * (index >= 0).unsqueeze(-1)


def one_hot_tokens(x: torch.Tensor, symbols: list[str], empty: str = "") -> list[list[str]]:
    """(B, T, I) one-hot inputs -> (B, T) symbol strings; all-zero steps read `empty`."""
    index = x.argmax(-1).tolist()
    active = (x.abs().sum(-1) > 0).tolist()
    return [[symbols[i] if on else empty for i, on in zip(row, on_row)] for row, on_row in zip(index, active)]


def window_index(lo: int, hi: int, length: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
    """Positions (B, length) of windows in a series whose last position lies in [lo, hi).

    A window starts at or after lo when length fits in the range; otherwise it reaches back
    before lo (as context) and, before position 0, to negative positions (padding).
    """
    first_end = min(lo + length - 1, hi - 1)
    end = torch.randint(first_end, hi, (batch_size,), generator=generator)  # (B,)
    return end[:, None] - length + 1 + torch.arange(length)  # (B, length)


class HeldOutTail:
    """For a task cut from one fixed series (`series`, N steps): training windows end before test_start,
    test windows in the held-out tail after it; earlier steps may serve as their context. The task turns
    window positions (B, T+1) into a batch: windows(position, lo) -> (x, y), scoring only positions >= lo."""

    def sample(self, batch_size, generator):
        return self.windows(window_index(0, self.test_start, self.seq_len + 1, batch_size, generator), 0)

    def sample_test(self, batch_size, generator):
        """Windows whose scored targets all lie in the held-out tail of the series."""
        lo, hi = self.test_start, len(self.series)
        return self.windows(window_index(lo, hi, self.seq_len + 1, batch_size, generator), lo)
