"""This session's training worker: created on demand, replaced when the setup changes, stopped when the session ends."""
from __future__ import annotations

import threading
import weakref
from typing import Callable, TypeVar

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from explorer.config import RunConfig
from explorer.run import Run
from explorer.ui import state
from explorer.ui.runtime import give_back_memory
from explorer.ui.worker import Worker

T = TypeVar("T")


class Slot:
    """Holds the session's one worker and the setup it was built for."""

    def __init__(self) -> None:
        self.worker: Worker | None = None
        self.key: tuple | None = None
        self.lock = threading.Lock()
        self.others: weakref.WeakSet[Worker] = weakref.WeakSet()  # other pages' workers (Compare)
        self.closers: list[Callable[[], None]] = []  # other pages' session objects, closed with the slot
        self.lease = 0  # counts the session's leases: a new one means the browser came back
        self.session_state = None  # the session's st.session_state, emptied when the session ends

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()
        for close in self.closers:
            close()

    def close_unless_leased_since(self, lease: int) -> None:
        if self.lease == lease:
            self.close()
            self.forget()
            give_back_memory()  # in the lease's timer thread, after the session has ended

    def forget(self) -> None:
        """Drop what the ended session held. Streamlit keeps an ended session in its reconnect store
        until another session connects or leaves, so its state would hold the runs and traces till then."""
        self.worker, self.closers = None, []
        values, self.session_state = self.session_state, None
        if values is None:
            return
        for key in list(values.filtered_state):
            try:
                del values[key]
            except (KeyError, AttributeError, RuntimeError):
                pass  # a widget's value, or the session is shutting down: nothing more to drop


class _Lease:
    """Ties the slot's workers to the browser session's end, not to a dropped websocket.

    Streamlit releases session-scoped resources when the websocket drops, though the session itself
    waits server.disconnectedSessionTTL for the browser to reconnect (venue Wi-Fi does this several
    times an hour). So the slot lives in session_state, which a reconnect keeps, and a released
    lease closes the workers only if no new lease came within that TTL and a few seconds more.
    """

    def __init__(self, slot: Slot) -> None:
        slot.lease += 1
        self.slot, self.number = slot, slot.lease

    def release(self) -> None:
        grace = float(st.get_option("server.disconnectedSessionTTL")) + RECONNECT_MARGIN_S
        timer = threading.Timer(grace, self.slot.close_unless_leased_since, args=(self.number,))
        timer.daemon = True
        timer.start()


RECONNECT_MARGIN_S = 5.0


@st.cache_resource(scope="session", on_release=_Lease.release, show_spinner=False)
def _lease(_slot: Slot) -> _Lease:
    return _Lease(_slot)


def _slot() -> Slot:
    slot = state.get(state.SLOT)
    if slot is None:
        slot = Slot()
        state.put(state.SLOT, slot)
    _lease(slot)  # once per connection: cached until the websocket drops
    ctx = get_script_run_ctx()
    slot.session_state = ctx.session_state if ctx is not None else None
    return slot


def kept(key: str, factory: Callable[[], T], close: Callable[[T], None]) -> T:
    """This session's object under `key` (a state key), made once; it survives a dropped websocket and
    is closed with the session's workers when the browser has not come back."""
    slot = _slot()
    obj = state.get(key)
    if obj is None:
        obj = factory()
        state.put(key, obj)
        slot.closers.append(lambda: close(obj))
    return obj


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
