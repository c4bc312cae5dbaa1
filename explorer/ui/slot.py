"""A browser's workers (the Train page's run, the Compare race and sweep): kept across a reconnect and a reload.

Not the rest of the session's state (explorer/ui/session.py owns it, and this slot) and not the registry
that hands a slot to its browser's next session (explorer/ui/parking.py).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable

from streamlit.runtime import Runtime

from explorer.config import LIMITS, RunConfig
from explorer.evaluate import held_out_metrics
from explorer.style import ARCH_LABELS
from explorer.ui import jobs
from explorer.ui.parking import Parking
from explorer.ui.runtime import give_back_memory
from explorer.ui.worker import Worker

PARKING = Parking(keep_s=LIMITS.reattach_s, max_parked=LIMITS.max_parked)  # the server's: every browser's slots


def active(worker: Worker) -> bool:
    """Training, or waiting in the server's queue to train (its view then refreshes to show it start)."""
    return worker.training or worker.snapshot.state == "queued"


@dataclass(eq=False)
class Job:
    """One Compare job (the race or the sweep): its worker, what it trains, held-out results once it stops."""

    worker: Worker
    key: tuple  # (configs, budget): the setup it was started for
    configs: tuple[RunConfig, ...]
    note: str = ""  # how the configs were matched
    notice: str = ""  # why it stopped early (cancelled, or paused for the other job)
    held_out: dict = field(default_factory=dict)  # total steps -> [metric per run]

    @property
    def labels(self) -> list[str]:
        return [ARCH_LABELS[c.arch] for c in self.configs]

    def measured(self, should_stop: Callable[[], bool]) -> list[float] | None:
        """Held-out metric of every run once training has stopped (cached per step count); None while it trains."""
        if active(self.worker):
            return None
        steps = sum(run.step for run in self.worker.runs)
        if steps not in self.held_out:
            with self.worker.models() as runs:
                states = [run.to_bytes() for run in runs]
            try:  # in a pool process, under its memory limit: a race at the caps evaluates outside the server
                self.held_out = {steps: jobs.run(held_out_metrics, states, should_stop=should_stop)}
            except jobs.JobError:
                return None  # the pool could not: the table stays provisional, as while it trains
        return self.held_out[steps]


class Slot:
    """A browser page's workers and the setup the Train page's was built for. Its browser's next session
    takes it over after a reload (explorer/ui/parking.py)."""

    def __init__(self, browser: str | None = None) -> None:
        self.browser = browser  # the browser's id (explorer/ui/browser.py); None: nothing can take it over
        self.holders = 0  # live connections (counted by PARKING)
        self.parked_at: float | None = None  # when the last connection let go (set by PARKING)
        self.worker: Worker | None = None  # the Train (and Inspect) page's
        self.key: tuple | None = None  # (configs, budget, series fingerprint, lr_changes) it was built for
        self.race: Job | None = None  # Compare's
        self.sweep: Job | None = None
        self.lock = threading.Lock()
        self.sessions: dict[str, tuple] = {}  # id -> (session state, fragment storage) of each session that used it

    def workers(self) -> list[Worker]:
        return [w for w in (self.worker, *(job.worker for job in (self.race, self.sweep) if job)) if w is not None]

    def close(self) -> None:
        """Everything: the browser has gone."""
        self.replace(None, None)
        for job in (self.race, self.sweep):
            if job is not None:
                job.worker.close()
        self.race = self.sweep = None
        self.forget_sessions()
        # collect and trim off the page's path (runner.postScriptGC is off, glibc keeps freed pages)
        threading.Thread(target=give_back_memory, name="rnnx-gc", daemon=True).start()

    def used_by(self, session_id: str, values, fragments) -> None:
        """A session's state and fragment storage (Streamlit's), emptied by forget_sessions when it has gone."""
        self.sessions[session_id] = (values, fragments)

    def forget_sessions(self) -> None:
        """Empty the state and fragments of the sessions that used this slot (they have ended).

        Streamlit keeps an ended session in its reconnect store until another session connects or leaves, and
        the last session its message loop flushed until another one flushes: their state (which holds this
        slot, Inspect's views), fragments (the live fragment's arguments hold the worker, its runs and
        traces) and uploaded files would keep all that in memory till then (issue 18.6)."""
        uploads = Runtime.instance().uploaded_file_mgr if Runtime.exists() else None
        while self.sessions:
            session_id = next(iter(self.sessions))
            values, fragments = self.sessions.pop(session_id)
            if uploads is not None:
                uploads.remove_session_files(session_id)  # an uploaded run's bytes (up to the upload cap)
            for key in list(values.filtered_state):
                try:
                    del values[key]
                except Exception:  # noqa: BLE001 - a widget's value, or the session is shutting down: nothing held
                    pass
            fragments.clear()
            fragments.clear_outside_wrappers()

    def replace(self, worker: Worker | None, key: tuple | None) -> Worker | None:
        """The Train page's worker, in place of the old one (which ends); Compare's jobs stay."""
        if self.worker is not None:
            self.worker.close()
        self.worker, self.key = worker, key
        return worker

    def summary(self) -> str:
        """What the visitor would lose with this slot, in a few words ("" when nothing)."""
        parts = []
        worker = self.worker
        if worker is not None:
            view = worker.snapshot.runs[0]
            if view.step > 0 or worker.training:
                archs = " and ".join(dict.fromkeys(ARCH_LABELS[r.config.arch] for r in worker.runs))
                parts.append(f"{archs} on {worker.runs[0].config.task} at step {view.step}")
        jobs_ = " and ".join(name for name, job in (("the Compare race", self.race), ("the sweep", self.sweep)) if job)
        return "; ".join(parts + ([jobs_] if jobs_ else []))
