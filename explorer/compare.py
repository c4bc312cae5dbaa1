"""Architecture comparison logic: matched configs, parameter counts, steps to a threshold, and the
classic table's claims checked against measurements. Plain Python and numpy; not Streamlit, not charts.

The classic comparison table (long-term memory, training speed) is held here as data, and every
verdict is computed from numbers measured on this machine, so the page reports what happened.
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
# docs/benchmarks.md): the scan models match the LSTM's parameters at hidden 53-75 and run their scan in log space
SWEEP_SECONDS = {"rnn": 6, "lstm": 5, "gru": 12, "transformer": 13, "mingru": 39, "minlstm": 30, "ssm": 36}
SWEEP_HIDDEN = 16  # the LSTM's hidden size; the others match its parameter count when asked
SWEEP_STEPS = 300  # training steps per (architecture, length) run
SWEEP_SETTINGS = dict(optimizer="adam", lr=3e-3, batch_size=64, num_layers=1, bidirectional=False,
                      init="default", clip_grad_norm=None, nonlinearity="tanh",
                      forget_bias=1.0)  # LSTM only: the usual advice (Jozefowicz et al. 2015); others drop it
SOLVED_AT = 0.9  # held-out accuracy at which a length counts as solved
SPEED_TOLERANCE = 0.10  # timings closer than 10% are too close to call

# The classic comparison table, as it is usually printed, and its next row, linear recurrences / SSMs:
# gates from x_t alone, so training runs as a parallel scan over time (Feng et al. 2024, arXiv:2410.01201;
# Gu & Dao 2023, arXiv:2312.00752). Their claims are the papers'.
MEMORY_CLAIM = {"rnn": "weak", "lstm": "strong", "gru": "strong", "transformer": "strongest",
                "mingru": "strong", "minlstm": "strong", "ssm": "strong, chosen by content (selective)"}
SPEED_CLAIM = {"rnn": "moderate", "lstm": "slow", "gru": "faster than LSTM", "transformer": "fast with large data",
               "mingru": "faster than GRU at long T (parallel scan)", "minlstm": "faster than LSTM at long T (parallel scan)",
               "ssm": "linear in T, parallel scan"}
MEMORY_RANK = {"rnn": 0, "lstm": 1, "gru": 1, "transformer": 2, "mingru": 1, "minlstm": 1, "ssm": 1}
SPEED_PAIRS = (("rnn", "lstm"), ("gru", "lstm"), ("transformer", "lstm"),  # (claimed faster, claimed slower)
               ("mingru", "gru"), ("minlstm", "lstm"))


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


@dataclass(frozen=True)
class Outcome:
    kind: str  # "agree" | "disagree" | "unclear" | "note" (a fact the table makes no claim about)
    text: str


def summarise(outcomes: list[Outcome], head: str = "") -> str:
    """One plain sentence: Agrees / Disagrees / Partly / Can't tell, then the evidence."""
    kinds = {o.kind for o in outcomes}
    if "agree" in kinds and "disagree" in kinds:
        label = "Partly"
    elif "disagree" in kinds:
        label = "Disagrees"
    elif "agree" in kinds:
        label = "Agrees"
    else:
        label = "Can't tell"
    parts = ([head] if head else []) + [o.text for o in outcomes]
    return f"{label}: " + "; ".join(parts) + "." if parts else f"{label}."


def _length(T: int) -> str:
    return f"T={T}" if T else "none"


def memory_verdict(arch: str, longest: dict[str, int], lengths: tuple[int, ...] = SWEEP_LENGTHS) -> str:
    """Does the sweep order `arch` against the others as the table's memory column does (weak < strong < strongest)?

    A tie at the longest length tried, or at none solved, cannot separate two claims; any other
    tie, or the wrong order, disagrees.
    """
    if longest.get(arch) is None:
        return "Not measured: run the length sweep."
    mine, top = longest[arch], max(lengths)
    outcomes = []
    for other, theirs in longest.items():
        if other == arch or theirs is None:
            continue
        name = ARCH_LABELS[other]
        if MEMORY_RANK[other] == MEMORY_RANK[arch]:  # the table claims nothing between these two
            if mine != theirs:
                outcomes.append(Outcome("note", f"{'longer' if mine > theirs else 'shorter'} than {name} "
                                                f"({_length(theirs)}), which the table rates the same"))
            continue
        expect_longer = MEMORY_RANK[arch] > MEMORY_RANK[other]
        if mine == theirs:
            if mine == top:
                outcomes.append(Outcome("unclear", f"ties with {name}: both solved every length tried"))
            elif mine == 0:
                outcomes.append(Outcome("unclear", f"ties with {name}: neither solved any length"))
            else:
                outcomes.append(Outcome("disagree", f"no {'longer' if expect_longer else 'shorter'} than {name} ({_length(theirs)})"))
        else:
            longer = mine > theirs
            kind = "agree" if longer == expect_longer else "disagree"
            outcomes.append(Outcome(kind, f"{'longer' if longer else 'shorter'} than {name} ({_length(theirs)})"))
    head = f"solved up to T={mine}" if mine else "solved no length tried"
    if all(o.kind == "note" for o in outcomes):
        outcomes.append(Outcome("unclear", "no architecture the table rates differently was in the sweep"))
    return summarise(outcomes, head)


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


def _compare_times(mine: float, theirs: float, expect_faster: bool, tolerance: float, noise: float = 0.0) -> str:
    """"agree" / "disagree" / "unclear" for a pair of times where `expect_faster` says mine should be lower.

    Unclear when they differ by less than `tolerance` of the other's time or by less than the noise.
    """
    if abs(mine - theirs) <= max(tolerance * theirs, noise):
        return "unclear"
    return "agree" if (mine < theirs) == expect_faster else "disagree"


def _ms(value: float) -> str:
    return f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def speed_verdict(arch: str, measured: dict[str, Measured], threshold_label: str,
                  tolerance: float = SPEED_TOLERANCE) -> str:
    """Per-step time and time to the threshold against the table's speed pairs (RNN, GRU, Transformer faster than LSTM)."""
    me = measured.get(arch)
    if me is None or me.ms_per_step is None:
        return "Not measured: run the comparison."
    outcomes = []
    for fast, slow in SPEED_PAIRS:
        if arch not in (fast, slow):
            continue
        other = measured.get(slow if arch == fast else fast)
        if other is None or other.ms_per_step is None:
            continue
        name, expect_faster = ARCH_LABELS[other.arch], arch == fast
        noise = me.ms_spread + other.ms_spread
        kind = _compare_times(me.ms_per_step, other.ms_per_step, expect_faster, tolerance, noise)
        word = "about as fast as" if kind == "unclear" else "faster than" if me.ms_per_step < other.ms_per_step else "slower than"
        spread = f" ± {_ms(me.ms_spread)}, {_ms(other.ms_spread)}; within noise" if noise and abs(
            me.ms_per_step - other.ms_per_step) <= noise else ""
        outcomes.append(Outcome(kind, f"per step {word} {name} ({_ms(me.ms_per_step)} vs {_ms(other.ms_per_step)} ms{spread})"))
        if me.seconds_to is not None and other.seconds_to is not None:
            seconds_noise = ((me.steps_to or 0) * me.ms_spread + (other.steps_to or 0) * other.ms_spread) / 1000
            kind = _compare_times(me.seconds_to, other.seconds_to, expect_faster, tolerance, seconds_noise)
            word = "about as soon as" if kind == "unclear" else "sooner than" if me.seconds_to < other.seconds_to else "later than"
            outcomes.append(Outcome(kind, f"reached {threshold_label} {word} {name} ({me.seconds_to:.1f} vs {other.seconds_to:.1f} s)"))
        elif me.seconds_to is not None or other.seconds_to is not None:
            mine_only = me.seconds_to is not None
            kind = "agree" if mine_only == expect_faster else "disagree"
            text = f"reached {threshold_label}, {name} did not" if mine_only else f"did not reach {threshold_label}, {name} did"
            outcomes.append(Outcome(kind, text))
    if not outcomes:
        partners = [ARCH_LABELS[b if a == arch else a] for a, b in SPEED_PAIRS if arch in (a, b)]
        if not partners:
            return "The table compares its speed with no other architecture."
        return f"Can't tell: the architecture it is compared with ({', '.join(partners)}) was not trained."
    text = summarise(outcomes)
    if arch == "transformer":
        text += " These toy tasks are small: the table's “with large data” is not tested here."
    return text


COLUMNS = ("Architecture", "Parameters", "Wall time per step", "Steps to threshold", "Longest length solved",
           "Classic: long-term memory", "This machine: memory", "Classic: training speed", "This machine: speed")


def claims_table(measured: list[Measured], threshold_label: str,
                 lengths: tuple[int, ...] = SWEEP_LENGTHS) -> list[dict[str, str]]:
    """One row per architecture: the measurements, the classic claims, and whether they agree, in words."""
    by_arch = {m.arch: m for m in measured}
    longest = {m.arch: m.longest for m in measured if m.longest is not None}
    rows = []
    for m in measured:
        if m.steps_to is not None:
            steps = f"{m.steps_to} ({m.seconds_to:.1f} s)"
        else:
            steps = "not reached" if m.ms_per_step is not None else "—"
        rows.append(dict(zip(COLUMNS, (
            ARCH_LABELS[m.arch],
            f"{m.parameters:,}" if m.parameters is not None else "—",
            f"{m.ms_per_step:.2f} ms" if m.ms_per_step is not None else "—",
            steps,
            ("none" if m.longest == 0 else f"T={m.longest}") if m.longest is not None else "—",
            MEMORY_CLAIM[m.arch],
            memory_verdict(m.arch, longest, lengths),
            SPEED_CLAIM[m.arch],
            speed_verdict(m.arch, by_arch, threshold_label),
        ))))
    return rows
