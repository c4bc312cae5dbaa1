"""A session's runs as they open: new runs, or an uploaded file, looked at first in a pool process.

The heavy part of opening a run, its first trace of the probe batch (and for a file, the checks and the
torch reading of a visitor's bytes), runs in a process from the job pool (explorer/ui/jobs.py), under its
memory limit: a heavy config or a hostile file costs that process, never the server. The server builds
the runs the pages read (the same seeded weights) or loads the bytes that process wrote, and starts the
Worker with the traces it got back. No Streamlit here; not the live training (explorer/ui/worker.py).
"""
from __future__ import annotations

from explorer.config import RunConfig
from explorer.records import Trace
from explorer.run import Run
from explorer.ui import jobs
from explorer.ui.worker import Worker


class Refused(jobs.JobError):
    """An uploaded file that is not a run this app may load; the message is Run.load's (ours)."""


def _runs(configs: tuple[RunConfig, ...], series=None) -> list[Run]:
    """New runs of configs; `series` goes to those on the csv task (the visitor's own series)."""
    return [Run(config, series=series if config.task == "csv" else None) for config in configs]


def first_traces(configs: tuple[RunConfig, ...], series=None) -> list[Trace]:
    """In the pool process: each new run's trace at step 0 (Run is seeded: the server builds the same weights)."""
    return [run.trace() for run in _runs(configs, series)]


def checked_file(data: bytes) -> tuple[str, bytes | str, Trace | None]:
    """In the pool process: ("ok", the run as Run.save writes it, its first trace), or ("refused", why, None)."""
    try:
        run = Run.load(data)
    except ValueError as error:
        return "refused", str(error), None
    trace = run.trace()  # records the profile at this step in the history the bytes carry
    return "ok", run.to_bytes(), trace


def new_worker(configs: tuple[RunConfig, ...], budget: int | None = None, series=None,
               lr_changes: tuple[tuple[int, float], ...] = (), **job) -> Worker:
    """A Worker of new runs of `configs`, their first traces computed in a pool process. JobError: our message.
    `series`: the csv task's values, checked when the visitor picked them (explorer/ui/series_ui.py).
    `lr_changes`: a preset's learning-rate schedule (Worker).
    `job`: jobs.run's keywords (should_stop, on_wait; pool and memory_mb in tests)."""
    traces = jobs.run(first_traces, tuple(configs), series, **job)
    return Worker(_runs(configs, series), budget=budget, initial=traces, lr_changes=lr_changes)


def uploaded_worker(data: bytes, **job) -> Worker:
    """A Worker of the run in an uploaded file, read, checked and traced in a pool process; the server loads
    only what that process wrote back. Refused (Run.load's message) or JobError (ours) when it cannot."""
    kind, value, trace = jobs.run(checked_file, data, **job)
    if kind != "ok":
        raise Refused(value)
    return Worker([Run.load(value)], initial=[trace])
