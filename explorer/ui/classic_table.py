"""The classic comparison table checked against what this machine measured, in words: the Compare page's table.

The table (long-term memory, training speed) is held here as data, and every verdict is computed from numbers
measured on this machine (explorer.compare.Measured), so the page reports what happened. No Streamlit here.
"""
from __future__ import annotations

from dataclasses import dataclass

from explorer.compare import SWEEP_LENGTHS, Measured
from explorer.style import ARCH_LABELS

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
