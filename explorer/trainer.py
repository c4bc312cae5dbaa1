"""The training process: trains runs round robin and publishes snapshots through a pipe. Not the page's side.

Knows nothing of Streamlit, pages or architectures (it drives run.train_round() and Run.trace(), as
minGPT's trainer drives its model); explorer/ui/worker.py starts it and reads what it sends.
Messages to the parent, each a dict with "kind":
  snapshot  {"runs": [view dicts], "steps_per_s"}            while training, at most every publish_every s (a view's
                                                              trace is None when it was not traced this time)
  final     {"runs": [view dicts], "states": [bytes], "message"}  on stop, budget, divergence; then it exits
  error     {"message"}                                       a Python error in training; then it exits
Messages from the parent: "stop" (send final and exit), "sync" (send the states, go on), at a
slow pace "next" (the page has shown the last step: take the next one), ("lr", value) (every run uses
this learning rate from its next step on), ("temperature", value) (of the text samples from now on) and
("untraced", seconds) (for that long no chart in view needs a trace: snapshots go on at the publish rate,
carrying a trace only every UNTRACED_EVERY_S; 0 ends it).
On the text task each view carries `sample`: (step, temperature, text) generated every SAMPLE_EVERY steps.
"""
from __future__ import annotations

import logging
import math
import os
import resource
import time
from dataclasses import dataclass

import torch

from explorer.checkpoint import out_of_memory
from explorer.run import Run, train_round, unfinished


log = logging.getLogger(__name__)
MEMORY_MESSAGE = ("Training stopped: the run needed more than the training process's memory limit ({memory_mb:,} MB). "
                  "Lower the batch size, sequence length or hidden size.")
ERROR_MESSAGE = "Training stopped by an error in the training process (the server's log has the details). Press Reset to start again."


@dataclass(frozen=True)
class Pace:
    """How fast the live view moves: at most max_steps_per_s (None: as fast as it trains), a trace every
    `trace_every_step` step or at the publish rate."""

    name: str
    max_steps_per_s: float | None
    trace_every_step: bool  # and wait until the page has shown it ("next") before the next step


PACES = {  # keys: explorer.config.PACES
    "normal": Pace("normal", None, False),
    "slow": Pace("slow", 20.0, True),  # a lecturer can narrate: every step traced and shown
    "step-by-step": Pace("step-by-step", 1.0, True),  # one step a second, each shown
}


# While the charts in view are drawn from the history alone (the loss, the parameter gradients), a trace (a
# forward and backward pass over the probe batch, about 5% of the time at the publish rate on the default LSTM)
# is taken this often, so the history's gradient profiles go on and a chart scrolled back into view has one
UNTRACED_EVERY_S = 1.0
MAX_UNTRACED_S = 10.0  # the longest an "untraced" word lasts: a page that stopped saying it is traced for again


SAMPLE_EVERY = 50  # training steps between two text samples
SAMPLE_CHARS = 100  # characters per sample
SAMPLE_PROMPT = " "


class Samples:
    """The newest text sample of each run on the text task: a seeded draw (the step is the seed) at the
    temperature the page chose, so the same run shows the same samples."""

    def __init__(self, runs: list[Run], temperature: float) -> None:
        self.temperature = temperature
        self.latest: dict[int, tuple[int, float, str]] = {}
        self.text = [run.task.writes_text for run in runs]

    def due(self, k: int, run: Run, final: bool = False) -> bool:
        last = self.latest.get(k, (-SAMPLE_EVERY, 0.0, ""))[0]
        return self.text[k] and run.status == "ok" and run.step != last and (final or run.step - last >= SAMPLE_EVERY)

    def take(self, runs: list[Run], final: bool = False) -> None:
        for k, run in enumerate(runs):
            if self.due(k, run, final):
                text = run.generate(SAMPLE_PROMPT, SAMPLE_CHARS, self.temperature, seed=run.step)
                self.latest[k] = (run.step, self.temperature, text)


def view(run: Run, trace, sample: tuple[int, float, str] | None = None) -> dict:
    """What the page may show of one run (copies: the page reads them while this process trains on)."""
    return dict(step=run.step, status=run.status, message=run.message, history=run.history.copy(),
                trace=trace, wall=run.wall, num_parameters=run.num_parameters, sample=sample)


def limit_memory(mb: int) -> None:
    """Address space this process may add to what it has mapped now (torch maps much it never touches)."""
    if mb <= 0:
        return
    with open(f"/proc/{os.getpid()}/status") as status:
        vm = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    limit = vm + mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def serve(conn, states: list[bytes], budget: int, publish_every: float, pace: str, threads: int,
          memory_mb: int, temperature: float = 1.0, lr_changes: tuple[tuple[int, float], ...] = ()) -> None:
    """Process entry point: load the runs, train until told to stop or nothing is left, report, exit.

    Its niceness is the pool's to set (explorer/ui/pool.py: TrainerPool.track).
    `lr_changes`: a preset's learning-rate schedule, (step, lr) pairs (run.train_round)."""
    try:
        torch.set_num_threads(threads)
        limit_memory(memory_mb)
        runs = [Run.load(state) for state in states]
        samples = Samples(runs, temperature)
        message = _train(conn, runs, budget, publish_every, PACES[pace], samples, dict(lr_changes))
        traces = [run.trace() for run in runs]
        samples.take(runs, final=True)
        conn.send(dict(kind="final", runs=[view(r, t, samples.latest.get(k)) for k, (r, t) in enumerate(zip(runs, traces))],
                       states=[run.to_bytes() for run in runs], message=message))
    except Exception as error:  # noqa: BLE001 - the detail goes to the server's log, never to the page
        if out_of_memory(error):  # torch's allocator raises a RuntimeError, not MemoryError
            conn.send(dict(kind="error", message=MEMORY_MESSAGE.format(memory_mb=memory_mb)))
            return
        log.exception("training process %s: run stopped by an error", os.getpid())
        conn.send(dict(kind="error", message=ERROR_MESSAGE))
    finally:
        conn.close()


def _command(command, runs: list[Run], samples: Samples) -> None:
    """("lr", value) or ("temperature", value) from the page; a bad value is ignored (the page checks first)."""
    name, value = command
    try:
        if name == "lr":
            for run in runs:
                run.set_lr(value)
        elif name == "temperature" and 0 < value <= 10:
            samples.temperature = float(value)
    except ValueError:
        log.warning("training process %s: ignored %s = %r", os.getpid(), name, value)


def _train(conn, runs: list[Run], budget: int, publish_every: float, pace: Pace, samples: Samples | None = None,
           lr_changes: dict[int, float] | None = None) -> str:
    """The loop. Returns why it ended: "" when told to stop, else the reason."""
    samples = samples or Samples(runs, 1.0)
    last_publish, traces_began, untraced_until = 0.0, 0.0, 0.0
    costs, traced_at = [0.0] * len(runs), [0.0] * len(runs)  # each run's last trace: how long it took, when it ended
    rate = [(time.monotonic(), sum(r.step for r in runs))]
    gap = 1.0 / pace.max_steps_per_s if pace.max_steps_per_s else 0.0
    next_step, shown = time.monotonic(), True
    while True:
        if conn.poll() or not shown:
            command = conn.recv() if shown else _wait(conn)
            if command == "stop":
                return ""
            if command == "sync":
                conn.send(dict(kind="sync", states=[run.to_bytes() for run in runs]))
            if isinstance(command, tuple) and command[0] == "untraced":
                untraced_until = time.monotonic() + min(max(float(command[1]), 0.0), MAX_UNTRACED_S)
            elif isinstance(command, tuple):
                _command(command, runs, samples)
            shown = shown or command in ("next", None)
            continue
        if not unfinished(runs, budget):
            return "done"
        if gap:
            wait = next_step - time.monotonic()
            if wait > 0:
                conn.poll(wait)  # sleeps, but wakes at once for a command
                continue
            next_step = max(next_step + gap, time.monotonic() - gap)
        train_round(runs, budget, lr_changes)
        now = time.monotonic()
        # publish with traces at the publish rate (counted from when the last traces began: a round of the race's four
        # runs takes 30 ms, its traces 25), but never spend more than a fifth of the time tracing (runs whose traces
        # do not all fit are traced in turn); while no chart in view needs the trace, publish at the publish rate
        # and trace every UNTRACED_EVERY_S
        untraced = now < untraced_until
        every = max(publish_every, UNTRACED_EVERY_S) if untraced else publish_every
        if pace.trace_every_step:
            due = range(len(runs))
        else:
            due = in_turn(costs, traced_at, (now - max(traced_at)) / 4) if now - traces_began >= every else ()
        if due:
            traces_began = now
            traces = [None] * len(runs)  # the page keeps a run's last trace
            for k in due:
                start = time.monotonic()
                traces[k] = runs[k].trace()
                traced_at[k] = time.monotonic()
                costs[k] = traced_at[k] - start
        elif untraced and now - last_publish >= publish_every:
            traces = [None] * len(runs)  # the page keeps the last trace
        else:
            continue
        last_publish = time.monotonic()
        samples.take(runs)  # every SAMPLE_EVERY steps: about 5 ms a character on the text lesson's LSTM
        steps = sum(r.step for r in runs)
        rate = [(t, s) for t, s in rate if last_publish - t <= 3.0] + [(last_publish, steps)]
        span = rate[-1][0] - rate[0][0]
        speed = (steps - rate[0][1]) / span if span > 0 else 0.0
        conn.send(dict(kind="snapshot", runs=[view(r, t, samples.latest.get(k)) for k, (r, t) in enumerate(zip(runs, traces))],
                       steps_per_s=speed if math.isfinite(speed) else 0.0))
        shown = not pace.trace_every_step


def in_turn(costs: list[float], traced_at: list[float], allowance: float) -> list[int]:
    """The runs to trace now: the longest untraced first, as many as their last traces' `costs` fit in `allowance`
    (none when the first does not). The Compare race's four runs, each traced at a fifth of the time, would slow
    its frames once one trace of all four took over a quarter of the publish interval."""
    due, spent = [], 0.0
    for k in sorted(range(len(costs)), key=traced_at.__getitem__):
        if spent + costs[k] > allowance:
            break
        due.append(k)
        spent += costs[k]
    return due


SHOWN_WAIT_S = 10.0  # at a slow pace, how long a step waits for the page to have drawn the one before


def _wait(conn, timeout: float = SHOWN_WAIT_S):
    """The next command; None after `timeout` (a page that stopped looking: go on, the idle stop ends it).
    Long enough for a loaded machine's page to draw (at 2 s, steps went unshown under load); a lost word
    costs nothing, since every page run reports the step it last drew again."""
    return conn.recv() if conn.poll(timeout) else None
