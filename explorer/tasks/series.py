"""Forecasting one fixed real series: your own numbers (csv), an ECG (ecg) and monthly stock returns (stocks).

Not the synthetic sine or the sunspots (forecast.py), and not file parsing (explorer/upload.py). Each task
trains on windows of the first 80% of its series (of each segment: one stock is one segment) and scores
the held-out rest; the bar to beat is a naive forecast.
"""
from __future__ import annotations

import csv
import math
from functools import lru_cache

import torch

from explorer.config import LIMITS
from explorer.tasks.base import window_index
from explorer.tasks.forecast import DATA, Forecast, warmup

MIN_POINTS = 20  # a series shorter than this leaves too little to train on and to hold out


def check_series(values) -> torch.Tensor:
    """A user's series -> (N,) float32; ValueError naming what is wrong (too short, too long, not finite)."""
    try:
        series = torch.as_tensor(values, dtype=torch.float64).flatten()
    except (TypeError, ValueError, RuntimeError):
        raise ValueError("series must be a sequence of numbers") from None
    if len(series) < MIN_POINTS:
        raise ValueError(f"series needs at least {MIN_POINTS} values; got {len(series)}")
    if len(series) > LIMITS.max_series_len:
        raise ValueError(f"series may have at most {LIMITS.max_series_len:,} values; got {len(series):,}")
    if not torch.isfinite(series).all():
        raise ValueError("series values must be finite numbers (no NaN or infinity)")
    if series.abs().max() > 1e30:
        raise ValueError("series values must lie within ±1e30")
    return series.float()


class FixedSeries(Forecast):
    """Input: the value at step t; target: the value at t + 1, scaled by the training part's mean and std.

    `segments`: (start, end) index ranges of the series that are separate histories (a window never
    crosses from one into the next); the first TEST_FRACTION of each trains, the rest is held out.
    """

    TEST_FRACTION = 0.2
    unit = "value"  # what one raw value is, for the Prediction chart's tokens
    center = True  # subtract the training mean (stocks keep 0 = "the price did not move")

    def __init__(self, seq_len: int, values, segments: list[tuple[int, int]] | None = None) -> None:
        super().__init__(seq_len)
        values = check_series(values)
        segments = segments or [(0, len(values))]
        self.segments = [(a, round(a + (b - a) * (1 - self.TEST_FRACTION)), b) for a, b in segments]
        train = torch.cat([values[a:s] for a, s, _ in self.segments])
        self.mean = train.mean().item() if self.center else 0.0
        self.std = train.std().item() or 1.0  # a constant series: keep its units
        self.series = (values - self.mean) / self.std  # (N,)
        self.chance = self._chance()
        self.test_start = self.segments[0][1]  # one segment: where its held-out tail begins

    def _chance(self) -> float:
        """MSE of the best constant forecast on the training targets as sample() weighs them: each segment
        equally, each of its windows equally, a target once for each window that scores it."""
        T, w = self.seq_len, warmup(self.seq_len)
        weight = torch.zeros(len(self.series) + 1, dtype=torch.float64)
        for a, s, _ in self.segments:
            ends = torch.arange(min(a + T, s - 1), s)  # where sample()'s windows may end (window_index)
            first = torch.clamp(ends - T + 1 + w, min=a)  # the first target each scores
            share = 1.0 / (len(ends) * len(self.segments))
            weight.index_add_(0, first, torch.full((len(ends),), share, dtype=torch.float64))
            weight.index_add_(0, ends + 1, torch.full((len(ends),), -share, dtype=torch.float64))
        weight = weight[:-1].cumsum(0)  # (N,) a difference array: each window adds its share over first..end
        values = self.series.double()
        mean = (weight * values).sum() / weight.sum()
        return ((weight * (values - mean) ** 2).sum() / weight.sum()).item()

    def _batch(self, batch_size: int, generator: torch.Generator, test: bool):
        T = self.seq_len
        which = torch.randint(len(self.segments), (batch_size,), generator=generator)  # (B,)
        position = torch.empty(batch_size, T + 1, dtype=torch.long)
        start, lo = torch.empty(batch_size, dtype=torch.long), torch.empty(batch_size, dtype=torch.long)
        for k, (a, s, b) in enumerate(self.segments):
            rows = (which == k).nonzero()[:, 0]
            if len(rows):
                low, high = (s, b) if test else (a, s)
                position[rows] = window_index(low, high, T + 1, len(rows), generator)
                start[rows], lo[rows] = a, low
        return self.windows(position, lo, start)

    def sample(self, batch_size, generator):
        return self._batch(batch_size, generator, test=False)

    def sample_test(self, batch_size, generator):
        """Windows whose scored targets all lie in the held-out tails."""
        return self._batch(batch_size, generator, test=True)

    def windows(self, position: torch.Tensor, lo, start=0):
        """position (B, T+1) -> x, y (B, T, 1): positions before `start` (per row) are padding (0, the mean),
        targets before `lo` are context, not scored."""
        T = self.seq_len
        lo, start = torch.as_tensor(lo).reshape(-1, 1), torch.as_tensor(start).reshape(-1, 1)
        inside = position >= start
        values = self.series[position.clamp(min=0)] * inside  # (B, T+1)
        y = values[:, 1:].unsqueeze(-1).clone()  # (B, T, 1)
        y[(position[:, 1:] < lo).unsqueeze(-1)] = float("nan")
        y[:, : warmup(T)] = float("nan")
        return values[:, :T].unsqueeze(-1), y

    def test_series(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The first segment as one sequence, (1, n-1, 1) inputs and targets, scored on its held-out tail."""
        a, s, b = self.segments[0]
        x = self.series[None, a : b - 1, None].clone()
        y = self.series[None, a + 1 : b, None].clone()
        y[:, : s - a - 1] = float("nan")
        return x, y

    def denormalize(self, values: torch.Tensor) -> torch.Tensor:
        return values * self.std + self.mean

    def tokens(self, x):
        return [[f"{v:.3g}" for v in row] for row in self.denormalize(x[..., 0]).tolist()]

    def encode(self, text):
        series = (torch.tensor([self.numbers_of(text)]) - self.mean) / self.std  # (1, T)
        return series.unsqueeze(-1), self.next_value_targets(series)


class Csv(FixedSeries):
    name = "csv"
    title = "Your own series (CSV)"
    description = (
        "A series you upload below this box ('Your own series'): one column of numbers from a CSV file, in order. "
        "Input: the value at step t; output: the value at step t+1. Training sees the first 80% of the rows; "
        "the score is on the last 20%, which training never sees. The bar to beat: repeating the last value. "
        "Your series stays in this browser session: it is never put in the link."
    )
    input_hint = "numbers separated by spaces, e.g. 1 2 3 2 1"
    EXAMPLE_PERIOD = 12

    def __init__(self, seq_len: int, series=None) -> None:
        super().__init__(seq_len, self.example() if series is None else series)

    @classmethod
    def example(cls) -> torch.Tensor:
        """The stand-in until a file is uploaded: a seasonal wave with a trend, (240,) float32."""
        t = torch.arange(240, dtype=torch.float64)
        return (torch.sin(2 * math.pi * t / cls.EXAMPLE_PERIOD) + t / 120).float()


ECG_RATE_HZ = 360  # the MIT-BIH recordings' sampling rate
ECG_DOWNSAMPLE = 6  # mean of 6 samples: 60 Hz, a heartbeat in about 50 steps (the default sequence length)


@lru_cache(maxsize=1)
def ecg_record() -> tuple[torch.Tensor, torch.Tensor]:
    """MIT-BIH excerpt at 60 Hz: (values in mV (1250,), abnormal label 0/1 (1250,))."""
    with open(DATA / "mitdb.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    values = torch.tensor([float(r["data"]) for r in rows])
    labels = torch.tensor([float(r["label"]) for r in rows])
    n = len(values) // ECG_DOWNSAMPLE * ECG_DOWNSAMPLE
    return (values[:n].reshape(-1, ECG_DOWNSAMPLE).mean(1),
            labels[:n].reshape(-1, ECG_DOWNSAMPLE).amax(1))


class Ecg(FixedSeries):
    name = "ecg"
    title = "ECG anomaly (MIT-BIH)"
    description = (
        "Real data: 21 seconds of one electrocardiogram from the MIT-BIH Arrhythmia Database (via sktime), at "
        "60 samples a second, so a heartbeat takes about 50 steps. Input: the voltage now; output: the voltage "
        "1/60 s later. Training sees the "
        "first 80% (normal beats only); the last 20% holds normal beats and one stretch marked abnormal. A "
        "forecaster that has learned what a normal beat looks like is surprised by an abnormal one: its error "
        "jumps there (the anomaly detector of Malhotra et al. 2015). The bar to beat: repeating the last value."
    )
    input_hint = "voltages in mV separated by spaces, e.g. -0.2 -0.2 -0.1 0.6 1.1 0.2 -0.3"
    unit = "mV"

    def __init__(self, seq_len: int) -> None:
        values, self.labels = ecg_record()
        super().__init__(seq_len, values)

    @torch.no_grad()
    def anomaly_errors(self, model) -> tuple[float, float]:
        """-> (model's mean squared error on the held-out normal steps, on the steps marked abnormal)."""
        x, y = self.test_series()
        error = (model(x) - y)[0, :, 0] ** 2  # (n,)
        abnormal = self.labels[1 : len(error) + 1] > 0  # the label of each target
        held = ~torch.isnan(y[0, :, 0])
        return error[held & ~abnormal].mean().item(), error[held & abnormal].mean().item()


@lru_cache(maxsize=1)
def stock_prices() -> dict[str, list[float]]:
    """Monthly closing prices by symbol, 2000-2010, oldest first."""
    prices: dict[str, list[float]] = {}
    with open(DATA / "stocks.csv", newline="") as f:
        for row in csv.DictReader(f):
            prices.setdefault(row["symbol"], []).append(float(row["price"]))
    return prices


class Stocks(FixedSeries):
    name = "stocks"
    title = "Stock returns (naive forecast)"
    description = (
        "Real data: monthly closing prices of AAPL, AMZN, GOOG, IBM and MSFT, 2000-2010 (the vega-datasets collection), as log "
        "returns (log of this month's price over last month's), in units of their standard deviation. Input: "
        "this month's return; output: next month's. Past prices do not predict future ones: the naive forecast "
        "'next month's price = this month's' (a return of 0) is the bar, and a tie with it is the honest "
        "result. Held out: the last 20% of each stock's months (2008-2010, the crash), which training never sees."
    )
    input_hint = "monthly log returns separated by spaces, e.g. 0.02 -0.05 0.01 0.07"
    unit = "log return"
    center = False  # 0 stays "no change", the naive forecast

    def __init__(self, seq_len: int) -> None:
        returns, segments = [], []
        for prices in stock_prices().values():
            r = torch.tensor(prices, dtype=torch.float64).log().diff()
            segments.append((sum(len(x) for x in returns), sum(len(x) for x in returns) + len(r)))
            returns.append(r)
        super().__init__(seq_len, torch.cat(returns), segments)

    @staticmethod
    def baseline_mse(x: torch.Tensor, y: torch.Tensor) -> float:
        """MSE of the naive forecast: the price stays, a log return of 0."""
        mask = ~torch.isnan(y)
        return torch.mean(y[mask] ** 2).item()


def compare_to_naive(model_mse: float, naive_mse: float, tie: float = 0.05) -> tuple[str, str]:
    """-> ("beats" | "ties" | "loses", a sentence with both numbers). Within `tie` (relative) is a tie."""
    ratio = model_mse / naive_mse if naive_mse > 0 else math.inf
    if ratio < 1 - tie:
        word, meaning = "beats", f"{(1 - ratio):.0%} lower error than the naive forecast"
    elif ratio <= 1 + tie:
        word, meaning = "ties", "no better than the naive forecast (within 5%)"
    else:
        word, meaning = "loses", f"{(ratio - 1):.0%} higher error than the naive forecast"
    return word, f"Held-out MSE {model_mse:.3g} against the naive forecast's {naive_mse:.3g}: {meaning}."
