"""Run = config + task + model + optimizer: train(steps), trace(), save/load.

Knows nothing of Streamlit or of which page drives it; progress leaves through history and
an optional callback (as minGPT's trainer does).
"""
from __future__ import annotations

import io
import math
import threading
import time
from pathlib import Path
from typing import BinaryIO, Callable, Mapping, Sequence

import numpy as np
import torch

from explorer import budget, evaluate
from explorer.checkpoint import read_checkpoint, run_state
from explorer.config import LIMITS, RunConfig
from explorer.history import History
from explorer.models import build_model
from explorer.records import Trace
from explorer.tasks import Csv, Task, make_task
from explorer.tasks.series import check_series
from explorer.trace import trace_model

PROBE_SIZE = budget.PROBE  # examples in the fixed probe batch the trace looks at
PROBE_SEED_OFFSET = 7_919  # the probe comes from its own generator, never from the training stream
KEPT_WEIGHTS = 2  # copies of the latest weights; on divergence the newest with a finite probe trace is kept
_init_lock = threading.Lock()  # weights come from the global RNG: one run seeds and builds at a time


def _optimizer(config: RunConfig, params) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=0.9)
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=config.lr)
    return torch.optim.Adam(params, lr=config.lr)


class Run:
    """One training run. Same config and seed give the same weights, batches and loss history."""

    def __init__(self, config: RunConfig, series=None) -> None:
        """`series`: the csv task's values (a sequence of numbers; its stand-in example when None). They
        travel with the run (save, load) but never in its config, so never in a link."""
        self.config = config
        self.series = None  # (N,) float32, the csv task only
        if config.task == Csv.name:
            self.series = check_series(Csv.example() if series is None else series)
        elif series is not None:
            raise ValueError(f"series is for the {Csv.name} task only; this run's task is {config.task!r}")
        self.task = make_task(config.task, config.seq_len, series=self.series)
        with _init_lock, torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.model = build_model(config, self.task.input_size, self.task.output_size, self.task.causal,
                                     getattr(self.task, "source_len", None))
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = _optimizer(config, self.params)
        self.generator = torch.Generator().manual_seed(config.seed)  # training batches
        probe_generator = torch.Generator().manual_seed(config.seed + PROBE_SEED_OFFSET)
        self.probe, self.probe_targets = self.task.sample(PROBE_SIZE, probe_generator)  # (B, T, I), targets
        self.history = History(
            metric_name=self.task.metric_name, chance=float(self.task.chance),
            higher_is_better=self.task.higher_is_better, clip_grad_norm=config.clip_grad_norm,
            max_points=LIMITS.max_history, max_profiles=LIMITS.max_profiles,
        )
        self.step = 0  # training steps taken
        self.status = "ok"  # "ok" | "diverged"
        self.message = ""  # why the run stopped, when it did
        self.wall = 0.0  # seconds spent in train()
        self._kept: list[tuple[int, list[torch.Tensor]]] = []  # (step, weights) before the last updates, oldest first
        self._metric_is_loss = self.task.kind == "regress" and type(self.task).metric is Task.metric

    @property
    def lr(self) -> float:
        """The learning rate the next step uses: config.lr until set_lr() changes it."""
        return float(self.optimizer.param_groups[0]["lr"]) if self.optimizer is not None else self.config.lr

    def set_lr(self, lr: float) -> None:
        """Use `lr` from the next step on, without a reset; history.lr_changes records it (the config keeps the
        starting value). ValueError outside the config's range."""
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not LIMITS.min_lr <= lr <= LIMITS.max_lr:
            raise ValueError(f"lr must be a number from {LIMITS.min_lr:g} to {LIMITS.max_lr:g}; got {lr!r}")
        if float(lr) == self.lr:
            return
        self.history.record_lr(self.step, float(lr))
        self._apply_lr(float(lr))

    def _apply_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.params)

    # -- training -------------------------------------------------------------------------

    def train(self, steps: int, callback: Callable[["Run"], bool | None] | None = None) -> int:
        """Take up to `steps` training steps; stops early on divergence or when callback returns False.

        Returns the number of steps taken. Never raises on a diverging loss: sets status instead.
        """
        if not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps must be a non-negative integer; got {steps!r}")
        first, budget = self.step, self.step + min(steps, LIMITS.max_steps_per_run - self.step)
        while train_round([self], budget):
            if callback is not None and callback(self) is False:
                break
        return self.step - first

    def train_step(self) -> float:
        """One optimizer step on a fresh batch; returns the batch loss (NaN-safe, never raises)."""
        if self.status != "ok":
            return math.nan
        start = time.perf_counter()
        x, y = self.task.sample(self.config.batch_size, self.generator)
        output = self.model(x)  # (B, T, O)
        loss = self.task.loss(output, y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grads = [p.grad for p in self.params if p.grad is not None]
        # pre-clip global norm (it shows the explosion); one cat is the cheapest way for small models
        norm = torch.cat([g.reshape(-1) for g in grads]).norm().item()
        loss_value = loss.item()
        self.step += 1
        if not (math.isfinite(loss_value) and math.isfinite(norm)):
            self._diverge(loss_value, norm)
        else:
            if self.config.clip_grad_norm is not None:
                torch.nn.utils.clip_grads_with_norm_(self.params, self.config.clip_grad_norm, torch.tensor(norm))
            self._optimizer_step(norm)
        self.wall += time.perf_counter() - start
        if self.status != "ok":
            metric = math.nan
        elif self._metric_is_loss:
            metric = loss_value  # regression: the metric (MSE on scored steps) is the loss itself
        else:
            metric = self.task.metric(output.detach(), y)
        self.history.record(self.step, loss_value, metric, norm if math.isfinite(norm) else math.nan, self.wall)
        return loss_value

    def _optimizer_step(self, norm: float) -> None:
        """Keep the weights whose loss was just found finite, then step; an overflow restores them."""
        self._keep_weights()
        self.optimizer.step()
        if self.lr * norm > 1e4 and not all(torch.isfinite(p).all() for p in self.params):
            self._diverge(math.inf, norm, overflow=True)  # a huge update: check now, not one step late

    @torch.no_grad()
    def _keep_weights(self) -> None:
        """Copy the current weights (from step - 1) into the oldest of KEPT_WEIGHTS buffers."""
        if len(self._kept) < KEPT_WEIGHTS:
            weights = [p.detach().clone() for p in self.params]
        else:
            weights = self._kept.pop(0)[1]
            torch._foreach_copy_(weights, self.params)
        self._kept.append((self.step - 1, weights))

    def _diverge(self, loss: float, norm: float, overflow: bool = False) -> None:
        """Stop, and put back the newest kept weights whose probe trace is finite (their loss was)."""
        step, finite = self.step - 1, False  # no copy yet (first step of this object): the weights stay
        for step, weights in reversed(self._kept):
            with torch.no_grad():
                torch._foreach_copy_(self.params, weights)
            if finite := self._trace_is_finite():
                break
        self._kept = []  # a diverged run never trains again
        what = "the weights overflowed" if overflow else f"the loss became {loss}"
        kept = (f"The weights from step {step} are kept" if step else "The initial weights are kept") + (
            " (their loss and trace are finite)" if finite else " (the last with a finite loss)")
        self.status = "diverged"
        self.message = (
            f"Diverged at step {self.step}: {what} (gradient norm {norm:.3g}). {kept}. "
            f"Try a lower learning rate (now {self.lr:g}) or turn on gradient clipping."
        )

    def _trace_is_finite(self) -> bool:
        fields = trace_model(self.model, self.probe, self.probe_targets, self.task.loss)
        arrays = [fields["hidden"], fields["grad_norm"], fields["predictions"], fields["loss"]]
        return all(np.isfinite(a).all() for a in arrays)

    # -- looking inside -------------------------------------------------------------------

    def trace(self, x: torch.Tensor | None = None, y: torch.Tensor | None = None) -> Trace:
        """Trace of the probe batch (or of x, y); also records the gradient profile in history."""
        probe = x is None
        x, y = (self.probe, self.probe_targets) if probe else (x, y)
        fields = trace_model(self.model, x, y, self.task.loss)
        if probe:
            self.history.record_profile(self.step, fields["grad_norm"])
        return Trace(
            arch=self.config.arch, task=self.task.name, kind=self.task.kind, step=self.step,
            inputs=x.numpy(), targets=y.numpy(), tokens=self.task.tokens(x),
            classes=list(getattr(self.task, "classes", [])), **fields, **self._free_running(x),
            **self._decoded(x), bptt=self.config.bptt,
        )

    def _decoded(self, x: torch.Tensor) -> dict:
        """Trace field of the greedy decoding, on sequence-to-sequence tasks (translate)."""
        if not hasattr(self.task, "source_len"):
            return {}
        return {"decoded": evaluate.greedy_decode(self.model, self.task, x).numpy()}

    def _free_running(self, x: torch.Tensor) -> dict:
        """Trace fields of the closed-loop forecasts, on forecasting tasks with a one-way RNN/LSTM/GRU: there
        feeding back costs one step per horizon step (other models re-run the sequence: too slow for a live trace)."""
        rnn = getattr(self.model, "rnn", None)
        if not hasattr(self.task, "baseline_mse") or not isinstance(rnn, torch.nn.RNNBase) or rnn.bidirectional:
            return {}
        forecasts = evaluate.free_running(self.model, x, evaluate.HORIZONS)
        return {"free_running": forecasts.numpy(), "horizons": evaluate.HORIZONS}

    def evaluate(self, batches: int = 4, batch_size: int = 64) -> float:
        """Task metric on fresh batches (held-out data where the task has it); training is untouched."""
        return evaluate.held_out_metric(self, batches, batch_size)

    def generate(self, prompt: str, n: int, temperature: float = 1.0, seed: int = 0) -> str:
        """Text task only: sample n characters after prompt."""
        return evaluate.generate(self, prompt, n, temperature, seed)

    def to_script(self) -> str:
        """A standalone PyTorch script (torch and numpy only) that builds and trains this run's model, data and
        optimizer with the same seed (explorer/export.py); ValueError for an architecture or task it does not cover."""
        from explorer.export import to_script  # here: export is text only, loaded when asked

        return to_script(self)

    # -- files ----------------------------------------------------------------------------

    def state(self) -> dict:
        return run_state(self)

    def save(self, path: str | Path | BinaryIO) -> None:
        """Config, weights, optimizer state and history in one file (tensors and plain values only)."""
        torch.save(self.state(), path)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.save(buffer)
        return buffer.getvalue()

    @classmethod
    def load(cls, source: str | Path | BinaryIO | bytes) -> "Run":
        """Load a saved run. Never executes code from the file; anything wrong raises ValueError."""
        return read_checkpoint(cls, source)


def unfinished(runs: Sequence[Run], budget: int) -> list[Run]:
    """The runs still training: not diverged, fewer than `budget` steps taken."""
    return [run for run in runs if run.status == "ok" and run.step < budget]


def train_round(runs: Sequence[Run], budget: int, lr_changes: Mapping[int, float] | None = None) -> bool:
    """One training step of each unfinished run, in turn (round robin: runs stay aligned in steps; a diverged
    run drops out, the others go on). False when none was left. The one loop of Run.train, the app's training
    process (explorer/trainer.py) and presets.train_preset.

    `lr_changes` {step: lr}, a preset's schedule: a run that has taken `step` steps uses `lr` from its next step
    on (Run.set_lr, so its history and the Loss chart show the change)."""
    active = unfinished(runs, budget)
    for run in active:
        if lr_changes and run.step in lr_changes:
            run.set_lr(lr_changes[run.step])
        run.train_step()
    return bool(active)
