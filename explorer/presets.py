"""Presets: one-click lessons. Each is named RunConfigs, a step budget, and a verdict that checks
the promised observation on the trained runs, in numbers. Not the pages that present them.

Configs and budgets were found by experiment on a 2-core CPU (each lesson well under 60 s) and are
locked by tests/test_presets.py on seeds other than the preset's own; measured figures and wall
times are in docs/presets.md. train_preset() trains a preset headless as the app's worker does.
"""
from __future__ import annotations

import dataclasses
import math
import operator
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from explorer import compare, evaluate
from explorer.config import RunConfig
from explorer.run import Run


_OPS = {"<": operator.lt, "<=": operator.le, ">=": operator.ge, ">": operator.gt}


@dataclass(frozen=True)
class Rule:
    """One number a lesson promises: figures[figure] <op> bound."""

    figure: str  # a key of the preset's measure(runs)
    op: str  # "<" | "<=" | ">=" | ">"
    bound: float

    def holds(self, figures: dict[str, float]) -> bool:
        return bool(_OPS[self.op](figures[self.figure], self.bound))

    def __str__(self) -> str:
        return f"needs {self.op} {_fmt(self.bound)}"


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    narration: str  # two or three sentences: what to watch
    configs: tuple[RunConfig, ...]  # one run, or several compared side by side
    steps: int  # training budget of each run
    measure: Callable[[Sequence[Run]], dict[str, float]]  # trained runs -> the lesson's figures, by name
    rules: tuple[Rule, ...]  # what the figures must show for the claim to be reproduced
    labels: tuple[str, ...] = ()  # a short name per run, for side-by-side panels
    note: Callable[[Sequence[Run], dict[str, float]], str] | None = None  # what else was measured, in words
    focus: str = "loss_chart"  # the chart the narration is about (a CAPTIONS key): first on a projector

    def with_seed(self, seed: int) -> "Preset":
        """The same lesson on another seed (tests use one the preset was not tuned on)."""
        return dataclasses.replace(self, configs=tuple(c.replace(seed=seed) for c in self.configs))

    def verdict(self, runs: Sequence[Run]) -> tuple[bool, str]:
        """(claim reproduced?, the figures with what each needs) for the trained runs."""
        figures = self.measure(runs)
        ok = all(rule.holds(figures) for rule in self.rules)
        needs: dict[str, str] = {}
        for rule in self.rules:  # one figure may have two bounds: "needs >= 0.65 and <= 0.85"
            needs[rule.figure] = f"{needs[rule.figure]} and {rule.op} {_fmt(rule.bound)}" if rule.figure in needs else str(rule)
        parts = [f"{name} {_fmt(value)}" + (f" ({needs[name]})" if name in needs else "")
                 for name, value in figures.items()]
        text = f"After {max(run.step for run in runs)} steps: " + "; ".join(parts) + "."
        return ok, text + (" " + self.note(runs, figures) if self.note else "")


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


def vanishing_ratio(grad_norm) -> float:
    """grad_norm[0] / grad_norm[-1] of a (T,) profile: how much of the gradient reaches the first step (0 if none)."""
    return float(grad_norm[0] / grad_norm[-1]) if grad_norm[-1] > 0 else 0.0


def initial_ratio(run) -> float:
    """vanishing_ratio of layer 0, direction 0, at initialisation (the first recorded profile)."""
    if not run.history.profiles:
        raise ValueError("the run has no gradient profile: call run.trace() before training")
    return vanishing_ratio(run.history.profiles[0][1][0, 0])


def _fmt(v: float) -> str:
    """A figure as a reader wants it: 0.25, 1.00, 100, 3.2e-12, inf."""
    if not math.isfinite(v) or v == int(v) and 2 <= abs(v) < 1e6:
        return f"{v:g}"  # inf, 100
    return f"{v:.2g}" if abs(v) < 1e-2 or abs(v) >= 1e3 else f"{v:.2f}"


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


def vanishing_figures(runs) -> dict[str, float]:
    """At init the RNN's gradient to step 0 has vanished and the LSTM's has not; after training only the
    LSTM recalls keys from the far half of the sequence (where the vanished gradient would have to reach)."""
    rnn, lstm = runs
    far = rnn.task.seq_len // 2
    return {"grad_norm[0]/grad_norm[-1] at init, RNN": initial_ratio(rnn),
            "and LSTM": initial_ratio(lstm),
            f"accuracy with the key {far}+ steps back, LSTM": recall_accuracy(lstm, far),
            "and RNN": recall_accuracy(rnn, far),
            "LSTM accuracy at any delay": lstm.evaluate()}


def exploding_figures(runs) -> dict[str, float]:
    """Without clipping the pre-clip gradient norm rises by orders of magnitude and the loss spikes or the
    run diverges; the clipped twin (same seed) trains well below chance."""
    free, clipped = runs
    norms = np.asarray(free.history.grad_norm)
    finite = norms[np.isfinite(norms)]
    losses = np.asarray(free.history.loss)
    peak = math.inf if free.status == "diverged" else float(np.nanmax(losses))
    clip_losses = np.asarray(clipped.history.loss)
    return {"gradient norm rise without clipping (max/first)": float(finite.max() / finite[0]),
            "its loss peak/first": peak / float(losses[0]),
            "with clipping, loss of the last 20 steps/chance": (float(np.mean(clip_losses[-20:])) / clipped.task.chance
                                                                if clipped.status == "ok" else math.inf)}


def exploding_note(runs, figures) -> str:
    free, clipped = runs
    what = f"diverged at step {free.step}" if free.status == "diverged" else "did not diverge"
    return f"The unclipped run {what}; the clipped one clips at {clipped.config.clip_grad_norm:g}."


def recall_figures(names: tuple[str, str], min_delay: int):
    """Recall with the key at least min_delay steps back, for both runs, and the first one at any delay."""
    def measure(runs) -> dict[str, float]:
        good, bad = runs
        return {f"accuracy with the key {min_delay}-{good.task.seq_len - 1} steps back, {names[0]}":
                recall_accuracy(good, min_delay),
                f"and {names[1]}": recall_accuracy(bad, min_delay),
                f"{names[0]} accuracy at any delay": good.evaluate()}
    return measure


def gru_lstm_figures(runs) -> dict[str, float]:
    """GRU has about 3/4 of the LSTM's parameters and learns the task as well (held out, after the budget)."""
    gru, lstm = runs
    return {"parameters GRU/LSTM": gru.num_parameters / lstm.num_parameters,
            "held-out accuracy, GRU": gru.evaluate(), "and LSTM": lstm.evaluate()}


def gru_lstm_note(runs, figures) -> str:
    """Who got to accuracy 0.9 first, in steps and in seconds, as measured (not part of the claim)."""
    reached = {name: compare.steps_to_threshold(run.history.step, run.history.metric, run.history.wall, 0.9,
                                                run.history.higher_is_better) for name, run in zip(("GRU", "LSTM"), runs)}
    parts = [f"{name} at step {step} ({wall:.1f} s)" if step else f"{name} never"
             for name, (step, wall) in reached.items()]
    text = "Accuracy 0.9 (training batches, smoothed): " + ", ".join(parts) + "."
    (gs, gw), (ls, lw) = reached.values()
    if gs and ls:
        text += (f" First in steps: {'GRU' if gs < ls else 'LSTM' if ls < gs else 'a tie'}; "
                 f"in seconds: {'GRU' if gw < lw else 'LSTM'}. The claim is about size, not speed.")
    return text


def bidirectional_figures(runs) -> dict[str, float]:
    both, one = runs
    a, b = both.evaluate(), one.evaluate()
    return {"held-out accuracy, bidirectional": a, "one-way": b, "the difference": a - b}


def text_figures(runs) -> dict[str, float]:
    (run,) = runs
    bits = evaluate.held_out_loss(run)  # the text task's loss is in bits per character
    share = evaluate.known_word_share(run, _sample(run))
    return {"bits/char": bits, "bits/char below the unigram baseline": run.task.unigram_entropy_bits() - bits,
            "share of sampled words that are words of the text": share}


def _sample(run) -> str:
    return run.generate("the ", 200, temperature=0.8, seed=0)


def text_note(runs, figures) -> str:
    return f"Sample: “{_sample(runs[0])[:120]}…”"


def forecasting_figures(runs) -> dict[str, float]:
    (run,) = runs
    mse, naive = evaluate.forecast_scores(run)
    return {"test MSE": mse, "repeating the last value": naive, "how many times lower": naive / max(mse, 1e-12)}


def sentiment_figures(runs) -> dict[str, float]:
    (run,) = runs
    overall, negated = evaluate.sentiment_scores(run)
    return {"accuracy overall": overall, "on sentences with a negation": negated}


def parallel_scan_figures(runs) -> dict[str, float]:
    """Training steps per second of each (its own wall time in train_step), and both forecasts against the naive one."""
    mingru, gru = runs
    speed = {name: run.step / run.wall for name, run in (("minGRU", mingru), ("GRU", gru))}
    lower = {}
    for name, run in (("minGRU", mingru), ("GRU", gru)):
        mse, naive = evaluate.forecast_scores(run)
        lower[name] = naive / max(mse, 1e-12)
    return {"training steps/s, minGRU": speed["minGRU"], "GRU": speed["GRU"],
            "minGRU/GRU": speed["minGRU"] / speed["GRU"],
            "times lower MSE than repeating the last value, minGRU": lower["minGRU"], "and GRU": lower["GRU"]}


def parallel_scan_note(runs, figures) -> str:
    ratio = figures["minGRU/GRU"]
    word = "faster" if ratio > 1.1 else "slower" if ratio < 1 / 1.1 else "about as fast"
    return (f"On this CPU the minGRU trained {ratio:.2f}× the GRU's steps per second ({word}). Feng et al. 2024 "
            "(arXiv:2410.01201v1, abstract) call minGRU and minLSTM “fully parallelizable during training (175× "
            "faster for a sequence of length 512)”: the scan's win is parallel hardware, "
            "where all T steps run at once; one CPU core does the scan's log-space sums one after another too, "
            "against torch's fused GRU kernel.")


def selective_copy_figures(runs) -> dict[str, float]:
    selective, fixed, lstm = runs
    a, b = selective.evaluate(), fixed.evaluate()
    return {"held-out accuracy, selective SSM": a, "time-invariant SSM": b, "the difference": a - b,
            "LSTM": lstm.evaluate()}


def selective_copy_note(runs, figures) -> str:
    return ("Gu & Dao 2023 (arXiv:2312.00752), Table 1, on their selective copying: S4 without gating 18.3%, "
            "S6 without gating 97.0%. Here both SSMs keep Mamba's gate and short convolution, which let the "
            f"time-invariant one do better than chance ({1 / 8:.3f}) on these short sequences.")


# -- closed_loop_forecast (issue 13, item 2) ------------------------------------------------------------
def closed_loop_figures(runs) -> dict[str, float]:
    """Held-out MSE of each run's k-step-ahead forecasts, fed on its own outputs after the prompt
    (evaluate.free_running_scores); how many times the lowest closed-loop error (k >= 4) exceeds the one-step one;
    and, on the sine, how many times the 32-step error does."""
    mse = {run.task.name: evaluate.free_running_scores(run) for run in runs}
    figures = {}
    for name, by_k in mse.items():
        figures[f"{name}: MSE k=1 (true inputs)"] = by_k[1]
        figures |= {f"{name} k={k} (own outputs)": by_k[k] for k in evaluate.HORIZONS[1:]}
    for name, by_k in mse.items():
        figures[f"lowest of k=4, 16, 32 / k=1, {name}"] = min(by_k[k] for k in evaluate.HORIZONS[1:]) / max(by_k[1], 1e-12)
    figures["k=32/k=1, sine"] = mse["sine"][32] / max(mse["sine"][1], 1e-12)
    return figures


def closed_loop_note(runs, figures) -> str:
    first = evaluate.MIN_PROMPT + max(evaluate.HORIZONS) - 1
    return (f"Each k is scored on the same targets, from step {first} of fresh sine sequences and on the held-out "
            "sunspot years 1947-2008 (the whole series read in), so every forecast had at least "
            f"{evaluate.MIN_PROMPT} true values before its own. Zhang, Lipton, Li & Smola, Dive into Deep Learning, "
            "section “Sequence Models” (9.1 “Working with Sequences” in the current edition at d2l.ai), draw "
            "k-step-ahead predictions of a noisy sine for k = 1, 4, 16 and 64; the windows here are 64 steps long, "
            "so k stops at 32.")


# -- translation_attention (issue 13, item 1) ------------------------------------------------------------
def translation_figures(runs) -> dict[str, float]:
    """Greedy decoding's exact match on 512 fresh numbers of any length and 512 of the most digits (9 at
    seq_len 14), with attention and without (evaluate.translate_scores); how diagonal the attention's
    alignment is (evaluate.alignment_scores)."""
    (every, long), (every_fixed, long_fixed) = (evaluate.translate_scores(run) for run in runs)
    digits = runs[0].task.digits
    return {"exact match, with attention": every, f"on {digits}-digit numbers": long,
            **dict(zip(("alignment: mean weight on each digit's strongest word",
                        "share of digits whose strongest word is not left of the previous digit's"),
                       evaluate.alignment_scores(runs[0]))),
            "without attention": every_fixed, f"without attention, on {digits}-digit numbers": long_fixed,
            f"the difference on {digits}-digit numbers": long - long_fixed}


def translation_note(runs, figures) -> str:
    return ("At initialisation the mean weight on each digit's strongest word was about 0.19 (seeds 1 and 2): "
            "spread over all the words, whose order then says nothing. "
            "Exact match counts a number right only if every digit and the end are; the decoder is fed its own "
            "previous digit (greedy decoding), as when translating for real. Bahdanau, Cho & Bengio 2015 "
            "(arXiv:1409.0473), Figure 2: without attention the BLEU score of their encoder-decoder falls as "
            "sentences grow longer; with it, it holds up to far longer sentences.")


INDUCTION_FACTORS = (1, 2, 4, 8)  # evaluated at these multiples of the training length
INDUCTION_STEPS = 500
# seeds 1-8 (docs/presets.md): SSM at 8x 0.97 at worst; Transformer at 2x 0.49-0.67, at 8x 0.18-0.26
INDUCTION_RULES = (Rule("SSM at T=16 (trained)", ">=", 0.9), Rule("SSM at 8x (T=128)", ">=", 0.9),
                   Rule("Transformer at T=16 (trained)", ">=", 0.9), Rule("Transformer at 2x (T=32)", "<", 0.8),
                   Rule("Transformer at 8x (T=128)", "<", 0.4))


def induction_figures(runs) -> dict[str, float]:
    """Held-out accuracy of both runs at 1x, 2x, 4x and 8x the length they trained at (512 sequences each)."""
    figures = {}
    for name, run in zip(("SSM", "Transformer"), runs):
        T = run.config.seq_len
        for k in INDUCTION_FACTORS:
            label = f"{name} at T={T} (trained)" if k == 1 else f"{name} at {k}x (T={k * T})"
            figures[label] = evaluate.metric_at_length(run, k * T)
    return figures


def induction_note(runs, figures) -> str:
    return ("Gu & Dao 2023 (arXiv:2312.00752, section 4.1.2) trained at length 256 and tested up to 2^20: Mamba "
            "solved it “4000× longer than it saw during training”, and none of the attention models they tried went "
            f"beyond 2x. Chance is {1 / 8:.3f}.")


RECALL_CHANCE = 0.25  # four keys


def _presets() -> dict[str, Preset]:
    C = RunConfig
    # Adam 2e-2 with the gradient norm clipped at 1: every seed tried reached 1.0 by step 300 (docs/presets.md)
    recall50 = dict(task="recall", seq_len=50, hidden_size=64, lr=2e-2, batch_size=64, clip_grad_norm=1.0, seed=1)
    recall55 = dict(recall50, seq_len=55)
    recall100 = dict(task="recall", seq_len=100, lr=1e-2, batch_size=64, seed=1)
    sine = dict(arch="rnn", task="sine", seq_len=50, hidden_size=32, init="orthogonal", optimizer="sgd", lr=0.3, seed=1)
    items = [
        Preset("vanishing_gradients", "Vanishing gradients: RNN against LSTM",
               "Both models must name a key shown up to 49 steps before the question. Watch **Gradient norm over "
               "time** at initialisation: towards t = 0 the RNN's line falls by more than ten orders of magnitude, "
               "the LSTM's (its forget gate biased open) by less than two. Then watch **Loss**: "
               "the LSTM solves the task and the RNN stays at chance for keys far back. (Both clip their "
               "gradient norm at 1, as LSTMs are usually trained.)",
               (C(arch="rnn", **recall50), C(arch="lstm", forget_bias=5.0, **recall50)),
               500, vanishing_figures,
               (Rule("grad_norm[0]/grad_norm[-1] at init, RNN", "<", 1e-3), Rule("and LSTM", ">", 0.01),
                Rule("accuracy with the key 25+ steps back, LSTM", ">=", 0.9), Rule("and RNN", "<", RECALL_CHANCE + 0.15),
                Rule("LSTM accuracy at any delay", ">=", 0.9)),
               ("RNN", "LSTM"), focus="grad_norm_chart"),
        Preset("exploding_gradients", "Exploding gradients, and clipping",
               "Two identical tanh RNNs forecast a sine with plain SGD at a learning rate far too high; only the "
               "second clips its gradient norm at 0.1. Watch **Parameter gradients**: without clipping the norm "
               "climbs by many orders of magnitude within a few dozen steps and the run diverges; watch **Loss**: "
               "the clipped twin trains on.",
               (C(**sine), C(clip_grad_norm=0.1, **sine)),
               300, exploding_figures,
               (Rule("gradient norm rise without clipping (max/first)", ">", 100), Rule("its loss peak/first", ">", 10),
                Rule("with clipping, loss of the last 20 steps/chance", "<", 0.5)),
               ("no clipping", "clipping at 0.1"), exploding_note, focus="param_grad_chart"),
        Preset("lstm_memory", "LSTM memory across 50 steps",
               "Name the key shown up to 54 steps before the question, through a stream of distractors; the "
               "verdict counts the keys shown 50 to 54 steps back. Watch "
               "**Gates**: on the units that carry the key the forget gate f sits near 1, so the **Cell state** "
               "still bears the key's mark when the question comes. The RNN beside it stays at chance for keys "
               "50 or more steps back.",
               (C(arch="lstm", forget_bias=5.0, **recall55), C(arch="rnn", **recall55)),
               600, recall_figures(("LSTM", "RNN"), 50),
               (Rule("accuracy with the key 50-54 steps back, LSTM", ">=", 0.9), Rule("and RNN", "<", RECALL_CHANCE + 0.15),
                Rule("LSTM accuracy at any delay", ">=", 0.9)),
               ("LSTM", "RNN"), focus="gate_heatmaps"),
        Preset("gru_vs_lstm", "GRU, the leaner LSTM",
               "The same memory task for a GRU and an LSTM. The GRU has three gates' worth of weights where the "
               "LSTM has four; watch **Loss** to see which gets there first, in steps and in seconds.",
               (C(arch="gru", task="recall", seq_len=30, hidden_size=32, lr=3e-3, batch_size=64, seed=1),
                C(arch="lstm", task="recall", seq_len=30, hidden_size=32, lr=3e-3, batch_size=64, forget_bias=1.0, seed=1)),
               400, gru_lstm_figures,
               (Rule("parameters GRU/LSTM", ">=", 0.65), Rule("parameters GRU/LSTM", "<=", 0.85),
                Rule("held-out accuracy, GRU", ">=", 0.9), Rule("and LSTM", ">=", 0.9)),
               ("GRU", "LSTM"), gru_lstm_note, focus="loss_chart"),
        Preset("bidirectional", "Bidirectional RNNs see the future",
               "The label at step t is the input at step t + 1. A one-way GRU can only guess; the bidirectional "
               "one reads the sequence backwards too. Watch the **Hidden state** of the reverse direction, and "
               "**Prediction**: one-way stays at chance, 1/4.",
               (C(arch="gru", task="lookahead", seq_len=20, hidden_size=32, bidirectional=True, lr=1e-2, seed=1),
                C(arch="gru", task="lookahead", seq_len=20, hidden_size=32, lr=1e-2, seed=1)),
               300, bidirectional_figures,
               (Rule("held-out accuracy, bidirectional", ">=", 0.9), Rule("the difference", ">=", 0.2)),
               ("bidirectional", "one-way"), focus="hidden_state_heatmap"),
        Preset("transformer_memory", "Attention reaches everywhere",
               "Name the key shown up to 99 steps before the question. For an LSTM that is a long way to carry it, "
               "but attention looks at every step directly. Watch the **Attention** map: in one head the last row "
               "(the question) lights up the step that held the key. The LSTM has not learned it when the budget ends.",
               (C(arch="transformer", hidden_size=32, num_heads=2, **{**recall100, "lr": 3e-3}),
                C(arch="lstm", hidden_size=64, forget_bias=5.0, **recall100)),
               200, recall_figures(("Transformer", "LSTM"), 50),
               (Rule("accuracy with the key 50-99 steps back, Transformer", ">=", 0.9), Rule("and LSTM", "<", 0.9),
                Rule("Transformer accuracy at any delay", ">=", 0.9)),
               ("Transformer", "LSTM"), focus="attention_heatmaps"),
        Preset("text_generation", "Text generation, one character at a time",
               "A character LSTM reads Pride and Prejudice and predicts the next character. Watch **Loss** fall "
               "from log2 36 = 5.2 bits per character to about 2.3, well below the 4.3 that letter frequencies alone "
               "give, and **Prediction** show the probability it gave each actual next character. The verdict "
               "shows a sample: mostly real words.",
               (C(arch="lstm", task="text", seq_len=64, hidden_size=128, lr=1e-2, batch_size=32, seed=1),),
               600, text_figures,
               (Rule("bits/char below the unigram baseline", ">=", 1.0),
                Rule("share of sampled words that are words of the text", ">", 0.5)),
               ("LSTM",), text_note, focus="loss_chart"),
        Preset("forecasting", "Forecasting a time series",
               "A GRU forecasts the next value of a noisy sum of sines. Watch the **Prediction** chart: the forecast "
               "locks onto the waves, beating the naive forecast that repeats the last value.",
               (C(arch="gru", task="sine", seq_len=60, hidden_size=32, lr=1e-2, seed=1),),
               300, forecasting_figures, (Rule("how many times lower", ">=", 2.0),), ("GRU",), focus="prediction_chart"),
        Preset("sentiment", "Sentiment, negation included",
               "An LSTM reads short reviews word by word and calls them positive or negative. “not good” must flip "
               "the label: watch the **Hidden state** change at the word “not”.",
               (C(arch="lstm", task="sentiment", seq_len=12, hidden_size=32, lr=1e-2, seed=1),),
               300, sentiment_figures,
               (Rule("accuracy overall", ">=", 0.9), Rule("on sentences with a negation", ">=", 0.8)), ("LSTM",), focus="hidden_state_heatmap"),
    ]
    # one layer: with two, the time-invariant twin caught up with the selective SSM (0.86 against 0.84 after 700
    # steps on seed 3); with one it stays near 0.44 and the selective one reaches 0.91-0.92 (docs/presets.md)
    scan = dict(task="selective_copy", seq_len=32, hidden_size=32, num_layers=1, state_size=8, lr=1e-2,
                batch_size=64, seed=1)
    sine512 = dict(task="sine", seq_len=512, hidden_size=32, lr=1e-2, seed=1)
    induction = dict(task="induction", seq_len=16, hidden_size=32, batch_size=64, seed=1)
    items += [
        Preset("parallel_scan", "minGRU: a GRU that trains as a parallel scan",
               "A minGRU and a GRU of the same width forecast a sine wave over sequences of 512 steps. The minGRU's "
               "gates read x_t only, so training computes all 512 states at once with a scan instead of a loop. "
               "Watch **Loss**: both learn; the verdict gives each one's training steps per second on this machine.",
               # minGRU at Adam 3e-2: at 1e-2 its 161 parameters reached only 2.06-2.15x in the budget (docs/presets.md)
               (C(arch="mingru", **{**sine512, "lr": 3e-2}), C(arch="gru", **sine512)),
               150, parallel_scan_figures,
               (Rule("times lower MSE than repeating the last value, minGRU", ">=", 2.0), Rule("and GRU", ">=", 2.0)),
               ("minGRU", "GRU"), parallel_scan_note),
        Preset("selective_copying", "Selective copying: choosing what to keep",
               "Copy 4 letters scattered among noise, in order, after the delimiter. The selective SSM computes its "
               "step size Δ and its B, C from each input; the time-invariant one uses the same Δ, B, C at every "
               "step. Watch **Gates**: the selective SSM's Δ, B, C vary along t, the time-invariant one's do not; "
               "and **Loss**: the time-invariant one levels off far above the selective one. The LSTM beside "
               "them is the classic baseline.",
               (C(arch="ssm", **scan), C(arch="ssm", selective=False, **scan),
                C(arch="lstm", task="selective_copy", seq_len=32, hidden_size=64, lr=1e-2, batch_size=64, seed=1)),
               500, selective_copy_figures,
               (Rule("held-out accuracy, selective SSM", ">=", 0.8), Rule("the difference", ">=", 0.3)),
               ("selective SSM", "time-invariant SSM", "LSTM"), selective_copy_note),
        Preset("induction_heads", "Induction heads: does the rule hold at 8x the length?",
               "After the second '#', name the letter that followed the first one. An SSM and a Transformer train on "
               "sequences of 16 steps; watch **Loss**: both solve it at that length. The verdict then tests both on "
               "sequences 2, 4 and 8 times longer than any they saw: the SSM carries the letter in its state and "
               "keeps the rule at every length; the Transformer, which saw positions up to 16 only, falls already "
               "at twice the length and towards chance (1/8) at 8x.",
               # the Transformer at Adam 1e-2 stayed at chance; at T=32 it needed ~1000 steps (docs/presets.md)
               (C(arch="ssm", **induction, num_layers=1, state_size=8, lr=1e-2),
                C(arch="transformer", **induction, num_layers=2, num_heads=2, lr=3e-3)),
               INDUCTION_STEPS, induction_figures, INDUCTION_RULES,
               ("SSM", "Transformer"), induction_note),
    ]
    # -- closed_loop_forecast (issue 13, item 2) --------------------------------------------------------
    # sunspots at Adam 3e-3: at 1e-2 the 32-step error was only 2.3x the one-step one on seed 4 (docs/presets.md)
    forecast64 = dict(arch="gru", seq_len=64, hidden_size=32, seed=1)
    items += [
        Preset("closed_loop_forecast", "Closed-loop forecasting: fed its own outputs",
               "Two GRUs learn to forecast the next value, one of noisy sines, one of yearly sunspot numbers, always "
               "reading the true values (teacher forcing). Watch **Prediction**: the solid line forecasts each step "
               "from the true values; the dashed ones start k = 4, 16, 32 steps earlier and feed the model its own "
               "outputs, so every error is read back in and compounds. The verdict measures each on held-out data: "
               "every closed-loop error is far above the one-step one; the sine's keeps growing up to k = 32, while "
               "the sunspot forecast loses the cycle within a few steps and its error levels off.",
               (C(task="sine", lr=1e-2, **forecast64), C(task="sunspots", lr=3e-3, **forecast64)),
               300, closed_loop_figures,
               (Rule("lowest of k=4, 16, 32 / k=1, sine", ">=", 2.0), Rule("lowest of k=4, 16, 32 / k=1, sunspots", ">=", 2.0),
                Rule("k=32/k=1, sine", ">=", 4.0)),
               ("sine", "sunspots"), closed_loop_note, focus="prediction_chart"),
    ]
    # -- translation_attention (issue 13, item 1) ------------------------------------------------------
    # clipped at 1: without it seed 6 ended at exact match 0.88 with two threads and ATEN_CPU_CAPABILITY=default
    translate = dict(arch="gru", task="translate", seq_len=14, hidden_size=64, lr=1e-2, batch_size=64,
                     clip_grad_norm=1.0, seed=1)
    items += [
        Preset("translation_attention", "Translation with attention",
               "Two GRU encoder-decoders learn to write English number words in digits, “three hundred forty two "
               "thousand five” as 342005, up to 9 digits. The first decoder attends: at every digit it looks back "
               "over all the words. Watch **Attention alignment**: the weight, spread evenly at first, gathers on "
               "one word per digit and runs down a diagonal band. The second gets only the encoder's final state: "
               "watch **Loss**, and the verdict, where it fails on the long numbers that attention handles. (Both "
               "clip their gradient norm at 1.)",
               (C(attention=True, **translate), C(attention=False, **translate)),
               500, translation_figures,
               (Rule("exact match, with attention", ">=", 0.9),
                Rule("the difference on 9-digit numbers", ">=", 0.4),
                Rule("alignment: mean weight on each digit's strongest word", ">=", 0.5),
                Rule("share of digits whose strongest word is not left of the previous digit's", ">=", 0.8)),
               ("attention", "no attention"), translation_note, focus="alignment_chart"),
    ]
    return {p.name: p for p in items}


PRESETS = _presets()
