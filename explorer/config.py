"""RunConfig, the one record of every hyperparameter, and the caps that bound it.

Not the presets (explorer/presets.py) and not the widgets that build a config (explorer/ui/).
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any, Mapping

from explorer import budget

ARCHITECTURES = ("rnn", "lstm", "gru", "transformer", "mingru", "minlstm", "ssm")
SCAN_ARCHS = ("mingru", "minlstm", "ssm")  # linear recurrences trained as a parallel scan (explorer/scan.py)
BIDIRECTIONAL_ARCHS = ("rnn", "lstm", "gru")  # the ones that may read the sequence backwards too
ARCH_ONLY_FIELDS = {"state_size": ("ssm",), "selective": ("ssm",)}  # fields only these archs read; others keep the default
TASK_NAMES = ("adding", "copy", "recall", "parity", "sine", "sunspots", "text", "sentiment", "lookahead",
              "selective_copy", "induction")
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
    idle_stop_s: float = float(_env_int("RNNX_IDLE_STOP_S", 30))  # worker pauses when no open page has looked for this long
    reattach_s: float = float(_env_int("RNNX_REATTACH_S", 600))  # a reload or the same link again within this finds its runs
    max_parked: int = _env_int("RNNX_MAX_PARKED", 32)  # closed pages' runs kept for reattaching (oldest closed first)
    max_upload_mb: int = 20
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


def unused_fields(arch: str) -> dict[str, Any]:
    """The fields `arch` does not read, at the defaults it must keep (a config switching to `arch` resets them)."""
    return {name: RunConfig.__dataclass_fields__[name].default
            for name, archs in ARCH_ONLY_FIELDS.items() if arch not in archs}


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


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {describe(value)}")


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}; got {describe(value)}")


def _check_float(name: str, value: Any, low: float, high: float, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not low <= value <= high:
        extra = " or None" if optional else ""
        raise ValueError(f"{name} must be a number from {low:g} to {high:g}{extra}; got {describe(value)}")


def validate(c: RunConfig, limits: Limits = LIMITS) -> None:
    """Raise ValueError naming the first field out of range, and the allowed range."""
    _check_choice("arch", c.arch, ARCHITECTURES)
    _check_choice("task", c.task, TASK_NAMES)
    _check_int("seq_len", c.seq_len, 2, limits.max_seq_len)
    _check_int("hidden_size", c.hidden_size, 1, limits.max_hidden_size)
    _check_int("num_layers", c.num_layers, 1, limits.max_num_layers)
    if not isinstance(c.bidirectional, bool):
        raise ValueError(f"bidirectional must be True or False; got {describe(c.bidirectional)}")
    _check_choice("nonlinearity", c.nonlinearity, NONLINEARITIES)
    _check_choice("init", c.init, INITS)
    _check_float("forget_bias", c.forget_bias, -20.0, 20.0, optional=True)
    _check_int("num_heads", c.num_heads, 1, limits.max_num_heads)
    if c.arch == "transformer" and c.hidden_size % c.num_heads:
        raise ValueError(
            f"hidden_size must be a multiple of num_heads for the transformer; got {c.hidden_size} and {c.num_heads}"
        )
    _check_choice("optimizer", c.optimizer, OPTIMIZERS)
    _check_float("lr", c.lr, limits.min_lr, limits.max_lr)
    _check_int("batch_size", c.batch_size, 1, limits.max_batch_size)
    _check_float("clip_grad_norm", c.clip_grad_norm, 1e-6, limits.max_clip, optional=True)
    _check_int("seed", c.seed, 0, limits.max_seed)
    _check_int("state_size", c.state_size, 1, limits.max_state_size)
    if not isinstance(c.selective, bool):
        raise ValueError(f"selective must be True or False; got {describe(c.selective)}")
    for name, archs in ARCH_ONLY_FIELDS.items():
        default = RunConfig.__dataclass_fields__[name].default
        if c.arch not in archs and getattr(c, name) != default:
            raise ValueError(f"{name} is for the {' and '.join(archs)} only; {c.arch} must keep the default "
                             f"{default!r}; got {describe(getattr(c, name))}")
    if c.bidirectional and c.arch in SCAN_ARCHS:
        raise ValueError(f"bidirectional must be False for {c.arch}: only {', '.join(BIDIRECTIONAL_ARCHS)} read backwards")
    problem = budget.over(c, limits)
    if problem:
        raise ValueError(problem[0].upper() + problem[1:])
