"""Presets: one-click lessons. Each is named RunConfigs, a step budget, and a verdict that checks
the promised observation on the trained runs, in numbers. Not the pages that present them.

Configs and budgets were found by experiment on a 2-core CPU (each lesson well under 60 s) and are
locked by tests/test_presets.py on seeds other than the preset's own; measured figures and wall
times are in docs/presets.md. train_preset() trains a preset headless as the app's worker does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from explorer import evaluate
from explorer.config import RunConfig
from explorer.run import Run


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


def train_preset(preset: Preset, callback: Callable[[list[Run]], bool | None] | None = None) -> list[Run]:
    """Train a preset headless as the app does: trace at init, then round robin, one step of each run in turn.

    Runs stop at the budget or on divergence (a diverged run drops out, the others go on).
    callback(runs) after every round may return False to stop early. Returns the trained runs;
    preset.verdict(runs) says whether the lesson showed.
    """
    runs = [Run(config) for config in preset.configs]
    for run in runs:
        run.trace()  # the profile at initialisation, which the vanishing verdict reads
    while True:
        active = [run for run in runs if run.status == "ok" and run.step < preset.steps]
        if not active:
            return runs
        for run in active:
            run.train_step()
        if callback is not None and callback(runs) is False:
            return runs


def initial_ratio(run) -> float:
    """grad_norm[0] / grad_norm[-1] of layer 0, direction 0, at initialisation (the first recorded profile)."""
    if not run.history.profiles:
        raise ValueError("the run has no gradient profile: call run.trace() before training")
    g = run.history.profiles[0][1][0, 0]
    return float(g[0] / g[-1]) if g[-1] > 0 else 0.0


def _fmt(v: float) -> str:
    return f"{v:.2g}" if abs(v) < 1e-2 or abs(v) >= 1e3 else f"{v:.3f}"


@torch.no_grad()
def recall_accuracy(run, min_delay: int = 1, examples: int = 512) -> float:
    """Held-out accuracy on the recall task when the key comes min_delay..T-1 steps before the query.

    Every delay in the range gets the same number of fresh sequences, from a generator of its own.
    """
    task = run.task
    if not hasattr(task, "sample_with_delay"):
        raise ValueError(f"recall_accuracy needs the recall task; this run's task is {run.config.task!r}")
    delays = range(min_delay, task.seq_len)
    generator = torch.Generator().manual_seed(run.config.seed + evaluate.EVAL_SEED + 1)
    per_delay = max(1, -(-examples // len(delays)))
    correct = []
    for delay in delays:
        x, y, _ = task.sample_with_delay(per_delay, generator, delay=delay)
        correct.append(task.metric(run.model(x), y))
    return float(np.mean(correct))


def vanishing_verdict(runs) -> tuple[bool, str]:
    """RNN gradient to step 0 vanishes at init, the LSTM's does not; after the budget only the LSTM
    recalls keys from the far half of the sequence (where the vanished gradient would have to reach)."""
    rnn, lstm = runs
    r_rnn, r_lstm = initial_ratio(rnn), initial_ratio(lstm)
    far = rnn.task.seq_len // 2
    acc_rnn, acc_lstm = recall_accuracy(rnn, far), recall_accuracy(lstm, far)
    all_rnn, all_lstm = rnn.evaluate(), lstm.evaluate()
    chance = rnn.task.chance
    ok = bool(r_rnn < 1e-3 and r_lstm > 0.1 and min(acc_lstm, all_lstm) >= 0.9 and acc_rnn < chance + 0.15)
    return ok, (f"At init, grad_norm[0]/grad_norm[-1]: RNN {_fmt(r_rnn)} (needs < 0.001), LSTM {_fmt(r_lstm)} (needs > 0.1). "
                f"After {rnn.step} steps, accuracy with the key {far}+ steps back: LSTM {acc_lstm:.2f} (needs >= 0.9), "
                f"RNN {acc_rnn:.2f} (needs < {chance + 0.15:.2f}, chance {chance:.2f}); "
                f"at any delay: LSTM {all_lstm:.2f} (needs >= 0.9), RNN {all_rnn:.2f}.")


def exploding_verdict(runs) -> tuple[bool, str]:
    """The unclipped run's pre-clip gradient norm rises > 100x and its loss spikes or diverges; the clipped
    twin (same seed) trains: its final loss is below its first and below the unclipped run's."""
    free, clipped = runs
    norms = np.asarray(free.history.grad_norm)
    finite = norms[np.isfinite(norms)]
    rise = float(finite.max() / finite[0]) if len(finite) and finite[0] > 0 else float("inf")
    losses = np.asarray(free.history.loss)
    spiked = free.status == "diverged" or bool(np.nanmax(losses) > 10 * losses[0])
    final_free = float(np.nanmean(losses[-20:])) if free.status == "ok" else float("inf")
    clip_losses = np.asarray(clipped.history.loss)
    final_clip = float(np.mean(clip_losses[-20:])) if clipped.status == "ok" else float("inf")
    ok = bool(rise > 100 and spiked and final_clip < min(final_free, clip_losses[0]))
    state = (f"diverged at step {free.step}" if free.status == "diverged"
             else f"peaked at loss {np.nanmax(losses):.3g} and ended at {final_free:.3g}")
    return ok, (f"Without clipping the pre-clip gradient norm rose {rise:.3g}x (needs > 100x) and the run {state}. "
                f"The same seed with clipping at {clipped.config.clip_grad_norm:g} trained from loss {clip_losses[0]:.3g} "
                f"to {final_clip:.3g} (mean of the last 20 steps; chance {clipped.task.chance:.3g}).")


def recall_verdict(names: tuple[str, str], min_delay: int, rival: str):
    """Recall with the key at least min_delay steps back: the first run reaches 0.9 there; the second
    stays near chance (rival="chance") or merely falls short of 0.9 (rival="short")."""
    def verdict(runs) -> tuple[bool, str]:
        good, bad = runs
        a, b = recall_accuracy(good, min_delay), recall_accuracy(bad, min_delay)
        a_all = good.evaluate()
        chance = good.task.chance
        bar = chance + 0.15 if rival == "chance" else 0.9
        ok = bool(min(a, a_all) >= 0.9 and b < bar)
        rule = f"< {bar:.2f}, chance {chance:.2f}" if rival == "chance" else "< 0.9: falls short"
        return ok, (f"After {good.step} steps, accuracy with the key {min_delay}-{good.task.seq_len - 1} steps back: "
                    f"{names[0]} {a:.2f} (needs >= 0.9; {a_all:.2f} at any delay), {names[1]} {b:.2f} (needs {rule}).")
    return verdict


def accuracy_gap_verdict(names: tuple[str, str], threshold: float, gap: float):
    """The first run reaches `threshold` on held-out data, and the second is at least `gap` below it."""
    def verdict(runs) -> tuple[bool, str]:
        good, bad = runs
        a, b = good.evaluate(), bad.evaluate()
        ok = bool(a >= threshold and b <= a - gap)
        return ok, (f"Held-out accuracy after {good.step} steps: {names[0]} {a:.2f} (needs >= {threshold}), "
                    f"{names[1]} {b:.2f} (needs {gap:.1f} below; chance {good.task.chance:.2f}).")
    return verdict


def gru_lstm_verdict(runs) -> tuple[bool, str]:
    """GRU has about 3/4 of the LSTM's parameters; both reach accuracy 0.9 (training batches, smoothed,
    and held out at the end). Steps and training seconds to get there are reported as measured."""
    gru, lstm = runs
    ratio = gru.num_parameters / lstm.num_parameters
    parts, ok = [], 0.65 <= ratio <= 0.85
    for name, run in (("GRU", gru), ("LSTM", lstm)):
        step, wall = steps_to(run, 0.9)
        final = run.evaluate()
        ok = bool(ok and step is not None and final >= 0.9)
        parts.append(f"{name}: {run.num_parameters} parameters, " +
                     (f"accuracy 0.9 at step {step} ({wall:.1f} s of training)" if step else "did not reach accuracy 0.9") +
                     f", {final:.2f} held out after {run.step} steps")
    return ok, f"GRU/LSTM parameters {ratio:.2f} (needs about 3/4). " + "; ".join(parts) + "."


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
    ok = bool(mse * 2 <= naive)
    return ok, f"Test MSE {mse:.4f} against {naive:.4f} for repeating the last value (needs 2x lower: {naive / max(mse, 1e-12):.1f}x)."


def sentiment_verdict(runs) -> tuple[bool, str]:
    (run,) = runs
    overall, negated = evaluate.sentiment_scores(run)
    ok = bool(overall >= 0.9 and negated >= 0.8)
    return ok, f"Accuracy {overall:.2f} overall (needs >= 0.9), {negated:.2f} on sentences with negation (needs >= 0.8)."


def _presets() -> dict[str, Preset]:
    C = RunConfig
    recall50 = dict(task="recall", seq_len=50, hidden_size=64, lr=1e-2, batch_size=128, seed=1)
    recall60 = dict(task="recall", seq_len=60, hidden_size=64, lr=1e-2, batch_size=128, seed=1)
    recall100 = dict(task="recall", seq_len=100, lr=1e-2, batch_size=64, seed=1)
    sine = dict(arch="rnn", task="sine", seq_len=50, hidden_size=32, init="orthogonal", optimizer="sgd", lr=0.3, seed=1)
    items = [
        Preset("vanishing_gradients", "Vanishing gradients: RNN against LSTM",
               "Both models must name a key shown up to 49 steps before the question. Watch **Gradient norm over "
               "time** at initialisation: towards t = 0 the RNN's line falls by more than ten orders of magnitude, "
               "the LSTM's (its forget gate biased open) by less than two. Then watch **Loss**: "
               "the LSTM solves the task and the RNN stays at chance for keys far back.",
               (C(arch="rnn", **recall50), C(arch="lstm", forget_bias=5.0, **recall50)),
               800, vanishing_verdict, ("RNN", "LSTM")),
        Preset("exploding_gradients", "Exploding gradients, and clipping",
               "Two identical tanh RNNs forecast a sine with plain SGD at a learning rate far too high; only the "
               "second clips its gradient norm at 0.1. Watch **Parameter gradients**: without clipping the norm "
               "climbs by many orders of magnitude within a few dozen steps and the run diverges; watch **Loss**: "
               "the clipped twin trains on.",
               (C(**sine), C(clip_grad_norm=0.1, **sine)),
               300, exploding_verdict, ("no clipping", "clipping at 0.1")),
        Preset("lstm_memory", "LSTM memory across 50 steps",
               "Name the key shown up to 59 steps before the question, through a stream of distractors. Watch "
               "**Gates**: on the units that carry the key the forget gate f sits near 1, so the **Cell state** "
               "still bears the key's mark when the question comes. The RNN beside it stays at chance for keys "
               "50 or more steps back.",
               (C(arch="lstm", forget_bias=5.0, **recall60), C(arch="rnn", **recall60)),
               800, recall_verdict(("LSTM", "RNN"), 50, "chance"), ("LSTM", "RNN")),
        Preset("gru_vs_lstm", "GRU, the leaner LSTM",
               "The same memory task for a GRU and an LSTM. The GRU has three gates' worth of weights where the "
               "LSTM has four; watch **Loss** to see which gets there first, in steps and in seconds.",
               (C(arch="gru", task="recall", seq_len=30, hidden_size=32, lr=3e-3, batch_size=64, seed=1),
                C(arch="lstm", task="recall", seq_len=30, hidden_size=32, lr=3e-3, batch_size=64, forget_bias=1.0, seed=1)),
               400, gru_lstm_verdict, ("GRU", "LSTM")),
        Preset("bidirectional", "Bidirectional RNNs see the future",
               "The label at step t is the input at step t + 1. A one-way GRU can only guess; the bidirectional "
               "one reads the sequence backwards too. Watch the **Hidden state** of the reverse direction, and "
               "**Prediction**: one-way stays at chance, 1/4.",
               (C(arch="gru", task="lookahead", seq_len=20, hidden_size=32, bidirectional=True, lr=1e-2, seed=1),
                C(arch="gru", task="lookahead", seq_len=20, hidden_size=32, lr=1e-2, seed=1)),
               300, accuracy_gap_verdict(("bidirectional", "one-way"), 0.9, gap=0.2), ("bidirectional", "one-way")),
        Preset("transformer_memory", "Attention reaches everywhere",
               "Name the key shown up to 99 steps before the question. For an LSTM that is a long way to carry it, "
               "but attention looks at every step directly. Watch the **Attention** map: in one head the last row "
               "(the question) lights up the step that held the key. The LSTM has not learned it when the budget ends.",
               (C(arch="transformer", hidden_size=32, num_heads=2, **{**recall100, "lr": 3e-3}),
                C(arch="lstm", hidden_size=64, forget_bias=5.0, **recall100)),
               200, recall_verdict(("Transformer", "LSTM"), 50, "short"), ("Transformer", "LSTM")),
        Preset("text_generation", "Text generation, one character at a time",
               "A character LSTM reads Pride and Prejudice and predicts the next character. Watch **Loss** fall "
               "from ln 36 = 3.6 nats per character to about 1.6, well below the 3.0 that letter frequencies alone "
               "give, and **Prediction** show the probability it gave each actual next character. The verdict "
               "shows a sample: mostly real words.",
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
