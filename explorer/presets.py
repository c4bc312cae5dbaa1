"""Presets: one-click lessons. Each is named RunConfigs, a step budget, and a verdict that checks
the promised observation on the trained runs, in numbers. Not the pages that present them.

Configs, budgets and thresholds were found by experiment on a 2-core CPU and are locked by
tests/test_presets.py on a seed other than the preset's own.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from explorer import evaluate
from explorer.config import RunConfig


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    narration: str  # two or three sentences: what to watch
    configs: tuple[RunConfig, ...]  # one run, or several compared side by side
    steps: int  # training budget of each run
    verdict: Callable[[Sequence], tuple[bool, str]]  # trained runs -> (claim reproduced?, the numbers)
    labels: tuple[str, ...] = ()  # a short name per run, for side-by-side panels

    def with_seed(self, seed: int) -> "Preset":
        """The same lesson on another seed (tests use one the preset was not tuned on)."""
        return Preset(self.name, self.title, self.narration, tuple(c.replace(seed=seed) for c in self.configs),
                      self.steps, self.verdict, self.labels)


def initial_ratio(run) -> float:
    """grad_norm[0] / grad_norm[-1] of layer 0, direction 0, at initialisation (the first recorded profile)."""
    if not run.history.profiles:
        raise ValueError("the run has no gradient profile: call run.trace() before training")
    g = run.history.profiles[0][1][0, 0]
    return float(g[0] / g[-1]) if g[-1] > 0 else 0.0


def _fmt(v: float) -> str:
    return f"{v:.2g}" if abs(v) < 1e-2 or abs(v) >= 1e3 else f"{v:.3f}"


def vanishing_verdict(runs) -> tuple[bool, str]:
    rnn, lstm = runs
    r_rnn, r_lstm = initial_ratio(rnn), initial_ratio(lstm)
    acc_rnn, acc_lstm = rnn.evaluate(), lstm.evaluate()
    chance = rnn.task.chance
    ok = r_rnn < 1e-3 and r_lstm > 0.1 and acc_lstm >= 0.9 and acc_rnn < chance + 0.15
    return ok, (f"At init, grad_norm[0]/grad_norm[-1]: RNN {_fmt(r_rnn)} (needs < 0.001), LSTM {_fmt(r_lstm)} (needs > 0.1). "
                f"After {rnn.step} steps, accuracy: LSTM {acc_lstm:.2f} (needs >= 0.9), RNN {acc_rnn:.2f} (chance {chance:.2f}).")


def exploding_verdict(runs) -> tuple[bool, str]:
    free, clipped = runs
    norms = np.asarray(free.history.grad_norm)
    finite = norms[np.isfinite(norms)]
    rise = float(finite.max() / finite[0]) if len(finite) and finite[0] > 0 else float("inf")
    losses = np.asarray(free.history.loss)
    spiked = free.status == "diverged" or bool(np.nanmax(losses) > 10 * losses[0])
    final_free = float(np.nanmean(losses[-20:])) if free.status == "ok" else float("inf")
    final_clip = float(np.mean(clipped.history.loss[-20:]))
    ok = rise > 100 and spiked and final_clip < final_free
    state = "diverged" if free.status == "diverged" else f"final loss {final_free:.3g}"
    return ok, (f"Without clipping the pre-clip gradient norm rose {rise:.3g}x (needs > 100x) and the run {state}; "
                f"with clipping at {clipped.config.clip_grad_norm:g} the final loss is {final_clip:.3g}.")


def accuracy_gap_verdict(names: tuple[str, str], threshold: float, gap: float | None = None):
    """The first run reaches `threshold`; the second stays near chance (or `gap` below the first)."""
    def verdict(runs) -> tuple[bool, str]:
        good, bad = runs
        a, b = good.evaluate(), bad.evaluate()
        chance = good.task.chance
        ok = a >= threshold and (b <= a - gap if gap is not None else b < chance + 0.15)
        rule = f"{gap:.1f} below" if gap is not None else f"near chance {chance:.2f}"
        return ok, f"Accuracy after {good.step} steps: {names[0]} {a:.2f} (needs >= {threshold}), {names[1]} {b:.2f} (needs {rule})."
    return verdict


def gru_lstm_verdict(runs) -> tuple[bool, str]:
    gru, lstm = runs
    ratio = gru.num_parameters / lstm.num_parameters
    parts, ok = [], 0.65 <= ratio <= 0.85
    for name, run in (("GRU", gru), ("LSTM", lstm)):
        step, wall = steps_to(run, 0.9)
        ok = ok and step is not None
        parts.append(f"{name}: {run.num_parameters} parameters, " +
                     (f"accuracy 0.9 at step {step} ({wall:.1f} s)" if step else "did not reach accuracy 0.9"))
    return ok, f"GRU/LSTM parameters {ratio:.2f} (about 3/4). " + "; ".join(parts) + "."


def steps_to(run, threshold: float) -> tuple[int | None, float]:
    """First recorded step (and training seconds) where the smoothed training metric reaches threshold."""
    metric = np.asarray(run.history.metric)
    if not len(metric):
        return None, 0.0
    smooth = np.convolve(metric, np.ones(5) / 5, mode="valid") if len(metric) >= 5 else metric
    hits = np.nonzero(smooth >= threshold)[0]
    if not len(hits):
        return None, 0.0
    index = hits[0] + (len(metric) - len(smooth))
    return run.history.step[index], run.history.wall[index]


def text_verdict(runs) -> tuple[bool, str]:
    (run,) = runs
    bits = evaluate.held_out_loss(run) / np.log(2)
    baseline = run.task.unigram_entropy_bits()
    sample = run.generate("the ", 200, temperature=0.8, seed=0)
    share = evaluate.known_word_share(run, sample)
    ok = bool(bits <= baseline - 1 and share > 0.5)
    return ok, (f"Cross-entropy {bits:.2f} bits/char against the unigram baseline {baseline:.2f} (needs 1 bit lower); "
                f"{share:.0%} of sampled words are words of the text. Sample: “{sample[:120]}…”")


def forecasting_verdict(runs) -> tuple[bool, str]:
    (run,) = runs
    mse, naive = evaluate.forecast_scores(run)
    ok = mse * 2 <= naive
    return ok, f"Test MSE {mse:.4f} against {naive:.4f} for repeating the last value (needs 2x lower: {naive / max(mse, 1e-12):.1f}x)."


def sentiment_verdict(runs) -> tuple[bool, str]:
    (run,) = runs
    overall, negated = evaluate.sentiment_scores(run)
    ok = overall >= 0.9 and negated >= 0.8
    return ok, f"Accuracy {overall:.2f} overall (needs >= 0.9), {negated:.2f} on sentences with negation (needs >= 0.8)."


def _presets() -> dict[str, Preset]:
    C = RunConfig
    items = [
        Preset("vanishing_gradients", "Vanishing gradients: RNN against LSTM",
               "Both models must remember a symbol across a long sequence. Watch **Gradient norm over time**: "
               "the RNN's line falls by many orders of magnitude towards t = 0, so it cannot learn what the "
               "first steps said; the LSTM's forget gate keeps the gradient alive and it solves the task.",
               (C(arch="rnn", task="recall", seq_len=50, hidden_size=32, lr=3e-3, batch_size=64, seed=1),
                C(arch="lstm", task="recall", seq_len=50, hidden_size=32, lr=3e-3, batch_size=64, forget_bias=3.0, seed=1)),
               400, vanishing_verdict, ("RNN", "LSTM")),
        Preset("exploding_gradients", "Exploding gradients, and clipping",
               "A vanilla RNN with large recurrent weights and a high learning rate. Watch **Parameter gradients**: "
               "without clipping the gradient norm shoots up and the loss spikes or diverges; the same seed with "
               "clipping trains on.",
               (C(arch="rnn", task="adding", seq_len=50, hidden_size=32, init="identity", nonlinearity="relu", lr=0.03, optimizer="sgd", seed=1),
                C(arch="rnn", task="adding", seq_len=50, hidden_size=32, init="identity", nonlinearity="relu", lr=0.03, optimizer="sgd", clip_grad_norm=1.0, seed=1)),
               300, exploding_verdict, ("no clipping", "clipping at 1")),
        Preset("lstm_memory", "LSTM memory across 50 steps",
               "Recall the first symbol after 50 steps of distractors. Watch the **Cell state**: one unit takes "
               "the symbol and holds it while the forget gate f stays near 1. The RNN beside it never finds the signal.",
               (C(arch="lstm", task="recall", seq_len=60, hidden_size=32, lr=3e-3, batch_size=64, forget_bias=3.0, seed=1),
                C(arch="rnn", task="recall", seq_len=60, hidden_size=32, lr=3e-3, batch_size=64, seed=1)),
               400, accuracy_gap_verdict(("LSTM", "RNN"), 0.9), ("LSTM", "RNN")),
        Preset("gru_vs_lstm", "GRU, the leaner LSTM",
               "The same memory task for a GRU and an LSTM. The GRU has three gates' worth of weights where the "
               "LSTM has four; watch whether it gets there as fast, in steps and in seconds.",
               (C(arch="gru", task="recall", seq_len=30, hidden_size=32, lr=3e-3, batch_size=64, seed=1),
                C(arch="lstm", task="recall", seq_len=30, hidden_size=32, lr=3e-3, batch_size=64, forget_bias=1.0, seed=1)),
               400, gru_lstm_verdict, ("GRU", "LSTM")),
        Preset("bidirectional", "Bidirectional RNNs see the future",
               "The label at step t depends on the input after t. A one-way GRU can only guess; the bidirectional "
               "one reads the sequence backwards too. Watch the **Hidden state** of the reverse direction.",
               (C(arch="gru", task="lookahead", seq_len=20, hidden_size=32, bidirectional=True, lr=1e-2, seed=1),
                C(arch="gru", task="lookahead", seq_len=20, hidden_size=32, lr=1e-2, seed=1)),
               300, accuracy_gap_verdict(("bidirectional", "one-way"), 0.9, gap=0.2), ("bidirectional", "one-way")),
        Preset("transformer_memory", "Attention reaches everywhere",
               "At 100 steps the symbol is far away for an LSTM, but attention looks at every step directly. "
               "Watch the **Attention** map: the last query lights up the first key.",
               (C(arch="transformer", task="recall", seq_len=100, hidden_size=32, num_heads=2, lr=3e-3, batch_size=64, seed=1),
                C(arch="lstm", task="recall", seq_len=100, hidden_size=32, lr=3e-3, batch_size=64, seed=1)),
               300, accuracy_gap_verdict(("Transformer", "LSTM"), 0.9), ("Transformer", "LSTM")),
        Preset("text_generation", "Text generation, one character at a time",
               "A character LSTM reads Pride and Prejudice and predicts the next character. Watch the loss fall below "
               "the unigram baseline and the samples turn from noise into words.",
               (C(arch="lstm", task="text", seq_len=64, hidden_size=128, lr=1e-2, batch_size=32, seed=1),),
               600, text_verdict, ("LSTM",)),
        Preset("forecasting", "Forecasting a time series",
               "A GRU forecasts the next value of a noisy sum of sines. Watch the **Prediction** chart: the forecast "
               "locks onto the waves, beating the naive forecast that repeats the last value.",
               (C(arch="gru", task="sine", seq_len=60, hidden_size=32, lr=1e-2, seed=1),),
               300, forecasting_verdict, ("GRU",)),
        Preset("sentiment", "Sentiment, negation included",
               "An LSTM reads short reviews word by word and calls them positive or negative. “not good” must flip "
               "the label: watch the **Hidden state** change at the word “not”.",
               (C(arch="lstm", task="sentiment", seq_len=12, hidden_size=32, lr=1e-2, seed=1),),
               300, sentiment_verdict, ("LSTM",)),
    ]
    return {p.name: p for p in items}


PRESETS = _presets()
