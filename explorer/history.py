"""History: per-step training records of one run, bounded in memory. Plain Python and numpy only."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

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

    @property
    def last_step(self) -> int:
        return self.step[-1] if self.step else 0

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: np.asarray(getattr(self, name), dtype=float) for name in SERIES}

    def copy(self) -> "History":
        """A snapshot another thread can read while this one keeps recording."""
        return dataclasses.replace(self, profiles=list(self.profiles), **{n: list(getattr(self, n)) for n in SERIES})

    def to_state(self) -> dict:
        """Plain lists and floats only, so a checkpoint loads with torch.load(weights_only=True)."""
        state = {name: [float(v) for v in getattr(self, name)] for name in SERIES}
        state.update(
            metric_name=self.metric_name, chance=float(self.chance), higher_is_better=self.higher_is_better,
            clip_grad_norm=self.clip_grad_norm, stride=self.stride,
            profile_steps=[int(s) for s, _ in self.profiles],
            profile_values=[p.astype(float).tolist() for _, p in self.profiles],
        )
        return state

    @classmethod
    def from_state(cls, state: dict) -> "History":
        h = cls(
            metric_name=str(state["metric_name"]), chance=float(state["chance"]),
            higher_is_better=bool(state["higher_is_better"]), clip_grad_norm=state["clip_grad_norm"],
            stride=int(state["stride"]),
        )
        for name in SERIES:
            setattr(h, name, [float(v) for v in state[name]])
        h.step = [int(s) for s in h.step]
        h.profiles = [(int(s), np.asarray(p, dtype=float)) for s, p in zip(state["profile_steps"], state["profile_values"])]
        return h
