"""RunConfig, the one record of every hyperparameter, and the caps that bound it.

Not the presets (explorer/presets.py) and not the widgets that build a config (explorer/ui/).
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple

from explorer import budget

ARCHITECTURES = ("rnn", "lstm", "gru", "transformer", "mingru", "minlstm", "ssm")
SCAN_ARCHS = ("mingru", "minlstm", "ssm")  # linear recurrences trained as a parallel scan (explorer/scan.py)
BIDIRECTIONAL_ARCHS = ("rnn", "lstm", "gru")  # the ones that may read the sequence backwards too
TASK_NAMES = ("adding", "copy", "recall", "parity", "sine", "sunspots", "text", "sentiment", "lookahead",
              "selective_copy", "induction", "csv", "ecg", "stocks", "music", "translate")
SEQ2SEQ_TASKS = ("translate",)  # an RNN, LSTM or GRU is an encoder-decoder there (explorer/seq2seq.py)
NONLINEARITIES = ("tanh", "relu")
INITS = ("default", "orthogonal", "identity")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
PACES = ("normal", "slow", "step-by-step")  # how fast the live view moves (explorer/trainer.py)


def _env_int(name: str, default: int) -> int:
    """A cap read from the environment, so a local install can raise it (README: Caps)."""
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


def _env_float(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if math.isfinite(value) and value > 0 else default


_VISITOR_MB = _env_int("RNNX_VISITOR_MEMORY_MB", 512)


@dataclass(frozen=True)
class Limits:
    """Every cap in one place. Env vars RNNX_* override the defaults for a local install."""

    max_hidden_size: int = _env_int("RNNX_MAX_HIDDEN_SIZE", 512)
    max_num_layers: int = 4
    max_seq_len: int = _env_int("RNNX_MAX_SEQ_LEN", 1000)
    max_batch_size: int = _env_int("RNNX_MAX_BATCH_SIZE", 512)
    max_num_heads: int = 8
    max_state_size: int = 64  # ssm's N
    min_lr: float = 1e-6
    max_lr: float = 10.0
    max_clip: float = 1e6
    max_seed: int = 2**31 - 1
    max_steps_per_run: int = _env_int("RNNX_MAX_STEPS", 1_000_000)  # training steps one run may take (the default config: about 25 min)
    max_history: int = 2_000  # points kept per history series before downsampling
    max_profiles: int = 400  # gradient-over-time profiles kept for the Gradient flow chart
    max_trainers: int = _env_int("RNNX_MAX_TRAINERS", 4)  # concurrent training workers per process
    # once a server's training processes would fill every core, they run this much nicer than the server, whose one
    # process sends every visitor's frames: at equal weight 8 trainers on 2 cores left it 1 frame a second per
    # visitor (docs/benchmarks.md, visitors). Fewer run at the server's niceness (explorer/ui/pool.py).
    trainer_nice: int = _env_int("RNNX_TRAINER_NICE", 10)
    idle_stop_s: float = float(_env_int("RNNX_IDLE_STOP_S", 30))  # worker pauses when no open page has looked for this long
    reattach_s: float = float(_env_int("RNNX_REATTACH_S", 600))  # a reload or the same link again within this finds its runs
    max_parked: int = _env_int("RNNX_MAX_PARKED", 32)  # closed pages' runs kept for reattaching (oldest closed first)
    max_upload_mb: int = 20
    max_csv_mb: int = 5  # a visitor's CSV series file (parsed in a pool process)
    max_series_len: int = _env_int("RNNX_MAX_SERIES_LEN", 50_000)  # values in a csv task's series
    # the per-visitor budget (explorer/budget.py estimates each config's cost; RunConfig refuses one beyond it)
    visitor_memory_mb: int = _VISITOR_MB  # peak of a step, a trace or Inspect
    step_seconds: float = _env_float("RNNX_STEP_SECONDS", 1.0)  # CPU time of one training step on one core
    # the hard limit of a training (or Inspect) process: address space it may add to what it maps at start.
    # Above the budget because the estimate has its margin and address space runs ahead of resident memory.
    worker_memory_mb: int = _env_int("RNNX_WORKER_MEMORY_MB", 2 * _VISITOR_MB + 256)


LIMITS = Limits()


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run. Same config + same seed = the same run on one machine."""

    arch: str = "lstm"  # rnn | lstm | gru | transformer | mingru | minlstm | ssm
    task: str = "adding"  # a name in explorer.TASKS
    seq_len: int = 50  # time steps T per sequence
    hidden_size: int = 32  # H (d_model for the transformer)
    num_layers: int = 1  # stacked layers L
    bidirectional: bool = False  # D = 2 when True (recurrent archs only)
    nonlinearity: str = "tanh"  # rnn only: tanh | relu
    init: str = "default"  # default | orthogonal | identity (IRNN: W_hh = I)
    forget_bias: float | None = None  # lstm: total b_if + b_hf; None keeps torch's init
    num_heads: int = 2  # transformer only
    optimizer: str = "adam"  # adam | sgd (momentum 0.9) | rmsprop
    lr: float = 3e-3  # learning rate
    batch_size: int = 32  # sequences per training step
    clip_grad_norm: float | None = None  # max global grad norm; None = no clipping
    seed: int = 0  # seeds weights, data and the probe batch
    state_size: int = 16  # ssm only: N, the state per channel (Mamba's d_state)
    selective: bool = True  # ssm only: Delta, B, C from the input (S6); False: fixed parameters (time-invariant)
    attention: bool = False  # translate, rnn/lstm/gru: the decoder attends over the encoder's states (Bahdanau)
    bptt: int | None = None  # rnn/lstm/gru: truncated BPTT, the state detached every bptt steps; None = full BPTT

    def __post_init__(self) -> None:
        validate(self)

    def replace(self, **changes: Any) -> "RunConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "RunConfig":
        """Build from a plain dict (a saved run, a URL); anything but a dict of known fields raises ValueError."""
        if not isinstance(values, Mapping) or not all(isinstance(key, str) for key in values):
            raise ValueError(f"a RunConfig is built from a dict of field names; got {type(values).__name__}")
        return cls(**values)


FIELDS = tuple(f.name for f in dataclasses.fields(RunConfig))


def unused_fields(arch: str, task: str | None = None) -> dict[str, Any]:
    """The fields `arch` (and `task`, when given) do not read, at the defaults they must keep (a config switching
    to `arch` resets them)."""
    unused = {name for name, archs in ARCH_ONLY_FIELDS.items() if arch not in archs}
    if task is not None:
        unused |= {name for name, tasks in TASK_ONLY_FIELDS.items() if task not in tasks}
    return {name: RunConfig.__dataclass_fields__[name].default for name in sorted(unused)}


_dataclass_init = RunConfig.__init__


def _init(self: RunConfig, *args: Any, **values: Any) -> None:
    """The dataclass's __init__, with every bad call a ValueError like any other bad config."""
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown RunConfig field(s): {', '.join(describe(name) for name in unknown[:5])}; "
                         f"fields: {', '.join(FIELDS)}")
    try:
        _dataclass_init(self, *args, **values)
    except TypeError as error:  # too many positional arguments, or a field given twice
        raise ValueError(f"RunConfig: {error}") from None


RunConfig.__init__ = _init


def describe(value: Any, limit: int = 60) -> str:
    """A value from outside (a URL, a file) for a message: short, and never an error of its own
    (Python refuses to print integers past 4,300 digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**18:
        return f"an integer of {value.bit_length():,} bits"
    if isinstance(value, (str, int, float, bool, type(None))):
        text = repr(value)
        return text if len(text) <= limit else text[: limit - 1] + "…"
    return f"a {type(value).__name__}"


class Field(NamedTuple):
    """One RunConfig field: what it may hold, and how a widget and a link show it. Validation, URL
    parsing (explorer/urlstate.py) and the sidebar (explorer/ui/sidebar.py) all read FIELD_TABLE."""

    name: str
    kind: type  # str (one of `choices`), int, float or bool
    low: float | str | None = None  # numbers: the smallest allowed value, or the name of the Limits cap that gives it
    high: float | str | None = None  # the largest, likewise
    choices: tuple[str, ...] = ()
    optional: bool = False  # None allowed (off)
    step: float | None = None  # a number box's step
    ticks: tuple = ()  # a slider's values (a link's off-grid value is shown among them)
    label: str = ""  # the widget's label (DESIGN.md fixes the main ones)
    help: str = ""
    switch: str = ""  # optional fields: the label of the toggle that turns them on
    archs: tuple[str, ...] = ARCHITECTURES  # the architectures it means something to

    def bounds(self, limits: Limits = LIMITS) -> tuple[float, float]:
        low, high = (getattr(limits, b) if isinstance(b, str) else b for b in (self.low, self.high))
        return low, high

    def check(self, value: Any, limits: Limits = LIMITS) -> None:
        """ValueError naming the field and the allowed range when `value` is not allowed."""
        if value is None and self.optional:
            return
        if self.kind is str:
            if value not in self.choices:
                raise ValueError(f"{self.name} must be one of {', '.join(self.choices)}; got {describe(value)}")
        elif self.kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"{self.name} must be True or False; got {describe(value)}")
        elif self.kind is int:
            low, high = self.bounds(limits)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{self.name} must be an integer from {low} to {high}; got {describe(value)}")
        else:
            low, high = self.bounds(limits)
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            if not ok or not low <= value <= high:
                extra = " or None" if self.optional else ""
                raise ValueError(f"{self.name} must be a number from {low:g} to {high:g}{extra}; got {describe(value)}")


HIDDEN_SIZES = (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
LEARNING_RATES = tuple(float(f"{m}e{e}") for e in range(-5, 1) for m in (1, 3)) + (10.0,)  # exact decimals
FIELD_TABLE: dict[str, Field] = {f.name: f for f in (
    Field("arch", str, choices=ARCHITECTURES, label="Architecture"),
    Field("task", str, choices=TASK_NAMES, label="Task"),
    Field("seq_len", int, 2, "max_seq_len", step=10, label="Sequence length",
          help="Time steps T per sequence. Long sequences show vanishing gradients."),
    Field("hidden_size", int, 1, "max_hidden_size", ticks=HIDDEN_SIZES, label="Hidden size"),
    Field("num_layers", int, 1, "max_num_layers", label="Layers"),
    Field("bidirectional", bool, label="Bidirectional", archs=BIDIRECTIONAL_ARCHS,
          help="A second RNN reads the sequence backwards; outputs see the future too."),
    Field("nonlinearity", str, choices=NONLINEARITIES, label="Nonlinearity", archs=("rnn",),
          help="Vanilla RNN only: tanh squashes, relu does not (IRNN uses relu)."),
    Field("init", str, choices=INITS, label="Init", archs=BIDIRECTIONAL_ARCHS,
          help="W_hh at start: torch's default, orthogonal, or identity (IRNN, Le et al. 2015)."),
    Field("forget_bias", float, -20.0, 20.0, optional=True, step=0.5, label="Forget-gate bias",
          switch="Set forget-gate bias", archs=("lstm",),
          help="Total b_if + b_hf. A large positive value (the memory lessons use 5) keeps the forget gate open, "
               "so the cell remembers from the start."),
    Field("num_heads", int, 1, "max_num_heads", ticks=(1, 2, 4, 8), label="Heads", archs=("transformer",)),
    Field("optimizer", str, choices=OPTIMIZERS, label="Optimizer"),
    Field("lr", float, "min_lr", "max_lr", ticks=LEARNING_RATES, label="Learning rate",
          help="Log scale. Too large and the loss diverges: that is a lesson too."),
    Field("batch_size", int, 1, "max_batch_size", ticks=(1, 4, 8, 16, 32, 64, 128, 256, 512), label="Batch size"),
    Field("clip_grad_norm", float, 1e-6, "max_clip", optional=True, label="Max norm", switch="Gradient clipping",
          help="Rescale gradients whose global norm exceeds max norm."),
    Field("seed", int, 0, "max_seed", step=1, label="Seed", help="Same seed, same weights, same data."),
    Field("state_size", int, 1, "max_state_size", ticks=(1, 2, 4, 8, 16, 32, 64), label="State size", archs=("ssm",),
          help="SSM only: N, the state each channel keeps (Mamba's d_state)."),
    Field("selective", bool, label="Selective", archs=("ssm",),
          help="SSM only: Δ, B and C computed from each input (S6, Mamba). Off: fixed parameters, "
               "the same at every step (a time-invariant SSM, like S4)."),
    Field("attention", bool, label="Attention", archs=BIDIRECTIONAL_ARCHS,
          help="Translation only: at every step the decoder looks back at all the encoder's states (additive "
               "attention, Bahdanau et al. 2015). Off: it gets only the encoder's final state."),
    Field("bptt", int, 1, "max_seq_len", optional=True, step=1, label="Truncate every k steps",
          switch="Truncated BPTT", archs=BIDIRECTIONAL_ARCHS,
          help="Truncated backpropagation through time (Dive into Deep Learning, “Backpropagation Through Time”): "
               "training detaches the hidden state every k steps, so the state carries on but no gradient flows "
               "back across a cut, and a loss never reaches an input k or more steps before it. For the one-way "
               "RNN, LSTM and GRU (not on translation). The Transformer has no state to cut; the scan models "
               "(minGRU, minLSTM, SSM), trained as a parallel scan, do not offer it. Off: full BPTT."),
)}


# Fields only their archs read, which every other arch must keep at the default (a refusal, not a silent no-op).
ARCH_ONLY_FIELDS = {name: FIELD_TABLE[name].archs for name in ("state_size", "selective", "attention", "bptt")}
TASK_ONLY_FIELDS = {"attention": SEQ2SEQ_TASKS}  # likewise for tasks


def validate(c: RunConfig, limits: Limits = LIMITS) -> None:
    """Raise ValueError naming the first field out of range, and the allowed range."""
    for name in FIELDS:
        FIELD_TABLE[name].check(getattr(c, name), limits)
    if c.arch == "transformer" and c.hidden_size % c.num_heads:
        raise ValueError(
            f"hidden_size must be a multiple of num_heads for the transformer; got {c.hidden_size} and {c.num_heads}"
        )
    for name, archs in ARCH_ONLY_FIELDS.items():
        default = RunConfig.__dataclass_fields__[name].default
        if c.arch not in archs and getattr(c, name) != default:
            raise ValueError(f"{name} is for the {' and '.join(archs)} only; {c.arch} must keep the default "
                             f"{default!r}; got {describe(getattr(c, name))}")
    for name, tasks in TASK_ONLY_FIELDS.items():
        default = RunConfig.__dataclass_fields__[name].default
        if c.task not in tasks and getattr(c, name) != default:
            raise ValueError(f"{name} is for the {' and '.join(tasks)} task only; {c.task} must keep the default "
                             f"{default!r}; got {describe(getattr(c, name))}")
    if c.bidirectional and c.task in SEQ2SEQ_TASKS and c.arch in BIDIRECTIONAL_ARCHS:
        raise ValueError(f"bidirectional must be False for {c.task}: its {c.arch} encoder-decoder reads one way")
    if c.bptt is not None and c.bidirectional:
        raise ValueError(f"bptt must be None (full BPTT) for a bidirectional {c.arch}: truncation cuts one reading "
                         f"direction's time loop, and the reverse direction reads from the other end; got {c.bptt}")
    if c.bptt is not None and c.task in SEQ2SEQ_TASKS:
        raise ValueError(f"bptt must be None (full BPTT) for {c.task}: its encoder-decoder is trained whole; got {c.bptt}")
    if c.bidirectional and c.arch in SCAN_ARCHS:
        raise ValueError(f"bidirectional must be False for {c.arch}: only {', '.join(BIDIRECTIONAL_ARCHS)} read backwards")
    problem = budget.over(c, limits)
    if problem:
        raise ValueError(problem[0].upper() + problem[1:])
