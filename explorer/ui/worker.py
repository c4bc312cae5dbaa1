"""The page's side of live training: one Worker per session starts a training process and keeps its newest snapshot.

No Streamlit here (the page reads snapshots; nothing here calls st.*), and nothing specific to an
architecture. Training runs in its own process (explorer/trainer.py) from a bounded pool shared by the
server: no GIL shared with the page, a memory limit, a crash stays there, and close() ends it at once.
The process forks from a forkserver that has imported torch once, so it starts in milliseconds (the
first Train after a server start waits a few seconds while the forkserver imports torch).
While it trains, `runs` are the page's copies as they were at start(); they catch up when it stops.
"""
from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from explorer.config import LIMITS
from explorer.history import History
from explorer.records import Trace
from explorer.run import Run
from explorer.trainer import PACES, serve
from explorer.ui.pool import CONTEXT, TrainerPool, plain_main

PAUSE_WAIT_S = 2.0  # Pause waits this long for the step in progress and the final state
STEP_WAIT_S = 10.0  # Step waits this long for its process (as long as a step at the caps, under load); a longer one shows when done
MAX_SAMPLES = 16  # text samples kept per run: all of the text lesson's 600 steps (one every 50), which its paper check reads
MEMORY_MB = LIMITS.worker_memory_mb  # address space a training process may add (the hard limit)
# A live feed says, each time it is polled, whether the charts in its browser's view need the run's trace. While
# none of the feeds polled in the last UNTRACED_S does, the process is told so for UNTRACED_S at a time (renewed
# every third of it), and traces only now and then; a feed that needs the trace again ends that at once, and a
# page that stops polling lets it lapse (a page drawn by reruns needs the trace).
UNTRACED_S = 3.0


POOL = TrainerPool(LIMITS.max_trainers, crowded_nice=LIMITS.trainer_nice)


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
    samples: tuple[tuple[int, float, str], ...] = ()  # text task: (step, temperature, text), oldest first


@dataclass(frozen=True)
class Snapshot:
    state: str  # "idle" | "training" | "queued" | "paused" | "done" | "stopped"
    message: str  # why training stopped, when it did
    runs: tuple[RunView, ...]
    steps_per_s: float  # training steps per second, summed over runs, over the last few seconds
    version: int  # increases with every publish


class Worker:
    """One per browser session. start() trains in a process until the budget, pause(), divergence or idleness."""

    def __init__(self, runs: list[Run], *, budget: int | None = None, pool: TrainerPool = POOL,
                 publish_every: float = 0.15, idle_stop_s: float = LIMITS.idle_stop_s, pace: str = "normal",
                 memory_mb: int = MEMORY_MB, initial: list[Trace] | None = None,
                 lr_changes: tuple[tuple[int, float], ...] = ()) -> None:
        """`initial`: each run's trace at its current step, computed elsewhere (explorer/ui/opening.py, in a pool
        process); without it the runs are traced here. `lr_changes`: a preset's learning-rate schedule, (step, lr)
        pairs that the training process applies (run.train_round)."""
        self.runs = list(runs)
        self.budget = budget if budget is not None else LIMITS.max_steps_per_run  # steps per run
        self.pool = pool
        self.publish_every = publish_every
        self.idle_stop_s = idle_stop_s
        self.pace = pace
        self.memory_mb = memory_mb
        self.lr_changes = tuple(lr_changes)
        self._lock = threading.Lock()  # guards the snapshot and the process handles
        self._run_lock = threading.Lock()  # Step and models() touch the page's copies one at a time
        self._process = None
        self._conn = None
        self._reader: threading.Thread | None = None
        self._stopping = False  # Pause asked: later snapshots are not shown
        self._waiting = False  # at a slow pace, the process waits for a page to draw the last snapshot
        self._stop_message = ""
        self._killed = False  # Pause ended the process in the middle of a step
        self._stepping = False  # the process takes one Step, not a Train
        self._queued = (self.budget, False)  # (budget, stepping) of a launch waiting in the pool's queue
        self._start: tuple[list[bytes], list[RunView]] = ([], [])  # states and views the process started from
        self._synced = threading.Condition()
        self._sync_states: list[bytes] | None = None
        self._last_seen = time.monotonic()
        self._needs: dict[str, tuple[bool, float]] = {}  # feed -> (its charts in view need the trace, when it said so)
        self._untraced_sent = 0.0  # when the process was last told that no chart in view needs its trace (0: traced)
        self._version = 0
        self.temperature = 1.0  # of the text samples (explorer/trainer.py: Samples)
        self._samples: list[list[tuple[int, float, str]]] = [[] for _ in self.runs]  # kept across processes
        self._initial = self._first_traces(initial)
        self._views = [self._view(run, trace) for run, trace in zip(self.runs, self._initial)]
        self._snapshot = self._make_snapshot("idle", "", 0.0)

    def _first_traces(self, traces: list[Trace] | None) -> list[Trace]:
        if traces is None:
            return [run.trace() for run in self.runs]
        if len(traces) != len(self.runs) or any(t.step != run.step for t, run in zip(traces, self.runs)):
            raise ValueError("initial needs one trace per run, at the run's step")
        for run, trace in zip(self.runs, traces):
            run.history.record_profile(run.step, trace.grad_norm)  # as run.trace() records it
        return list(traces)

    # -- controls (called from the page's script thread) ------------------------------------

    @property
    def training(self) -> bool:
        """A training process runs (or is handing back its final state)."""
        return self._reader is not None and self._reader.is_alive()

    @property
    def finished(self) -> bool:
        """Every run has spent its budget or diverged: there is nothing left to train."""
        return not any(v.status == "ok" and v.step < self.budget for v in self._views)

    def start(self) -> bool:
        """Train (or resume) in a process. False when the server's trainer pool is full."""
        return self._launch(self.budget)

    def step(self, wait: bool = True) -> bool:
        """One training step on every run, then a fresh trace, in a process as start() trains: a step at
        the caps cannot stall the page or take its memory. `wait`: up to STEP_WAIT_S for it (else settle() does), as
        the page waited for a Step before; a longer step shows as training until it is done. Ignored while training;
        False when the pool is full."""
        ok = [v.step for v in self._views if v.status == "ok"]
        started = self._launch(min(min(ok, default=0) + 1, self.budget), stepping=True)
        if started and wait:
            self.settle()
        return started

    def _launch(self, budget: int, stepping: bool = False) -> bool:
        with self._lock:
            if self.training:
                return True
            if self.finished:
                self._publish("done", self._done_message())
                return True
            self.touch()
            self._queued = (budget, stepping)  # what _granted() starts when the queue gets to this worker
            if not self.pool.acquire_or_queue(self._granted):
                self._publish("queued", f"The server is busy: {self.pool.size} runs are training. Training starts by "
                                        "itself when one ends; leaving the page leaves the queue.")
                return False
            try:
                self._spawn(budget, stepping)
            except Exception:
                self.pool.release()
                raise
            self._publish("training", "")
            return True

    @property
    def queue_place(self) -> int | None:
        """This worker's place in the server's queue (1 = next), or None when not queued."""
        return self.pool.place(self._granted)

    def _granted(self) -> None:
        """A slot passed on from the queue: train now, unless the page has gone or stopped asking."""
        with self._lock:
            gone = self._stopping or time.monotonic() - self._last_seen > self.idle_stop_s
            if gone or self.training or self._snapshot.state != "queued":
                started = False
            else:
                try:
                    self._spawn(*self._queued)
                    started = True
                except Exception:  # noqa: BLE001 - the slot must pass on whatever happened here
                    started = False
            if started:
                self._publish("training", "")
            elif self._snapshot.state == "queued":
                self._publish("paused", f"Left the queue: no page watched for {self.idle_stop_s:.0f} s. Press Train to queue again.")
        if not started:
            self.pool.release()

    def _spawn(self, budget: int, stepping: bool) -> None:
        with self._run_lock:
            states = [run.to_bytes() for run in self.runs]
        # a Step traces once, at the end (publishing never comes due), at the normal pace (no waiting for a page)
        publish_every, pace = (float("inf"), "normal") if stepping else (self.publish_every, self.pace)
        parent, child = CONTEXT.Pipe()
        threads = torch.get_num_threads()
        self._process = CONTEXT.Process(
            target=serve, name="rnnx-trainer", daemon=True,
            args=(child, states, budget, publish_every, pace, threads, self.memory_mb),
            kwargs=dict(temperature=self.temperature, lr_changes=self.lr_changes))
        with plain_main():
            self._process.start()
        self.pool.track(self._process.pid, threads)
        child.close()
        self._conn, self._stopping, self._stop_message, self._killed = parent, False, "", False
        self._untraced_sent = 0.0  # a new process traces until told otherwise
        self._stepping, self._start = stepping, (states, self._views)
        self._reader = threading.Thread(target=self._read, args=(parent, self._process), name="rnnx-reader", daemon=True)
        self._reader.start()

    def pause(self, message: str = "", wait: bool = True) -> None:
        """Stop training: nothing new is shown from now on; the final state arrives after the step in progress.
        `wait`: for it (settle()); a page that draws the rest of itself first settles before it reads the runs."""
        if self.queue_place is not None:  # Pause while queued: leave the queue
            self.pool.leave(self._granted)
            self._publish("paused", message)
            return
        reader = self._reader
        if reader is None or not reader.is_alive():
            if message and self._snapshot.state == "paused":
                self._publish("paused", message)
            return
        with self._lock:
            self._stopping, self._stop_message = True, message
            self._publish("paused", message)  # at once: the charts stop moving with the click
            self._send("stop")
        if wait:
            self.settle()

    def settle(self) -> None:
        """After step(wait=False): wait for the Step, up to STEP_WAIT_S. After pause(wait=False): wait for the
        process's final state, up to PAUSE_WAIT_S; a step at the caps that takes longer is ended then, and the runs go
        back to the state from start(). At once when neither is under way."""
        reader = self._reader
        if reader is None or reader is threading.current_thread() or not reader.is_alive():
            return
        if not self._stopping:  # training on, or a Step
            if self._stepping:
                reader.join(timeout=STEP_WAIT_S)
            return
        reader.join(timeout=PAUSE_WAIT_S)
        if reader.is_alive():
            self._killed = True
            self._kill()
            reader.join(timeout=PAUSE_WAIT_S)

    def set_lr(self, lr: float) -> None:
        """Every run uses `lr` from its next step on (Run.set_lr: recorded in its history). While a process
        trains, it gets the change through the pipe; otherwise the page's copies change now. ValueError when
        lr is out of range."""
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not LIMITS.min_lr <= lr <= LIMITS.max_lr:
            raise ValueError(f"lr must be a number from {LIMITS.min_lr:g} to {LIMITS.max_lr:g}; got {lr!r}")
        with self._lock:
            if self.training:
                self._send(("lr", float(lr)))
                return
            with self._run_lock:
                for run in self.runs:
                    run.set_lr(float(lr))
            self._views = [dataclasses.replace(v, history=run.history.copy()) for v, run in zip(self._views, self.runs)]
            self._publish(self._snapshot.state, self._snapshot.message)

    def set_temperature(self, temperature: float) -> None:
        """The temperature of the text samples from the next one on."""
        if not 0 < temperature <= 10:
            raise ValueError(f"temperature must be in (0, 10]; got {temperature!r}")
        self.temperature = float(temperature)
        with self._lock:
            if self.training:
                self._send(("temperature", self.temperature))

    def needs_trace(self, feed: str, needed: bool) -> None:
        """A live feed's word, at each poll: the charts in its browser's view need the runs' trace (`needed`), or
        the history alone (the loss, the parameter gradients). The training process then traces at the publish
        rate, or only every trainer.UNTRACED_EVERY_S while no feed heard in the last UNTRACED_S needs it."""
        now = time.monotonic()
        with self._lock:
            self._needs = {k: v for k, v in self._needs.items() if now - v[1] < UNTRACED_S}
            self._needs[feed] = (needed, now)
            untraced = not any(need for need, _ in self._needs.values())
            if not self.training:
                return
            if untraced and now - self._untraced_sent >= UNTRACED_S / 3:
                self._send(("untraced", UNTRACED_S))
                self._untraced_sent = now
            elif not untraced and self._untraced_sent:
                self._send(("untraced", 0.0))
                self._untraced_sent = 0.0

    def touch(self) -> None:
        """A page looked: the idle clock starts again."""
        self._last_seen = time.monotonic()

    def close(self) -> None:
        """The session ended: end the process at once (its progress is not kept) and free the pool slot."""
        self._stopping = True
        self.pool.leave(self._granted)
        self._kill()
        reader = self._reader
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout=PAUSE_WAIT_S)
        self._publish("stopped", "")

    @contextlib.contextmanager
    def models(self) -> Iterator[list[Run]]:
        """The page's copies of the runs, brought up to date first when a process is training them."""
        if self.training:
            self._sync()
        with self._run_lock:
            yield self.runs

    @property
    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snapshot

    def shown(self, step: int | None) -> None:
        """A page has drawn `step`. At a slow pace the process waits for this before its next step."""
        with self._lock:
            snap = self._snapshot
            if self._waiting and snap.state == "training" and step is not None and step >= snap.runs[0].step:
                self._waiting = False
                self._send("next")

    # -- the reader thread: the newest message from the process wins ------------------------

    def _read(self, conn, process) -> None:
        state, message, speed = "paused", "", 0.0
        try:
            while True:
                if time.monotonic() - self._last_seen > self.idle_stop_s and not self._stopping:
                    self._stopping = True
                    self._stop_message = f"Paused after {self.idle_stop_s:.0f} s with no page watching. Press Train to go on."
                    self._send("stop")
                if not conn.poll(0.25):
                    if not process.is_alive() and not conn.poll(0):
                        raise EOFError
                    continue
                note = conn.recv()
                if note["kind"] == "snapshot":
                    speed = note["steps_per_s"]
                    if not self._stopping:
                        self._take(note["runs"])
                        self._waiting = PACES[self.pace].trace_every_step
                        self._publish("training", "", speed)
                elif note["kind"] == "sync":
                    self._load(note["states"])
                elif note["kind"] == "final":
                    self._load(note["states"])
                    self._take(note["runs"])
                    state = "done" if note["message"] == "done" else "paused"
                    if self._stepping and state == "done":  # a Step reaches its one-step budget
                        state = "done" if self.finished or any(v.status != "ok" for v in self._views) else "paused"
                    message = self._done_message() if state == "done" else self._stop_message
                    break
                else:  # error
                    state, message = "done", note["message"]
                    break
        except (EOFError, OSError):
            process.join(timeout=1)
            code = process.exitcode
            state, message = self._ended(code)
        finally:
            self._finish(process, conn)
            with self._lock:
                self._publish(state, message, 0.0)
            with self._synced:
                self._synced.notify_all()

    def _ended(self, code: int | None) -> tuple[str, str]:
        """(state, message) when the process ended without its final message: killed or crashed. The
        page's copies are then rewound to where this process started, and the page says so."""
        if self._stopping and code is not None and code < 0 and not self._killed:
            return ("paused", self._stop_message) if self._stop_message else ("stopped", "")  # close() or idle
        shown = self._views[0].step if self._views else 0
        self._rewind()
        back = f"the run is back at step {self.runs[0].step}, where {'Step' if self._stepping else 'Train'} was pressed"
        lost = shown - self.runs[0].step
        lost_text = f" (the {lost} steps since are lost)" if lost > 0 else ""
        if self._killed:
            return "paused", (f"Paused by ending the training process: its step in progress took longer than "
                              f"{PAUSE_WAIT_S:g} s. So {back}{lost_text}. Smaller sizes train in shorter steps.")
        return "done", (f"The training process ended unexpectedly (exit code {code}); {back}{lost_text}. "
                        "Press Train to try again.")

    def _rewind(self) -> None:
        states, views = self._start
        with self._run_lock:
            self.runs = [Run.load(state) for state in states]
        self._views = list(views)

    def _finish(self, process, conn) -> None:
        process.join(timeout=1)
        if process.is_alive():
            process.kill()
            process.join(timeout=1)
        conn.close()
        self.pool.untrack(process.pid)
        self.pool.release()

    def _take(self, views: list[dict]) -> None:
        for kept, v in zip(self._samples, views):
            sample = v.pop("sample", None)
            if sample is not None and (not kept or kept[-1][0] != sample[0]):
                kept[:] = (kept + [sample])[-MAX_SAMPLES:]
        self._views = [RunView(initial=initial, samples=tuple(kept), **{**v, "trace": v["trace"] or shown.trace})
                       for v, initial, kept, shown in zip(views, self._initial, self._samples, self._views)]

    def _load(self, states: list[bytes]) -> None:
        with self._run_lock:
            self.runs = [Run.load(state) for state in states]
        with self._synced:
            self._sync_states = states
            self._synced.notify_all()

    def _sync(self, timeout: float = PAUSE_WAIT_S) -> None:
        with self._synced:
            self._sync_states = None
            self._send("sync")
            self._synced.wait_for(lambda: self._sync_states is not None or not self.training, timeout=timeout)

    def _send(self, command: str) -> None:
        try:
            if self._conn is not None:
                self._conn.send(command)
        except (OSError, ValueError):
            pass  # the process has already gone: the reader reports it

    def _kill(self) -> None:
        process = self._process
        if process is not None and process.is_alive():
            process.kill()

    # -- snapshots ----------------------------------------------------------------------

    def _view(self, run: Run, trace: Trace | None) -> RunView:
        return RunView(step=run.step, status=run.status, message=run.message, history=run.history.copy(),
                       trace=trace, initial=self._initial[self.runs.index(run)] if run in self.runs else None,
                       wall=run.wall, num_parameters=run.num_parameters)

    def _done_message(self) -> str:
        diverged = [v.message for v in self._views if v.status != "ok"]
        if diverged:
            return " ".join(diverged)
        if self.budget >= LIMITS.max_steps_per_run:
            return f"Reached the cap of {self.budget:,} steps per run (RNNX_MAX_STEPS). Reset to train again."
        return f"Finished the budget of {self.budget} steps."

    def _make_snapshot(self, state: str, message: str, steps_per_s: float) -> Snapshot:
        self._version += 1
        return Snapshot(state=state, message=message, runs=tuple(self._views), steps_per_s=steps_per_s,
                        version=self._version)

    def _publish(self, state: str, message: str, steps_per_s: float = 0.0) -> None:
        self._snapshot = self._make_snapshot(state, message, steps_per_s)
