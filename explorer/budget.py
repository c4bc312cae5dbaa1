"""What one visitor's run may cost: an estimate of peak memory (a training step, a trace, Inspect) and of one
step's CPU time, and the check that refuses a config beyond the per-visitor budget, naming what to lower.

Pure arithmetic on a config's sizes (no torch), so RunConfig can check every config it builds. Not the caps on
single fields (explorer/config.py, which calls check()) and not the measurement that calibrates the
coefficients below (explorer/bench_budget.py: `python -m explorer.bench --budget`).

Model (bytes; N = batch x length "token steps", U = hidden x layers x directions "units per token"):
  step    = STEP_UNIT[arch] N U + TOKEN (I + O) N + STEP_LOOP[arch] (T L D) + PARAM params + FIXED
            (the transformer's attention is fused in training: no T x T term)
  trace   = TRACE_UNIT[arch] (8 T U) for the probe batch of 8 through the explicit time loop, plus the
            transformer's attention maps, which the trace keeps: 8 x heads x T x T x layers weights, ATTENTION each
  inspect = a trace of one sequence (INSPECT_LOOP per loop step) + one saliency pass (rows_per_pass() sequences at
            once, like a step) + Jacobians
  seconds = MAC_S x multiply-adds (forward and backward) + ELEMENT_S x gate values (transformer: attention
            scores) + LOOP_S x steps of the time loop (T L D)
            + truncated BPTT (bptt = k): ceil(T / k) fused calls, each (CHUNK_S + CHUNK_PARAM_S x params)
Each coefficient is the largest per-unit figure measured on this machine, and MARGIN multiplies the sum.
"""
from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import NamedTuple

from explorer.cells import CELLS

MB = 2**20
PROBE = 8  # sequences in the fixed probe batch every trace looks at (explorer.run's probe; owned here, torch-free)
MARGIN = 1.25  # over the largest measured per-unit figure: allocator slack, other tasks, other library versions
# (input_size, output_size) of each task (tests check them against explorer.tasks)
TASK_SIZES = {"adding": (2, 1), "copy": (10, 8), "recall": (9, 4), "parity": (1, 2), "sine": (1, 1),
              "sunspots": (1, 1), "text": (36, 36), "sentiment": (40, 2), "lookahead": (4, 4),
              "selective_copy": (11, 8), "induction": (9, 8), "csv": (1, 1), "ecg": (1, 1), "stocks": (1, 1),
              "music": (37, 37), "translate": (43, 11)}
# Sequence-to-sequence tasks (explorer/tasks/translate.py): a sequence packs seq_len source steps and up to
# TARGET_STEPS decoder steps (12 digits and 'end'); an RNN, LSTM or GRU there is an encoder-decoder
# (explorer/seq2seq.py) whose decoder, with attention, scores every source step at every target step.
SEQ2SEQ = ("translate",)
TARGET_STEPS = 13
RECURRENT = ("rnn", "lstm", "gru")
ALIGN_UNIT = 40.0  # bytes per attention energy (B x U x S x H) of a training step: tanh input and output, gradients
ALIGN_S = 2.5e-8  # CPU s per attention energy, forward and backward
# weight blocks of H x H per layer: the cell table's chunks; the transformer's 12 H^2, the ssm's about 6
GATES = {arch: len(cell.chunks) for arch, cell in CELLS.items() if cell.chunks} | {"transformer": 12, "ssm": 6}
# Coefficients: the largest figure measured per unit on this machine (explorer/bench_budget.py, CPU time under
# load, so the time coefficients are fitted and then raised until no measured step took longer than predicted).
STEP_UNIT = {"rnn": 27.0, "gru": 70.0, "lstm": 76.0, "transformer": 160.0}  # bytes per unit per token step
STEP_LOOP = {"rnn": 8e3, "gru": 24e3, "lstm": 12e3, "transformer": 0.0}  # bytes per step of the time loop (autograd's nodes)
TRACE_UNIT = {"rnn": 115.0, "gru": 100.0, "lstm": 125.0, "transformer": 80.0}  # the explicit loop keeps every internal
TRACE_LOOP = {"rnn": 20e3, "gru": 20e3, "lstm": 20e3, "transformer": 0.0}  # bytes per loop step, probe batch
# Inspect traces one sequence: per loop step torch keeps about as much as for 8 (measured: RNN 4 x 2 layers,
# T=1000, 536 MB for one sequence against 143 MB for eight)
INSPECT_LOOP = {"rnn": 75e3, "gru": 25e3, "lstm": 25e3, "transformer": 0.0}
TOKEN = 80.0  # bytes per (input + output feature) per token step: one-hot inputs, logits, their gradients
PARAM = 28.0  # bytes per parameter: weights, gradients, Adam's two moments, two kept copies, one spare
ATTENTION = 15.0  # bytes per traced attention weight: the maps, their stack, the numpy copy
FIXED_MB = 24.0  # a run's own constants: task data, the probe batch, buffers
MAC_S = {"rnn": 3.3e-11, "gru": 3.0e-11, "lstm": 3.4e-11, "transformer": 3.8e-11}  # CPU s per multiply-add
ELEMENT_S = {"rnn": 2.4e-8, "gru": 1.7e-8, "lstm": 2.2e-8, "transformer": 1.45e-8}  # per gate value (attention score)
MAC_BATCH = {"rnn": 1, "gru": 16, "lstm": 1, "transformer": 1}  # GRU H=512, batch 6: 1.5 s, as much as batch 16
LOOP_S = {"rnn": 4.8e-5, "gru": 1.7e-4, "lstm": 7e-6, "transformer": 0.0}  # per step of the time loop
# The scan models (mingru, minlstm, ssm; explorer/scan.py): first figures from the largest allowed configs that
# tests/test_budget.py measures (issue 12's models came after the calibration above). The ssm keeps an (H, N)
# state per step, so its per-unit figures count H x state_size units.
SCAN_ARCHS = ("mingru", "minlstm", "ssm")
STEP_UNIT.update(mingru=160.0, minlstm=200.0, ssm=120.0)
STEP_LOOP.update(mingru=0.0, minlstm=0.0, ssm=0.0)
TRACE_UNIT.update(mingru=160.0, minlstm=200.0, ssm=200.0)  # ssm: 80 gave 509 MB for a measured 653
TRACE_LOOP.update(mingru=20e3, minlstm=20e3, ssm=20e3)
INSPECT_LOOP.update(mingru=25e3, minlstm=25e3, ssm=25e3)
MAC_S.update(mingru=6e-11, minlstm=6e-11, ssm=6e-11)
ELEMENT_S.update(mingru=4e-8, minlstm=4e-8, ssm=4e-8)
MAC_BATCH.update(mingru=1, minlstm=1, ssm=1)
LOOP_S.update(mingru=2e-5, minlstm=2e-5, ssm=2e-5)
# Truncated BPTT runs the fused module once per chunk of k steps; each call has a cost of its own, which grows
# with the weights for the LSTM. Measured, CPU time under load (average 15-25), k=1: LSTM H=512, 1 layer, batch 4,
# T=300: 8.6 ms a chunk (batch 8, T=40: 2.8 ms); 2 layers, batch 8: 11 ms; H=128: 0.33 ms; GRU and RNN 0.45 ms or
# less at H=512, 2 layers. The LSTM's figure is the largest per parameter seen (8.2e-9), rounded up.
CHUNK_S = 3e-4  # CPU s per chunk
CHUNK_PARAM_S = {"lstm": 1e-8, "gru": 3e-10, "rnn": 3e-10}  # CPU s per chunk per parameter
SALIENCY_SHARE = 0.5  # of the budget, for one saliency pass: the rest holds the trace and the Jacobians


class Cost(NamedTuple):
    step_mb: float  # peak memory a run adds while it is built and trains
    trace_mb: float  # ... while it traces the probe batch
    inspect_mb: float  # ... while Inspect looks at one sequence (saliency in passes of rows_per_pass())
    step_s: float  # CPU seconds of one training step on one core


def _sizes(c) -> tuple[int, int, int, int, int]:
    """(I, O, L, D, units per token) of a config."""
    inputs, outputs = TASK_SIZES.get(c.task, (64, 64))
    D = 2 if c.bidirectional and c.arch != "transformer" else 1
    state = c.state_size if c.arch == "ssm" else 1
    return inputs, outputs, c.num_layers, D, c.hidden_size * c.num_layers * D * state


def parameters(c, sizes: tuple[int, int] | None = None) -> int:
    """Trainable parameters of the model config c describes, counted on models built on the meta device
    (no memory, no closed form to keep in step with models.py). sizes: the task's (input_size, output_size),
    else TASK_SIZES'.

    Every model but the ssm has a count quadratic in H (H x H, H x I and H x O weights, biases of H), so
    three builds at H = 1, 2, 3 fix it at every H: the caps probe hundreds of hidden sizes, a build takes
    2 to 20 ms. The ssm's dt_rank = ceil(H / 16) is not polynomial: it is built at its own H.
    """
    inputs, outputs = sizes or _sizes(c)[:2]
    D = 2 if c.bidirectional and c.arch in ("rnn", "lstm", "gru") else 1
    source = c.seq_len if _seq2seq(c) else None
    key = (c.arch, inputs, outputs, c.num_layers, D, c.state_size, c.selective, source, _attention(c))
    if c.arch == "ssm":
        return _count(*key, c.hidden_size)
    y1, y2, y3 = (_count(*key, h) for h in (1, 2, 3))
    H = c.hidden_size  # Lagrange through (1, y1), (2, y2), (3, y3); both halves are exact integers
    return (y1 * (H - 2) * (H - 3) - 2 * y2 * (H - 1) * (H - 3) + y3 * (H - 1) * (H - 2)) // 2


@functools.lru_cache(maxsize=1024)
def _count(arch: str, inputs: int, outputs: int, num_layers: int, D: int, state_size: int, selective: bool,
           source_len: int | None, attention: bool, hidden_size: int) -> int:
    """Parameters of explorer.models.build_model's model, built on the meta device."""
    import torch

    from explorer.models import build_model  # models imports config, which imports this module

    sizes = SimpleNamespace(arch=arch, hidden_size=hidden_size, num_layers=num_layers, bidirectional=D == 2,
                            nonlinearity="tanh", num_heads=1, seq_len=1, init="default", forget_bias=None,
                            state_size=state_size, selective=selective, attention=attention)
    with torch.device("meta"):
        return sum(p.numel() for p in build_model(sizes, inputs, outputs, causal=True, source_len=source_len).parameters())


def _seq2seq(c) -> bool:
    return getattr(c, "task", None) in SEQ2SEQ


def _attention(c) -> bool:
    return bool(getattr(c, "attention", False)) and _seq2seq(c) and c.arch in RECURRENT


def _length(c) -> int:
    """Steps of one sequence: seq_len, and a sequence-to-sequence task's decoder steps after it."""
    return c.seq_len + (TARGET_STEPS if _seq2seq(c) else 0)


def _energies(c, batch: int) -> float:
    """Attention energies (batch x target steps x source steps x H) of the encoder-decoder; 0 without attention."""
    return batch * TARGET_STEPS * c.seq_len * c.hidden_size if _attention(c) else 0.0


def _sequences_mb(c, batch: int, unit: dict[str, float]) -> float:
    """Memory of `batch` sequences through the model, activations only."""
    inputs, outputs, _, _, units = _sizes(c)
    tokens = batch * _length(c)
    return (unit[c.arch] * tokens * units + TOKEN * tokens * (inputs + outputs)) / MB


def rows_per_pass(c, budget_mb: float) -> int:
    """Sequences one saliency pass may hold at once so that it stays within SALIENCY_SHARE of the budget."""
    per_sequence = (_sequences_mb(c, 1, STEP_UNIT) + ALIGN_UNIT * _energies(c, 1) / MB) * MARGIN
    return max(1, int(SALIENCY_SHARE * budget_mb / per_sequence))


def estimate(c, budget_mb: float = 512.0) -> Cost:
    """Peak memory (MB) and one step's CPU seconds of config c, with MARGIN."""
    inputs, outputs, L, D, units = _sizes(c)
    T, H = _length(c), c.hidden_size
    params = parameters(c)
    loops = T * L * D  # steps of the time loop
    step = (_sequences_mb(c, c.batch_size, STEP_UNIT) + (STEP_LOOP[c.arch] * loops + PARAM * params) / MB + FIXED_MB
            + ALIGN_UNIT * _energies(c, c.batch_size) / MB)
    attention = ATTENTION * PROBE * c.num_heads * T * T * L / MB if c.arch == "transformer" else 0.0
    trace = (_sequences_mb(c, PROBE, TRACE_UNIT) + attention + (TRACE_LOOP[c.arch] * loops + 8.0 * params) / MB
             + FIXED_MB + ALIGN_UNIT * _energies(c, PROBE) / MB)
    rows = min(rows_per_pass(c, budget_mb), T * outputs)
    jacobian = 4.0 * T * (2 * H) * max(2 * H, 4 * GATES.get(c.arch, 1) * 4) / MB if c.arch != "transformer" else 0.0
    inspect = (_sequences_mb(c, 1, TRACE_UNIT) + attention / PROBE + _sequences_mb(c, rows, STEP_UNIT)
               + min(jacobian, 64.0) + (INSPECT_LOOP[c.arch] * loops + 8.0 * params) / MB + FIXED_MB
               + ALIGN_UNIT * _energies(c, 1 + rows) / MB)
    # forward and backward; a small batch costs as much as MAC_BATCH[arch] (the weights are read each step)
    macs = 3 * max(c.batch_size, MAC_BATCH[c.arch]) * T * _multiply_adds_per_token(c, inputs)
    elements = (c.batch_size * c.num_heads * T * T * L if c.arch == "transformer"
                else c.batch_size * T * units * GATES[c.arch])
    seconds = (MAC_S[c.arch] * macs + ELEMENT_S[c.arch] * elements + LOOP_S[c.arch] * loops
               + ALIGN_S * _energies(c, c.batch_size) + _chunks_s(c, params))
    return Cost(step * MARGIN, trace * MARGIN, inspect * MARGIN, seconds * MARGIN)


def _chunks_s(c, params: int) -> float:
    """CPU s of truncated BPTT's separate fused calls, one per chunk of bptt steps (0 for full BPTT)."""
    k = getattr(c, "bptt", None)
    if k is None or k >= c.seq_len:
        return 0.0
    return -(-c.seq_len // k) * (CHUNK_S + CHUNK_PARAM_S.get(c.arch, 0.0) * params)


def _multiply_adds_per_token(c, inputs: int) -> float:
    H, L = c.hidden_size, c.num_layers
    if c.arch == "transformer":
        return L * (GATES["transformer"] * H * H + 2 * c.seq_len * H)  # weights, then scores and mixing
    D, G = (2 if c.bidirectional else 1), GATES[c.arch]
    return D * G * H * (inputs + H) + (L - 1) * D * G * H * (D * H + H)


# the settings a visitor can lower, in the order a message names them
LOWER = ("batch_size", "seq_len", "hidden_size", "num_layers", "num_heads", "state_size")


def over(c, limits) -> str:
    """'' when c fits the budget; else which part is over, by how much, and what to lower."""
    cost = estimate(c, limits.visitor_memory_mb)
    memory = max(cost.step_mb, cost.trace_mb, cost.inspect_mb)
    if memory > limits.visitor_memory_mb:
        what = {cost.step_mb: "a training step", cost.trace_mb: "a trace of the probe batch",
                cost.inspect_mb: "Inspect"}[memory]
        problem = (f"this setup needs about {memory:,.0f} MB for {what}, over the budget of "
                   f"{limits.visitor_memory_mb:,} MB per visitor (RNNX_VISITOR_MEMORY_MB)")
    elif cost.step_s > limits.step_seconds:
        problem = (f"one training step of this setup takes about {cost.step_s:.1f} s, over the budget of "
                   f"{limits.step_seconds:g} s per step (RNNX_STEP_SECONDS)")
    else:
        return ""
    return f"{problem}. {_advice(c, limits)}"


def _fits(c, limits) -> bool:
    cost = estimate(c, limits.visitor_memory_mb)
    return max(cost.step_mb, cost.trace_mb, cost.inspect_mb) <= limits.visitor_memory_mb and \
        cost.step_s <= limits.step_seconds


def largest_value(c, field: str, limits, low: int = 1, high: int | None = None) -> int | None:
    """The largest value of `field` from low to high (default: c's own; the others as in c) that fits the
    budget, or None if none does."""
    step = c.num_heads if field == "hidden_size" and c.arch == "transformer" else 1
    if (field == "num_heads" and c.arch != "transformer") or (field == "state_size" and c.arch != "ssm"):
        return None
    candidates = [v for v in range(low, (high or getattr(c, field)) + 1)
                  if v % step == 0 and not (field == "num_heads" and c.hidden_size % v)]
    lo, hi = 0, len(candidates) - 1  # fits() is monotone in every size: bisect
    best = None
    while lo <= hi:
        mid = (lo + hi) // 2
        if _fits(_with(c, field, candidates[mid]), limits):
            best, lo = candidates[mid], mid + 1
        else:
            hi = mid - 1
    return best


def _with(c, field: str, value):
    return _Sizes(c, field, value)


class _Sizes:
    """A config's sizes with one changed, without validating it (RunConfig would call check() again)."""

    def __init__(self, c, field: str, value) -> None:
        for name in ("arch", "task", "seq_len", "hidden_size", "num_layers", "bidirectional", "num_heads",
                     "batch_size", "state_size", "selective", "attention", "bptt"):
            setattr(self, name, getattr(c, name))
        setattr(self, field, value)


GROW = ("seq_len", "hidden_size", "num_layers", "batch_size")  # the order largest() fills in the free sizes
CAPS = {"seq_len": "max_seq_len", "hidden_size": "max_hidden_size", "num_layers": "max_num_layers",
        "batch_size": "max_batch_size"}


def largest(base, fixed: dict, limits, order: tuple[str, ...] = GROW):
    """The largest config around `base` that the budget allows: the `fixed` settings kept, each other size
    (in `order`) from its smallest value raised as far as the budget lets it. None if even the
    smallest does not fit. Used to measure the worst allowed configs (explorer/bench_budget.py, tests)."""
    smallest = {"seq_len": 2, "hidden_size": base.num_heads if base.arch == "transformer" else 1,
                "num_layers": 1, "batch_size": 1}
    sizes = {name: fixed.get(name, value) for name, value in smallest.items()}
    if not _fits(_configured(base, fixed, sizes), limits):
        return None
    for name in order:
        if name in fixed:
            continue
        value = largest_value(_configured(base, fixed, sizes), name, limits, low=sizes[name],
                              high=getattr(limits, CAPS[name]))
        sizes[name] = value or sizes[name]
    return base.replace(**fixed, **{k: v for k, v in sizes.items() if k not in fixed})


def _configured(base, fixed: dict, sizes: dict) -> "_Sizes":
    config = _Sizes(base, "bidirectional", fixed.get("bidirectional", base.bidirectional))
    config.state_size = fixed.get("state_size", base.state_size)
    for name, value in sizes.items():
        setattr(config, name, value)
    return config


def _advice(c, limits) -> str:
    options = []
    for field in LOWER:
        value = largest_value(c, field, limits, low=2 if field == "seq_len" else 1)
        if value is not None:
            options.append(f"{field} to {value}")
    if c.bidirectional and _fits(_with(c, "bidirectional", False), limits):
        options.append("bidirectional off")
    if getattr(c, "bptt", None) is not None and _fits(_with(c, "bptt", None), limits):
        options.append("bptt off (or a larger bptt)")
    if not options:
        return "Lower batch_size, seq_len and hidden_size together."
    return "Lower " + ", or ".join(options) + "."


def together(configs, limits=None) -> str:
    """'' when these runs fit the budget trained side by side in one process (Compare's race); else why not.

    The process holds every run and its latest trace at once, so their peaks add up (conservatively).
    """
    if limits is None:
        from explorer.config import LIMITS as limits
    total = sum(max(cost.step_mb, cost.trace_mb) for cost in (estimate(c, limits.visitor_memory_mb) for c in configs))
    if total <= limits.visitor_memory_mb or len(configs) < 2:
        return ""
    return (f"These {len(configs)} runs train side by side in one process and together need about {total:,.0f} MB, "
            f"over the budget of {limits.visitor_memory_mb:,} MB per visitor (RNNX_VISITOR_MEMORY_MB). Lower the "
            "batch size, sequence length or hidden size in the sidebar, or compare fewer architectures.")
