"""This session's training worker: created on demand, replaced when the setup changes, stopped when the session ends."""
from __future__ import annotations

import threading
import weakref

import streamlit as st

from explorer.config import RunConfig
from explorer.run import Run
from explorer.ui.worker import Worker


class Slot:
    """Holds the session's one worker and the setup it was built for."""

    def __init__(self) -> None:
        self.worker: Worker | None = None
        self.key: tuple | None = None
        self.lock = threading.Lock()
        self.others: weakref.WeakSet[Worker] = weakref.WeakSet()  # other pages' workers (Compare)

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()


@st.cache_resource(scope="session", on_release=Slot.close, show_spinner=False)
def _slot() -> Slot:
    return Slot()


def worker_for(configs: tuple[RunConfig, ...], budget: int | None = None) -> Worker:
    """The session's worker for this setup; a different setup pauses the old worker and builds new runs."""
    slot = _slot()
    key = (configs, budget)
    with slot.lock:
        if slot.worker is None or slot.key != key:
            slot.close()
            slot.worker, slot.key = Worker([Run(c) for c in configs], budget=budget), key
        return slot.worker


def reset() -> Worker:
    """New weights from the same setup and seed (so the same initial weights again)."""
    slot = _slot()
    with slot.lock:
        slot.close()
        configs, budget = slot.key
        slot.worker = Worker([Run(c) for c in configs], budget=budget)
        return slot.worker


def adopt(run: Run) -> Worker:
    """Make an uploaded run the session's run (its config goes to the sidebar by the caller)."""
    slot = _slot()
    with slot.lock:
        slot.close()
        slot.worker, slot.key = Worker([run]), ((run.config,), None)
        return slot.worker


def current() -> Worker | None:
    return _slot().worker


def register(worker: Worker) -> None:
    """Another page's worker: the heartbeat keeps it alive while this session has any page open."""
    _slot().others.add(worker)


def training_workers() -> list[Worker]:
    slot = _slot()
    return [w for w in [slot.worker, *slot.others] if w is not None and w.training]


HEARTBEAT_S = 5.0  # well inside the idle limit, so only a closed tab stops training


def heartbeat() -> None:
    """In the sidebar on every page: while this session trains, say so and keep its workers alive."""
    with st.sidebar:
        st.fragment(run_every=HEARTBEAT_S if training_workers() else None)(_beat)()


def _beat() -> None:
    workers = training_workers()
    for worker in workers:
        worker.touch()
    if workers:
        steps = ", ".join(f"step {w.snapshot.runs[0].step}" for w in workers)
        st.caption(f"Training in the background ({steps}).")
