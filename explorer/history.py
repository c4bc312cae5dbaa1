"""History: per-step training records of one run, bounded in memory. Plain Python and numpy only."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from explorer.config import LIMITS, describe

SERIES = ("step", "loss", "metric", "grad_norm", "wall")


@dataclass
class History:
    """What a run has done so far; charts read it, it never holds tensors.

    Series (equal length N, one entry per recorded training step; thinned to every 2nd, 4th, ...
    point once N passes max_points, so a long run stays bounded):
      step       int    training step the point was recorded after (1-based)
      loss       float  training-batch loss (NaN when the step diverged)
      metric     float  training-batch metric (accuracy, or MSE for regression tasks)
      grad_norm  float  global gradient norm before clipping
      wall       float  seconds of training time since the run started
    profiles: (step, grad_norm (L, D, T)) pairs, one per trace(), for the Gradient flow chart.
    lr_changes: (step, lr) pairs: from the step after `step` on, the optimizer used `lr` (Run.set_lr);
      the run's config holds the starting value.
    """

    metric_name: str = "accuracy"
    chance: float = 0.0  # the metric a model that ignores its input reaches
    higher_is_better: bool = True
    clip_grad_norm: float | None = None
    max_points: int = 2_000
    max_profiles: int = 400
    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    metric: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    profiles: list[tuple[int, np.ndarray]] = field(default_factory=list)
    stride: int = 1  # record every stride-th step; doubles each time the series are thinned
    lr_changes: list[tuple[int, float]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.step)

    def record(self, step: int, loss: float, metric: float, grad_norm: float, wall: float) -> None:
        if (step - 1) % self.stride:
            return
        for name, value in zip(SERIES, (step, loss, metric, grad_norm, wall)):
            getattr(self, name).append(value)
        if len(self.step) > self.max_points:
            self.stride *= 2
            for name in SERIES:
                values = getattr(self, name)
                kept = [v for s, v in zip(self.step, values) if (s - 1) % self.stride == 0]
                setattr(self, name, kept)

    def record_profile(self, step: int, grad_norm: np.ndarray) -> None:
        if self.profiles and self.profiles[-1][0] == step:
            self.profiles[-1] = (step, grad_norm)
            return
        self.profiles.append((step, grad_norm))
        if len(self.profiles) > self.max_profiles:
            # keep the first (the profile at initialisation) and every other one after it
            self.profiles = self.profiles[:1] + self.profiles[2::2]

    def arrays(self, *names: str) -> dict[str, np.ndarray]:
        """The named series (all of SERIES when none is named) as float arrays: a live frame converts only those
        it draws."""
        return {name: np.asarray(getattr(self, name), dtype=float) for name in names or SERIES}

    def copy(self) -> "History":
        """A snapshot another thread can read while this one keeps recording."""
        return dataclasses.replace(self, profiles=list(self.profiles), lr_changes=list(self.lr_changes),
                                   **{n: list(getattr(self, n)) for n in SERIES})

    def record_lr(self, step: int, lr: float) -> None:
        """The learning rate changed after `step`; a second change at the same step replaces the first."""
        if self.lr_changes and self.lr_changes[-1][0] == step:
            self.lr_changes.pop()
        if len(self.lr_changes) >= MAX_LR_CHANGES:
            raise ValueError(f"a run keeps at most {MAX_LR_CHANGES} learning-rate changes")
        self.lr_changes.append((int(step), float(lr)))

    def to_state(self) -> dict:
        """Plain lists and floats, and the profiles as one float32 array (P, L, D, T) or (0,) when none."""
        state = {name: [float(v) for v in getattr(self, name)] for name in SERIES}
        state.update(
            metric_name=self.metric_name, chance=float(self.chance), higher_is_better=self.higher_is_better,
            clip_grad_norm=self.clip_grad_norm, stride=self.stride,
            profile_steps=[int(s) for s, _ in self.profiles],
            profiles=np.stack([p for _, p in self.profiles]).astype(np.float32) if self.profiles else np.zeros(0, np.float32),
        )
        if self.lr_changes:  # only then: a run without changes writes the same file as before
            state["lr_changes"] = [[int(s), float(lr)] for s, lr in self.lr_changes]
        return state

    @classmethod
    def from_state(cls, state: dict, like: "History", *, last_step: int, wall: float, diverged: bool) -> "History":
        """A history read from a file, checked field by field against `like`, a fresh run's history
        (the task's metric, the config's clipping, the caps). state["profiles"] is an array
        (P, L, D, T) whose shape the caller has checked. Anything else raises ValueError naming the field."""
        keys = {*SERIES, *STATE_FIELDS}
        if isinstance(state, dict) and "lr_changes" in state:
            keys.add("lr_changes")
        if not isinstance(state, dict) or set(state) != keys:
            extra = sorted(describe(key) for key in set(state) - keys)[:5] if isinstance(state, dict) else []
            raise ValueError(f"history must hold exactly {', '.join(sorted(keys))}" + (f"; unknown: {', '.join(extra)}" if extra else ""))
        for name in ("metric_name", "chance", "higher_is_better", "clip_grad_norm"):
            value, wanted = state[name], getattr(like, name)
            if type(value) is not type(wanted) or value != wanted:  # the task and config own these
                raise ValueError(f"history.{name} must be {wanted!r} for this task and config; got {describe(value)}")
        stride = state["stride"]
        if type(stride) is not int or not 1 <= stride <= 2**40 or stride & (stride - 1):
            raise ValueError(f"history.stride must be a positive power of two; got {describe(stride)}")
        h = cls(metric_name=like.metric_name, chance=like.chance, higher_is_better=like.higher_is_better,
                clip_grad_norm=like.clip_grad_norm, max_points=like.max_points, max_profiles=like.max_profiles, stride=stride)
        _read_series(h, state, wall, diverged)
        steps, profiles = state["profile_steps"], state["profiles"]
        if not isinstance(profiles, np.ndarray) or profiles.ndim != 4 or profiles.dtype != np.float32:
            raise ValueError("history.profiles must be a float32 tensor (profiles, L, D, T)")
        if not _floats(steps, like.max_profiles, int) or len(steps) != len(profiles):
            raise ValueError(f"history.profile_steps must be at most {like.max_profiles} integers, one per profile")
        if any(not 0 <= s <= last_step for s in steps) or any(a >= b for a, b in zip(steps, steps[1:])):
            raise ValueError(f"history.profile_steps must increase, from 0 to the run's step {last_step}")
        if np.any(profiles < 0):  # NaN is allowed: the chart leaves a gap
            raise ValueError("history.profiles must be gradient norms (0 or more)")
        h.profiles = list(zip(steps, profiles))
        h.lr_changes = _lr_changes(state.get("lr_changes", []), last_step)
        if h.step and h.step[-1] > last_step:
            raise ValueError(f"history.step goes past the run's step {last_step}")
        return h


MAX_LR_CHANGES = 200


def _lr_changes(changes, last_step: int) -> list[tuple[int, float]]:
    """[[step, lr], ...] from a file: steps from 0 to last_step, increasing; each lr within the config's range."""
    ok = type(changes) is list and len(changes) <= MAX_LR_CHANGES and all(
        type(c) is list and len(c) == 2 and type(c[0]) is int and type(c[1]) is float for c in changes)
    if not ok or any(not 0 <= s <= last_step or not LIMITS.min_lr <= lr <= LIMITS.max_lr for s, lr in changes) \
            or any(a[0] >= b[0] for a, b in zip(changes, changes[1:])):
        raise ValueError(f"history.lr_changes must be at most {MAX_LR_CHANGES} [step, lr] pairs, steps increasing from "
                         f"0 to {last_step}, lr from {LIMITS.min_lr:g} to {LIMITS.max_lr:g}")
    return [(s, lr) for s, lr in changes]


STATE_FIELDS = ("metric_name", "chance", "higher_is_better", "clip_grad_norm", "stride", "profile_steps", "profiles")


def _floats(values, limit: int, kind: type = float) -> bool:
    """A list of at most `limit` values of exactly this type (checked before anything walks it)."""
    return type(values) is list and len(values) <= limit and all(type(v) is kind for v in values)


def _read_series(h: History, state: dict, wall: float, diverged: bool) -> None:
    """Equal-length float series within the caps; finite, except loss, metric and grad_norm at the
    last point of a diverged run; steps on the stride's grid, increasing; wall time increasing."""
    n = len(state["step"]) if type(state["step"]) is list else -1
    for name in SERIES:
        if not _floats(state[name], h.max_points) or len(state[name]) != n:
            raise ValueError(f"history.{name} must be a list of at most {h.max_points} floats, as long as history.step")
        finite = state[name][:-1] if diverged and name in ("loss", "metric", "grad_norm") else state[name]
        if not all(math.isfinite(v) for v in finite):
            raise ValueError(f"history.{name} must hold finite numbers")
    steps, walls = state["step"], state["wall"]
    if any(not s.is_integer() or s < 1 or (int(s) - 1) % h.stride for s in steps) or any(a >= b for a, b in zip(steps, steps[1:])):
        raise ValueError(f"history.step must be increasing steps 1, 1 + stride, ... (stride {h.stride})")
    if any(w < 0 for w in walls[:1]) or any(a > b for a, b in zip(walls, walls[1:])) or any(w > wall for w in walls[-1:]):
        raise ValueError("history.wall must be increasing seconds, from 0 to the run's wall time")
    if any(not g >= 0 for g in state["grad_norm"] if not math.isnan(g)):
        raise ValueError("history.grad_norm must be gradient norms (0 or more)")
    for name in SERIES:
        setattr(h, name, list(state[name]))
    h.step = [int(s) for s in steps]
