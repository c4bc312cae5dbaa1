"""What a preset's trained runs show, in numbers: the figures each lesson's verdict reads, the rules they must
meet, and a sentence on what else was measured. Not the lessons themselves (explorer/presets.py).
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass

import numpy as np
import torch

from explorer import compare, evaluate


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
        return f"needs {self.op} {fmt(self.bound)}"


def vanishing_ratio(grad_norm) -> float:
    """grad_norm[0] / grad_norm[-1] of a (T,) profile: how much of the gradient reaches the first step (0 if none)."""
    return float(grad_norm[0] / grad_norm[-1]) if grad_norm[-1] > 0 else 0.0


def initial_ratio(run) -> float:
    """vanishing_ratio of layer 0, direction 0, at initialisation (the first recorded profile)."""
    if not run.history.profiles:
        raise ValueError("the run has no gradient profile: call run.trace() before training")
    return vanishing_ratio(run.history.profiles[0][1][0, 0])


def fmt(v: float) -> str:
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


def _letter_gradient(run) -> float:
    """The largest batch-mean ||dL/dx_t|| over the copy task's letters (its first k steps), on the probe batch:
    how much of the loss reaches the inputs the answer must be copied from."""
    from explorer.trace import trace_model  # here: the trace is only needed by this lesson's verdict

    letters, _ = run.task.layout(run.task.seq_len)
    fields = trace_model(run.model, run.probe, run.probe_targets, run.task.loss)
    return float(fields["input_grad"][:letters].max())


def truncation_figures(runs) -> dict[str, float]:
    """Copy: each letter is needed T - k steps after it is shown. Full BPTT learns it; truncated at bptt < T - k
    cuts every path from the answers back to the letters (their gradient is exactly zero) and stays near chance."""
    full, cut = runs
    return {"held-out accuracy, full BPTT": full.evaluate(),
            f"and truncated (k={cut.config.bptt})": cut.evaluate(),
            "largest ||dL/dx_t|| at the letters, truncated": _letter_gradient(cut),
            "and full BPTT": _letter_gradient(full)}


def truncation_note(runs, figures) -> str:
    full, cut = runs
    letters, _ = cut.task.layout(cut.task.seq_len)
    lag = cut.task.seq_len - letters
    return (f"Each letter is needed {lag} steps after it is shown; the truncated run detaches its state every "
            f"{cut.config.bptt} steps, so no gradient from an answer reaches a letter, and the weights that read the "
            f"letters never change. Chance is {cut.task.chance:.3f}.")
