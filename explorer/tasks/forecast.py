"""Next-value forecasting tasks: noisy sines (synthetic) and yearly sunspots (real, shipped CSV).

Not models. Both score the one-step-ahead forecast and offer the naive "repeat the last value"
forecast as a baseline a model must beat.
"""
from __future__ import annotations

import csv
import math
from functools import lru_cache
from pathlib import Path

import torch

from explorer.tasks.base import HeldOutTail, Task

DATA = Path(__file__).resolve().parent.parent / "data"


def warmup(T: int) -> int:
    """Leading steps left unscored: the model has seen too little of the sequence to forecast."""
    return min(4, (T - 1) // 2)


class Forecast(Task):
    """Input: the value at step t. Target: the value at step t + 1."""

    kind = "regress"
    metric_name = "mse"
    higher_is_better = False
    input_size = 1
    output_size = 1
    classes: list[str] = []

    @staticmethod
    def baseline_mse(x: torch.Tensor, y: torch.Tensor) -> float:
        """MSE of the naive forecast (next value = current value) on the scored steps."""
        mask = ~torch.isnan(y)
        return torch.mean((x[..., :1][mask] - y[mask]) ** 2).item()

    @staticmethod
    def next_value_targets(series: torch.Tensor) -> torch.Tensor:
        """(1, T) values -> (1, T, 1) targets: the next value; the last step has none (NaN)."""
        y = torch.full((*series.shape, 1), float("nan"))
        y[:, :-1, 0] = series[:, 1:]
        return y


class Sine(Forecast):
    name = "sine"
    title = "Noisy sine forecast"
    description = (
        "Each sequence is a sum of 2 or 3 sine waves with random amplitudes, periods (8-40 steps) "
        "and phases, plus a little noise. Input: the value at step t; output: the value at step t+1 "
        "(the first few steps are not scored). Since every sequence has its own waves, the model must "
        "infer them from what it has seen. The bar to beat: simply repeating the last value it was given."
    )
    input_hint = "numbers separated by spaces, e.g. 0 0.5 0.87 1 0.87 0.5 0"
    NOISE = 0.1
    PERIODS = (8.0, 40.0)
    MEAN_SQUARE_AMPLITUDE = 7 / 12  # E[a^2] for a ~ U(0.5, 1)
    SCALE = 1 / math.sqrt(2.5 * MEAN_SQUARE_AMPLITUDE / 2)  # signal variance 1 (2.5 waves on average)
    chance = 1.0 + NOISE**2  # target variance around its mean 0

    def sample(self, batch_size, generator):
        B, T = batch_size, self.seq_len
        amplitude = 0.5 + 0.5 * torch.rand(B, 3, 1, generator=generator)  # (B, 3, 1)
        amplitude[:, 2] *= (torch.rand(B, 1, generator=generator) < 0.5).float()  # third wave half the time
        low, high = (2 * math.pi / p for p in reversed(self.PERIODS))
        omega = low + (high - low) * torch.rand(B, 3, 1, generator=generator)
        phase = 2 * math.pi * torch.rand(B, 3, 1, generator=generator)
        t = torch.arange(T + 1, dtype=torch.float32)  # (T+1,)
        waves = amplitude * torch.sin(omega * t + phase)  # (B, 3, T+1)
        series = self.SCALE * waves.sum(1) + self.NOISE * torch.randn(B, T + 1, generator=generator)
        y = series[:, 1:].unsqueeze(-1).clone()  # (B, T, 1)
        y[:, : warmup(T)] = float("nan")
        return series[:, :T].unsqueeze(-1), y  # (B, T, 1), (B, T, 1)

    def tokens(self, x):
        return [[f"{v:.2f}" for v in row] for row in x[..., 0].tolist()]

    def encode(self, text):
        series = torch.tensor([self.numbers_of(text)])  # (1, T)
        return series.unsqueeze(-1), self.next_value_targets(series)


@lru_cache(maxsize=1)
def sunspot_counts() -> torch.Tensor:
    """Yearly mean sunspot numbers 1700-2008, (309,) float32."""
    with open(DATA / "sunspots.csv", newline="") as f:
        return torch.tensor([float(row["SUNACTIVITY"]) for row in csv.DictReader(f)])


class Sunspots(HeldOutTail, Forecast):
    name = "sunspots"
    title = "Sunspot forecast"
    description = (
        "Real data: yearly sunspot numbers 1700-2008 (NOAA NGDC, via statsmodels), scaled to mean 0 "
        "and variance 1. Input: this year's value; output: next year's. The 11-year solar cycle makes "
        "it predictable, but cycles vary in height and length and there are only 309 points, so a "
        "large model memorises. The held-out score is on the last 20% of the years (1947-2008), which "
        "training never sees. The bar to beat: repeating this year's value as next year's (Yule 1927)."
    )
    input_hint = "yearly sunspot numbers (raw counts, 0 or more) separated by spaces, e.g. 5 11 16 23 36 58 29 20"
    FIRST_YEAR = 1700
    TEST_FRACTION = 0.2

    def __init__(self, seq_len: int) -> None:
        super().__init__(seq_len)
        counts = sunspot_counts()
        self.test_start = round(len(counts) * (1 - self.TEST_FRACTION))  # first held-out year index
        train = counts[: self.test_start]
        self.mean, self.std = train.mean().item(), train.std().item()  # of the training years only
        self.series = (counts - self.mean) / self.std  # (N,)
        self.chance = self.series[1 : self.test_start].var(unbiased=False).item()

    def windows(self, position: torch.Tensor, lo: int):
        """position (B, T+1), < 0 is padding -> x, y (B, T, 1); targets before year index lo are context."""
        T = self.seq_len
        values = self.series[position.clamp(min=0)] * (position >= 0)  # padding reads 0, the mean
        y = values[:, 1:].unsqueeze(-1).clone()  # (B, T, 1)
        y[(position[:, 1:] < lo).unsqueeze(-1)] = float("nan")  # context or padding, not scored
        y[:, : warmup(T)] = float("nan")
        return values[:, :T].unsqueeze(-1), y  # (B, T, 1), (B, T, 1)

    def test_series(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The whole series as one sequence, (1, N-1, 1) inputs and targets, scored on the held-out years only:
        a forecast of a held-out year may read every year before it, as one fed year by year would."""
        x = self.series[None, :-1, None].clone()  # (1, N-1, 1)
        y = self.series[None, 1:, None].clone()  # (1, N-1, 1): target at t is year t + 1
        y[:, : self.test_start - 1] = float("nan")
        return x, y

    def denormalize(self, values: torch.Tensor) -> torch.Tensor:
        """Model units -> sunspot numbers."""
        return values * self.std + self.mean

    def tokens(self, x):
        return [[f"{v:.0f}" for v in row] for row in self.denormalize(x[..., 0]).tolist()]

    def encode(self, text):
        counts = self.numbers_of(text)
        if min(counts) < 0:
            raise self.reject("Sunspot numbers cannot be negative")
        series = (torch.tensor([counts]) - self.mean) / self.std  # (1, T)
        return series.unsqueeze(-1), self.next_value_targets(series)
