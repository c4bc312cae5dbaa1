"""This session's training worker: created on demand, replaced when the setup changes, kept across a reload, stopped when the browser has gone."""
from __future__ import annotations

import threading
import weakref
from typing import Callable, TypeVar

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from explorer.config import LIMITS, RunConfig
from explorer.style import ARCH_LABELS
from explorer.ui import browser, jobs, opening, state
from explorer.ui.parking import Parking
from explorer.ui.plain import plain
from explorer.ui.runtime import give_back_memory
from explorer.ui.worker import Worker

T = TypeVar("T")


class Slot:
    """Holds one page session's worker and the setup it was built for, and other pages' session objects.

    Its browser's next session takes it over after a reload (explorer/ui/parking.py)."""

    def __init__(self, browser: str | None = None) -> None:
        self.browser = browser  # the browser's id (explorer/ui/browser.py); None: nothing can take it over
        self.holders = 0  # live connections (counted by PARKING)
        self.parked_at: float | None = None  # when the last connection let go (set by PARKING)
        self.worker: Worker | None = None
        self.key: tuple | None = None
        self.lock = threading.Lock()
        self.others: weakref.WeakSet[Worker] = weakref.WeakSet()  # other pages' workers (Compare)
        self.kept: dict[str, tuple[object, Callable, Callable]] = {}  # key -> (object, close, summary)
        self.sessions: dict[str, tuple] = {}  # id -> (session state, fragment storage) of each session that used it

    def close(self) -> None:
        """Everything: the browser has gone."""
        self.replace(None, None)
        for obj, close, _ in list(self.kept.values()):
            close(obj)
        self.kept = {}
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
        """The Train page's worker, in place of the old one (which ends); other pages' objects stay."""
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
        parts += [text for obj, _, summary in list(self.kept.values()) if (text := summary(obj))]
        return "; ".join(parts)


PARKING = Parking(keep_s=LIMITS.reattach_s, max_parked=LIMITS.max_parked)  # the server's: every browser's slots


class _Lease:
    """Ties the slot's workers to the browser's sessions, not to a dropped websocket.

    Streamlit releases session-scoped resources when the websocket drops, though the session itself
    waits server.disconnectedSessionTTL for the browser to reconnect (venue Wi-Fi does this several
    times an hour). So the slot lives in session_state, which a reconnect keeps, and in PARKING, where
    a reload's new session finds it by the browser's id. A released lease lets it wait LIMITS.reattach_s for
    either (a slot with no browser id, disconnectedSessionTTL and a few seconds more), then closes it.
    """

    def __init__(self, slot: Slot) -> None:
        self.slot = slot
        PARKING.hold(slot)

    def release(self) -> None:
        grace = None if self.slot.browser else float(st.get_option("server.disconnectedSessionTTL")) + RECONNECT_MARGIN_S
        PARKING.let_go(self.slot, grace)


RECONNECT_MARGIN_S = 5.0


@st.cache_resource(scope="session", on_release=_Lease.release, show_spinner=False)
def _lease(_slot: Slot) -> _Lease:
    return _Lease(_slot)


def _slot() -> Slot:
    slot = state.get(state.SLOT)
    if slot is None:
        me = browser.this()
        slot = PARKING.claim(me.id)  # a reload: the slot this browser's last page let go
        if slot is not None:
            slot.forget_sessions()  # that page has ended: what its state and fragments held goes
        else:
            slot = Slot(me.id)
            note = _gone_note(me)
            if note:
                state.add_notice(note)  # shown once, at the top of the first page
            PARKING.add(slot)
        state.put(state.SLOT, slot)
        ctx = get_script_run_ctx()
        if ctx is not None:
            slot.used_by(ctx.session_id, ctx.session_state, ctx.fragment_storage)
    _lease(slot)  # once per connection: cached until the websocket drops
    return slot


def _gone_note(me: browser.Browser) -> str:
    """Why the runs this browser had are not here, or where they are ("" when it had none)."""
    gone = PARKING.gone(me.id)
    if gone is not None:
        return f"Your earlier run ({gone.what}) is gone: {gone.why}. Press Train to start a new one."
    elsewhere = PARKING.held(me.id)
    if elsewhere:  # a second tab, or a reload whose old connection the server has not seen close yet
        return (f"Another tab of this browser has a run open ({elsewhere}); this tab starts its own. If you have "
                "just closed or reloaded that tab, reload this one in a few seconds to take its run over.")
    if not me.runs_on:
        return ""
    if me.runs_on != browser.BOOT:
        return ("Your earlier run is gone: the server restarted since this browser last had it open, and runs "
                "live in the server's memory. Press Train to start a new one.")
    return (f"Your earlier run is gone: no page had it open for {PARKING.window}, so the server closed it. "
            "Press Train to start a new one.")


def remember() -> None:
    """At the end of a full run: tell the browser's cookies whether this server holds runs for it."""
    me = browser.this()
    browser.remember(PARKING.has_runs(me.id))


def kept(key: str, factory: Callable[[], T], close: Callable[[T], None],
         summary: Callable[[T], str] = lambda obj: "") -> T:
    """This session's object under `key`, made once; it survives a dropped websocket and a reload and is
    closed with the session's workers when the browser has not come back. `summary` says in a few words
    what the visitor would lose with it ("" when nothing)."""
    slot = _slot()
    with slot.lock:
        if key not in slot.kept:
            slot.kept[key] = (factory(), close, summary)
        return slot.kept[key][0]


def _series(configs: tuple[RunConfig, ...]) -> tuple[list[float] | None, int | None]:
    """(values, fingerprint) of the session's own series (explorer/ui/series_ui.py) when a run is on the csv
    task and one was uploaded; (None, None) otherwise (the csv task's example stands in)."""
    chosen = state.get(state.CSV_SERIES)
    if chosen and any(c.task == "csv" for c in configs):
        return chosen[1], chosen[2]
    return None, None


def worker_for(configs: tuple[RunConfig, ...], budget: int | None = None) -> Worker:
    """The session's worker for this setup; a different setup (or series) pauses the old worker and opens new runs."""
    slot = _slot()
    series, fingerprint = _series(configs)
    key = (configs, budget, fingerprint)
    with slot.lock:
        if slot.worker is None or slot.key != key:
            slot.replace(open_runs(configs, budget, series), key)
        return slot.worker


def reset() -> Worker:
    """New weights from the same setup and seed (so the same initial weights again)."""
    slot = _slot()
    with slot.lock:
        configs, budget = slot.key[:2]
        series, fingerprint = _series(configs)
        return slot.replace(open_runs(configs, budget, series), (configs, budget, fingerprint))


def open_runs(configs: tuple[RunConfig, ...], budget: int | None, series=None) -> Worker:
    """New runs, their first traces from a pool process; the page stops with our message when that fails.
    `series`: the csv task's values; None takes the session's own (the Compare page races on it too)."""
    if series is None:
        series = _series(configs)[0]
    with st.spinner("Building the run and looking inside…"):
        try:
            return opening.new_worker(configs, budget, series=series, should_stop=page_closed(), on_wait=_toast_busy)
        except jobs.JobError as error:
            st.error(plain(str(error)))  # our words only: the pool's message, never a library's
            st.stop()


def _toast_busy() -> None:
    st.toast("The server is busy: your run opens when a slot frees.")


def adopt(worker: Worker) -> Worker:
    """Make an uploaded run's worker (explorer/ui/opening.py) the session's (its config goes to the sidebar by the caller)."""
    slot = _slot()
    with slot.lock:
        configs = (worker.runs[0].config,)
        return slot.replace(worker, (configs, None, _series(configs)[1]))


def page_closed() -> Callable[[], bool]:
    """A test for the pool's jobs: this browser session has gone (its tab closed or its connection dropped)."""
    ctx = get_script_run_ctx()
    if ctx is None:
        return lambda: False
    session_id, runtime = ctx.session_id, Runtime.instance() if Runtime.exists() else None
    return lambda: runtime is not None and not runtime.is_active_session(session_id)


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
