"""The live-training worker: trains runs in a background thread and publishes snapshots under a lock.

No Streamlit here (the page reads snapshots; the worker never calls st.*), and nothing specific to
an architecture: it drives Run.train_step() and Run.trace(), as minGPT's trainer drives its model.
"""
from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from explorer.config import LIMITS
from explorer.history import History
from explorer.records import Trace
from explorer.run import Run


class TrainerPool:
    """Bounds concurrent training threads in this process (deliberately shared by all sessions)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._active = 0
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        with self._lock:
            if self._active >= self.size:
                return False
            self._active += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._active = max(0, self._active - 1)

    @property
    def active(self) -> int:
        return self._active


POOL = TrainerPool(LIMITS.max_trainers)


@dataclass(frozen=True)
class RunView:
    """What a page may show of one run: copies, safe to read while training goes on."""

    step: int
    status: str  # Run.status: "ok" | "diverged"
    message: str
    history: History
    trace: Trace | None  # latest trace of the probe batch
    initial: Trace | None  # the trace at step 0, the faint reference line
    wall: float
    num_parameters: int


@dataclass(frozen=True)
class Snapshot:
    state: str  # "idle" | "training" | "paused" | "done" | "busy" | "stopped"
    message: str  # why training stopped, when it did
    runs: tuple[RunView, ...]
    steps_per_s: float  # training steps per second, summed over runs, over the last few seconds
    version: int  # increases with every publish


class Worker:
    """One per browser session. start() trains in a thread until the budget, pause(), divergence or idleness."""

    def __init__(self, runs: list[Run], *, budget: int | None = None, pool: TrainerPool = POOL,
                 publish_every: float = 0.25, idle_stop_s: float = LIMITS.idle_stop_s) -> None:
        self.runs = list(runs)
        self.budget = budget if budget is not None else LIMITS.max_steps_per_run  # steps per run
        self.pool = pool
        self.publish_every = publish_every
        self.idle_stop_s = idle_stop_s
        self._lock = threading.Lock()  # guards the snapshot
        self._run_lock = threading.Lock()  # one thread touches the models at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_seen = time.monotonic()
        self._rate: list[tuple[float, int]] = []
        self._version = 0
        self._initial = [run.trace() for run in self.runs]
        self._traces = list(self._initial)
        self._snapshot = self._make_snapshot("idle", "")

    # -- controls (called from the page's script thread) ------------------------------------

    @property
    def training(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def finished(self) -> bool:
        """Every run has spent its budget or diverged: there is nothing left to train."""
        return not self._active()

    def start(self) -> bool:
        """Train (or resume) in the background. False when the process's trainer pool is full."""
        if self.training:
            return True
        if self.finished:
            self._publish("done", self._done_message())
            return True
        if not self.pool.acquire():
            self._publish("busy", f"The server is busy: {self.pool.size} runs are training. Wait a moment and press Train again.")
            return False
        self._stop.clear()
        self.touch()
        self._rate = [(time.monotonic(), self._total_steps())]
        self._thread = threading.Thread(target=self._loop, name="rnnx-trainer", daemon=True)
        self._publish("training", "")
        self._thread.start()
        return True

    def pause(self, message: str = "") -> None:
        """Stop at the end of the current step and wait for it; the last state is published."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        state = self._snapshot.state
        if state == "training" or (message and state == "paused"):
            self._publish("paused", message)  # the thread published "paused" without the reason

    def step(self) -> None:
        """One training step on every run, then a fresh trace. Ignored while training."""
        if self.training:
            return
        with self._run_lock:
            for run in self.runs:
                run.train_step()
            self._traces = [run.trace() for run in self.runs]
        state = "done" if any(run.status != "ok" for run in self.runs) else "paused"
        self._publish(state, self._done_message() if state == "done" else "")

    def touch(self) -> None:
        """A page looked: the idle clock starts again."""
        self._last_seen = time.monotonic()

    def close(self) -> None:
        """The session ended: stop training and free the pool slot."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=10)
        self._publish("stopped", "")

    @contextlib.contextmanager
    def models(self) -> Iterator[list[Run]]:
        """Hold the models still: no training step runs while the block reads or runs them."""
        with self._run_lock:
            yield self.runs

    @property
    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snapshot

    # -- the training thread ---------------------------------------------------------------

    def _loop(self) -> None:
        message, state = "", "paused"
        last_trace, trace_cost = time.monotonic(), 0.0
        try:
            while not self._stop.is_set():
                active = self._active()
                if not active:
                    state, message = "done", self._done_message()
                    break
                if time.monotonic() - self._last_seen > self.idle_stop_s:
                    message = f"Paused after {self.idle_stop_s:.0f} s with no page watching. Press Train to go on."
                    break
                with self._run_lock:
                    for run in active:  # round robin: runs stay aligned in steps
                        run.train_step()
                    now = time.monotonic()
                    # trace at the publish rate, but never spend more than a fifth of the time tracing
                    if now - last_trace >= max(self.publish_every, 4 * trace_cost):
                        self._traces = [run.trace() for run in self.runs]
                        trace_cost, last_trace = time.monotonic() - now, time.monotonic()
                        self._publish("training", "")
        except Exception as error:  # noqa: BLE001 - a bug must not kill the session silently
            state, message = "done", f"Training stopped by an error: {type(error).__name__}: {error}"
        finally:
            with self._run_lock:
                self._traces = [run.trace() for run in self.runs]
            self.pool.release()
            self._thread = None
            self._publish(state, message)

    def _active(self) -> list[Run]:
        return [run for run in self.runs if run.status == "ok" and run.step < self.budget]

    def _done_message(self) -> str:
        diverged = [run.message for run in self.runs if run.status != "ok"]
        if diverged:
            return " ".join(diverged)
        if self.budget >= LIMITS.max_steps_per_run:
            return f"Reached the cap of {self.budget:,} steps per run (RNNX_MAX_STEPS). Reset to train again."
        return f"Finished the budget of {self.budget} steps."

    def _total_steps(self) -> int:
        return sum(run.step for run in self.runs)

    def _steps_per_s(self) -> float:
        now, steps = time.monotonic(), self._total_steps()
        self._rate.append((now, steps))
        self._rate = [(t, s) for t, s in self._rate if now - t <= 3.0] or [(now, steps)]
        t0, s0 = self._rate[0]
        return (steps - s0) / (now - t0) if now > t0 else 0.0

    def _make_snapshot(self, state: str, message: str) -> Snapshot:
        views = tuple(
            RunView(step=run.step, status=run.status, message=run.message, history=run.history.copy(),
                    trace=trace, initial=initial, wall=run.wall, num_parameters=run.num_parameters)
            for run, trace, initial in zip(self.runs, self._traces, self._initial)
        )
        self._version += 1
        return Snapshot(state=state, message=message, runs=views, steps_per_s=self._steps_per_s(),
                        version=self._version)

    def _publish(self, state: str, message: str) -> None:
        with self._lock:
            self._snapshot = self._make_snapshot(state, message)
