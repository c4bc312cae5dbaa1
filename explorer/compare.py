"""Architecture comparison in numbers: matched configs, parameter counts, the length sweep's configs, steps to a
threshold, step times. Plain Python and numpy; not Streamlit, not charts, not the classic table's claims and the
sentences that check them (explorer/ui/classic_table.py, beside the Compare page that shows them).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer import budget
from explorer.config import ARCHITECTURES, BIDIRECTIONAL_ARCHS, LIMITS, RunConfig, unused_fields
from explorer.style import ARCH_LABELS
from explorer.tasks import make_task

MATCH_REFERENCE = "lstm"  # matched parameter counts aim at the LSTM's

# The sequence-length sweep: small enough to finish in about a minute on 2 cores.
SWEEP_LENGTHS = (10, 25, 50, 100)
SWEEP_TASKS = ("recall", "copy")
SWEEP_ARCHS = ARCHITECTURES  # what the sweep trains unless the user picks fewer: the scan models beside the classic four
# CPU seconds of one architecture's sweep on recall, matched, all four lengths (2-core EPYC, one thread, loaded;
# docs/benchmarks.md): minGRU and minLSTM match the LSTM's parameters at hidden 53-75 and scan in log space; the
# ssm, 29 s before its fused scan and 15 s after (`python -m explorer.bench --scan --sweep`, the same process)
SWEEP_SECONDS = {"rnn": 6, "lstm": 5, "gru": 12, "transformer": 13, "mingru": 39, "minlstm": 30, "ssm": 15}
SWEEP_HIDDEN = 16  # the LSTM's hidden size; the others match its parameter count when asked
SWEEP_STEPS = 300  # training steps per (architecture, length) run
SWEEP_SETTINGS = dict(optimizer="adam", lr=3e-3, batch_size=64, num_layers=1, bidirectional=False,
                      init="default", clip_grad_norm=None, nonlinearity="tanh",
                      forget_bias=1.0)  # LSTM only: the usual advice (Jozefowicz et al. 2015); others drop it
SOLVED_AT = 0.9  # held-out accuracy at which a length counts as solved
# why the sweep leaves a task out: on these tasks a longer sequence is no harder in the way the memory tasks are
NOT_SWEPT = {
    "translate": "Translate is not swept: its question about length is attention against none, not one architecture "
                 "against another, and it is the lesson Translation with attention (its verdict scores 9-digit "
                 "numbers apart). Its encoder-decoders also need about 500 steps at hidden 64, far past this sweep's "
                 "300 steps at hidden 16.",
    "csv": "Your own series is not swept: there the sequence length is the window read before each forecast, "
           "not a distance something must be remembered over.",
}
NOT_SWEPT |= dict.fromkeys(("ecg", "stocks", "music"), "The real-data tasks are not swept: there the sequence length "
                           "is the window of data read, not a distance something must be remembered over.")


# -- parameter counts and matching ------------------------------------------------------------

def task_sizes(task: str, seq_len: int) -> tuple[int, int]:
    """(input_size, output_size) of a task at a sequence length."""
    t = make_task(task, seq_len)
    return t.input_size, t.output_size


def parameters_of(config: RunConfig, sizes: tuple[int, int] | None = None) -> int:
    """Trainable parameters of config's model (budget.parameters: counted on the meta device)."""
    return budget.parameters(config, sizes or task_sizes(config.task, config.seq_len))


def for_arch(base: RunConfig, arch: str, hidden_size: int | None = None) -> RunConfig:
    """`base` with another architecture; settings that mean nothing to it go back to their defaults."""
    changes: dict = dict(arch=arch, hidden_size=hidden_size or base.hidden_size, **unused_fields(arch))
    if arch != "lstm":
        changes["forget_bias"] = None
    if arch != "rnn":
        changes["nonlinearity"] = "tanh"
    if arch not in BIDIRECTIONAL_ARCHS:
        changes.update(bidirectional=False, init="default")
    return base.replace(**changes)


def allowed_hidden_sizes(base: RunConfig, arch: str) -> tuple[list[int], str]:
    """(hidden sizes `arch` may take at base's batch, length and layers, why no larger one may).
    Within every cap RunConfig enforces (the per-visitor budget among them); multiples of num_heads
    for the transformer."""
    step = base.num_heads if arch == "transformer" else 1
    sizes = []
    for h in range(step, LIMITS.max_hidden_size + 1, step):
        try:
            for_arch(base, arch, h)
        except ValueError as error:
            return sizes, str(error)  # the caps grow with the hidden size: no larger one fits either
        sizes.append(h)
    return sizes, f"hidden_size may be at most {LIMITS.max_hidden_size}"


def matched_hidden_size(base: RunConfig, arch: str, target: int, sizes: tuple[int, int]) -> int:
    """The allowed hidden size whose parameter count is closest to `target` (transformer: a multiple of num_heads).
    ValueError saying why when no hidden size is allowed at base's length, batch and layers."""
    allowed, why = allowed_hidden_sizes(base, arch)
    if not allowed:
        raise ValueError(f"{ARCH_LABELS[arch]} cannot take part at this setup, at any hidden size: {why}")
    return min(allowed, key=lambda h: (abs(parameters_of(for_arch(base, arch, h), sizes) - target), h))


@dataclass(frozen=True)
class Matched:
    """One architecture's config in a comparison, and how far its parameter count is from the target."""

    config: RunConfig
    parameters: int
    gap: float  # parameters / target - 1 (0 when not matched, or exact)
    capped: str = ""  # why the match stops short of the target (the cap that forbids a larger hidden size), or ""


def matched_configs(base: RunConfig, archs: tuple[str, ...], match: bool) -> tuple[tuple[Matched, ...], int]:
    """Configs for `archs` on base's task, length and seed; -> (one Matched per arch, target parameters).

    match=True picks each hidden size so the parameter count is closest to the LSTM's at base's
    hidden size; match=False keeps base's hidden size for all (the transformer rounds down to a
    multiple of num_heads). ValueError naming the architecture when one of them does not fit the budget.
    """
    unknown = [a for a in archs if a not in ARCHITECTURES]
    if unknown or not archs:
        raise ValueError(f"archs must be a non-empty subset of {', '.join(ARCHITECTURES)}; got {archs!r}")
    sizes = task_sizes(base.task, base.seq_len)
    target = parameters_of(for_arch(base, MATCH_REFERENCE), sizes)
    out = []
    for arch in archs:
        if match:
            hidden = matched_hidden_size(base, arch, target, sizes)
        elif arch == "transformer":
            hidden = max(base.num_heads, base.hidden_size - base.hidden_size % base.num_heads)
        else:
            hidden = base.hidden_size
        try:
            config = for_arch(base, arch, hidden)
        except ValueError as error:
            raise ValueError(f"{ARCH_LABELS[arch]} cannot take part at hidden {hidden}: {error}") from None
        n = parameters_of(config, sizes)
        allowed, why = allowed_hidden_sizes(base, arch) if match and n < target else ([hidden], "")
        out.append(Matched(config, n, n / target - 1 if match else 0.0, why if hidden == allowed[-1] else ""))
    return tuple(out), target


def sweep_minutes(archs: tuple[str, ...]) -> str:
    """How long the sweep of `archs` takes, in words, from SWEEP_SECONDS."""
    seconds = sum(SWEEP_SECONDS[a] for a in archs)
    return "under a minute" if seconds < 60 else f"about {round(seconds / 60 * 2) / 2:g} minutes"


def why_not_swept(task: str) -> str:
    """Why the sidebar's `task` is not among the sweep's tasks, in a sentence ("" when it is one, or none is said)."""
    return "" if task in SWEEP_TASKS else NOT_SWEPT.get(task, "")


def sweep_configs(archs: tuple[str, ...], task: str, seed: int, match: bool,
                  lengths: tuple[int, ...] = SWEEP_LENGTHS) -> tuple[RunConfig, ...]:
    """One small config per (architecture, length), in arch-major order, on the sweep's fixed settings."""
    if task not in SWEEP_TASKS:
        raise ValueError(f"the sweep task must be one of {', '.join(SWEEP_TASKS)}; got {task!r}")
    configs = []
    for arch in archs:
        for T in lengths:
            base = RunConfig(arch="lstm", task=task, seq_len=T, hidden_size=SWEEP_HIDDEN, seed=seed, **SWEEP_SETTINGS)
            (m,), _ = matched_configs(base, (arch,), match)
            configs.append(m.config)
    return tuple(configs)


# -- measurements -----------------------------------------------------------------------------

def default_threshold(metric_name: str, chance: float, higher_is_better: bool) -> float:
    """Accuracy 0.9, or for an error metric a tenth of the chance level (rounded to 2 significant digits)."""
    if higher_is_better:
        return 0.9 if chance < 0.9 else round((1 + chance) / 2, 3)
    return float(f"{chance / 10:.2g}")


def steps_to_threshold(steps, metric, wall, threshold: float, higher_is_better: bool = True,
                       window: int = 5) -> tuple[int | None, float | None]:
    """First step (and training seconds) where the metric, averaged over `window` recorded points, reaches threshold.

    The average keeps one lucky batch from counting. -> (None, None) when it never does.
    """
    metric = np.asarray(metric, dtype=float)
    if metric.size == 0:
        return None, None
    w = min(window, metric.size)
    smooth = np.convolve(metric, np.ones(w) / w, mode="valid")  # smooth[k] averages metric[k : k + w]
    hits = np.nonzero(smooth >= threshold if higher_is_better else smooth <= threshold)[0]
    if hits.size == 0:
        return None, None
    index = int(hits[0]) + w - 1  # the step at which the averaged window ends
    return int(steps[index]), float(wall[index])


def longest_solved(accuracy: dict[int, float], solved_at: float = SOLVED_AT) -> int:
    """The longest length solved, counting up from the shortest and stopping at the first failure (0: none)."""
    longest = 0
    for T in sorted(accuracy):
        if not accuracy[T] >= solved_at:
            break
        longest = T
    return longest


# -- the classic table, checked ---------------------------------------------------------------

@dataclass(frozen=True)
class Measured:
    """What this machine measured for one architecture; None where it was not measured."""

    arch: str
    parameters: int | None = None
    ms_per_step: float | None = None  # training wall time per step, milliseconds: the median step
    steps_to: int | None = None  # first step at the threshold; None: not reached (or not trained)
    seconds_to: float | None = None  # training seconds to that step
    longest: int | None = None  # longest sweep length solved; 0: none; None: not in the sweep
    ms_spread: float = 0.0  # interquartile range of the step times: a difference below it is noise


def step_times_ms(steps, wall) -> tuple[float, float] | None:
    """Median training time per step (ms) and its interquartile range, from a history's step and wall series.

    The race trains its runs one step each in turn, so these are interleaved repeats: a burst of other
    work slows every architecture alike and shows in the spread. None with fewer than 5 intervals.
    """
    steps, wall = np.asarray(steps, dtype=float), np.asarray(wall, dtype=float)
    if steps.size < 6:
        return None
    per_step = 1000 * np.diff(wall) / np.maximum(np.diff(steps), 1)  # (n - 1,) ms; a thinned history spans strides
    q1, median, q3 = np.percentile(per_step, [25, 50, 75])
    return float(median), float(q3 - q1)
