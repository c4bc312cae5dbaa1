"""The one owner of a session's UI state: a typed Session object, kept under one session_state entry.

Pages and ui helpers read it and call its intent methods (choose_preset, adopt, train_worker, start_job,
pause_others); nobody else writes st.session_state but widgets, through explorer/ui/state.py. Its workers
live in a Slot (explorer/ui/slot.py) that outlives a reconnect and a reload; this module ties the slot to
the browser's sessions. Not the workers' training (explorer/ui/worker.py).
"""
from __future__ import annotations

import hashlib
import weakref
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from explorer.config import RunConfig
from explorer.ui import browser, jobs, opening, sidebar, state
from explorer.ui.plain import plain
from explorer.ui.slot import PARKING, Job, Slot, active
from explorer.ui.worker import Worker

PAUSED_FOR_COMPARE = "Paused by the Compare page, so that its timings are not shared."
PAUSED_FOR_OTHER_JOB = "Paused so that the other job has the CPU to itself; press its Start button to resume."
CANCELLED = "Cancelled: the results below stop at the step reached. Start again to resume."


@dataclass(eq=False)
class Playback:
    """Inspect's Play: whether t moves on by itself, and the clock that moves it."""

    playing: bool = False
    clock: tuple | None = None  # (t at Play, monotonic time at Play, speed, t last shown): where t should be now
    frames: list[float] = field(default_factory=list)  # monotonic times of the last frames drawn: the pace achieved
    last_t: int = 0  # the sequence's last step, for Play's callback


@dataclass(eq=False)
class Session:
    """Everything this browser tab's pages share, but the widgets' own values."""

    browser: browser.Browser  # from its cookies, read on the session's first run
    slot: Slot  # the workers: the Train page's, the Compare race and sweep
    config: RunConfig = field(default_factory=RunConfig)  # the last valid setup the sidebar built
    preset_name: str | None = None  # the active preset, while the sidebar shows its first config
    autostart: bool = False  # start training on the next Train page run
    open_train: bool = False  # a link named a preset: open the Train page once
    restored: bool = False  # the link's values have gone to the sidebar (the session's first shell run)
    notices: list[str] = field(default_factory=list)  # shown once at the top of the page (a link's bad values)
    upload_error: str = ""  # why the last uploaded run file was refused
    inspection: tuple | None = None  # (weakref to the worker, run index, source, Inspection) on Inspect
    own_text: tuple[str, str] | None = None  # (task name, text): the last own sequence Inspect's task accepted
    playback: Playback = field(default_factory=Playback)
    verdict: tuple | None = None  # (weakref to the worker, preset name, (ok, text)): a spent budget's verdict
    papers: tuple | None = None  # (weakref to the worker, its runs' steps, {check key: Outcome}): Check the paper
    units_report: tuple | None = None  # (what it was found on, the report or why not): Inspect's Find units
    series: tuple | None = None  # (label, values, fingerprint): the csv task's own series; None: its example
    series_file: tuple | None = None  # (file name, {column: values}) of the last CSV read (explorer/ui/series_ui.py)
    series_error: str = ""  # why the last CSV or column was refused
    task_check: tuple | None = None  # (step, task, result) of the last held-out check of a real-data task
    tune: tuple | None = None  # (step, tokens) of the last tune the music model generated

    # -- the setup ---------------------------------------------------------------------------

    @property
    def preset(self):
        """The active Preset, or None."""
        if not self.preset_name:
            return None
        from explorer.presets import PRESETS  # the presets pull in every task; only when one is active

        return PRESETS.get(self.preset_name)

    def show(self, config: RunConfig) -> None:
        """Set the sidebar to `config`: before its widgets are drawn (the first run, or a callback)."""
        sidebar.set_widgets(config)
        self.config = config

    def follow_sidebar(self, config: RunConfig) -> None:
        """The sidebar's setup this run; a change leaves the active preset."""
        self.config = config
        preset = self.preset
        if preset is not None and preset.configs[0] != config:
            self.preset_name = None

    def choose_preset(self, name: str, *, open_train: bool = False) -> None:
        """Set the sidebar to the preset and train it on the Train page's next run (a button's callback, a link)."""
        from explorer.presets import PRESETS

        self.show(PRESETS[name].configs[0])
        self.preset_name, self.autostart, self.open_train = name, True, open_train

    def choose_config(self, config: RunConfig) -> None:
        """Set the sidebar to `config` (no lesson) and train it on the Train page's next run (a button's callback)."""
        self.show(config)
        self.preset_name, self.autostart = None, True

    def notify(self, text: str) -> None:
        self.notices.append(text)

    def take_notices(self) -> list[str]:
        notices, self.notices = self.notices, []
        return notices

    def take_autostart(self) -> bool:
        start, self.autostart = self.autostart, False
        return start

    def take_open_train(self) -> bool:
        opened, self.open_train = self.open_train, False
        return opened

    # -- the Train page's worker -------------------------------------------------------------

    def train_worker(self) -> Worker:
        """The worker for the active preset, else the sidebar's setup; a different setup (or own series) closes
        the old worker and opens new runs. The Train and Inspect pages share it, so both show one run."""
        preset = self.preset
        configs, budget, schedule = (preset.configs, preset.steps, preset.lr_changes) if preset else ((self.config,), None, ())
        series, fingerprint = self.series_for(configs)
        key = (configs, budget, fingerprint, schedule)
        with self.slot.lock:
            if self.slot.worker is None or self.slot.key != key:
                self._replace(open_runs(configs, budget, series, schedule), key)
            return self.slot.worker

    def reset(self) -> Worker:
        """New weights from the same setup and seed (so the same initial weights again)."""
        with self.slot.lock:
            configs, budget = self.slot.key[:2]
            schedule = self.slot.worker.lr_changes if self.slot.worker is not None else ()
            series, fingerprint = self.series_for(configs)
            return self._replace(open_runs(configs, budget, series, schedule), (configs, budget, fingerprint, schedule))

    def adopt(self, worker: Worker, name: str = "") -> None:
        """An uploaded run's worker (explorer/ui/opening.py, from the file `name`) becomes the session's; the
        sidebar shows its config, and a csv run's series becomes the session's. A callback's: runs before the
        script, so it may set the sidebar."""
        run = worker.runs[0]
        self.show(run.config)
        if run.series is not None:
            self.keep_series(f"the series in {name}", run.series.numpy())
        self.preset_name, self.upload_error = None, ""
        with self.slot.lock:
            configs = (run.config,)
            self._replace(worker, (configs, None, self.series_for(configs)[1], ()))

    # -- the csv task's own series -------------------------------------------------------------

    def keep_series(self, label: str, values) -> None:
        """Make `values` the session's series (a picked column, or a loaded run's); never in the URL."""
        values = np.asarray(values, dtype=np.float64)
        self.series = (label, values, hashlib.sha256(values.tobytes()).hexdigest())  # the hash tells a new one

    def series_for(self, configs: tuple[RunConfig, ...]) -> tuple[np.ndarray | None, str | None]:
        """(values, fingerprint) of the session's own series when a run is on the csv task and one was
        uploaded; (None, None) otherwise (the csv task's example series stands in)."""
        if self.series is not None and any(c.task == "csv" for c in configs):
            return self.series[1], self.series[2]
        return None, None

    def _replace(self, worker: Worker, key: tuple) -> Worker:
        self.inspection = self.verdict = None
        return self.slot.replace(worker, key)

    # -- Compare's jobs ----------------------------------------------------------------------

    def start_job(self, name: str, configs: tuple[RunConfig, ...], budget: int, note: str = "") -> None:
        """Resume the race or the sweep if it is for this setup, else build it anew; pause every other trainer."""
        key = (configs, budget)
        with self.slot.lock:
            self.pause_others(name)
            job = getattr(self.slot, name)
            if job is None or job.key != key:
                if job is not None:
                    job.worker.close()
                job = Job(open_runs(configs, budget, self.series_for(configs)[0]), key, configs, note)  # first traces in a pool process
                setattr(self.slot, name, job)
            job.notice = ""
            job.worker.start()

    def pause_others(self, name: str) -> None:
        """One job trains at a time, so timings are not shared: pause the other Compare job and the Train page's."""
        other = self.slot.sweep if name == "race" else self.slot.race
        if other is not None and active(other.worker):  # training or queued
            other.worker.pause()
            other.notice = PAUSED_FOR_OTHER_JOB
        train = self.slot.worker
        if train is not None and active(train):
            train.pause(PAUSED_FOR_COMPARE)

    def cancel_job(self, name: str) -> None:
        job = getattr(self.slot, name)
        if job is not None and active(job.worker):
            job.worker.pause()
            job.notice = CANCELLED

    def measured(self, job: Job) -> list[float] | None:
        """A stopped job's held-out metrics (None while it trains), measured in a pool process."""
        return job.measured(page_closed())

    # -- caches of what the pages looked up ----------------------------------------------------

    def cached_inspection(self, worker: Worker, index: int, source):
        """Inspect's look at this sequence through this worker's run `index`, if it has one (any step)."""
        kept = self.inspection
        if kept is not None and kept[0]() is worker and kept[1:3] == (index, source):
            return kept[3]
        return None

    def keep_inspection(self, worker: Worker, index: int, source, inspection) -> None:
        self.inspection = (weakref.ref(worker), index, source, inspection)

    def preset_verdict(self, worker: Worker) -> tuple[bool, str]:
        """The active preset's verdict on the worker's runs, judged once when its budget is spent."""
        kept = self.verdict
        if kept is None or kept[0]() is not worker or kept[1] != self.preset_name:
            kept = self.verdict = (weakref.ref(worker), self.preset_name, self.preset.verdict(worker.runs))
        return kept[2]

    def paper_outcomes(self, worker: Worker) -> dict | None:
        """Every paper check's Outcome (explorer/papers.py) on the worker's runs, judged once per set of steps they
        reached; None while they train or wait to."""
        if active(worker):
            return None
        snap = worker.snapshot
        steps = tuple(view.step for view in snap.runs)
        kept = self.papers
        if kept is None or kept[0]() is not worker or kept[1] != steps:
            from explorer.papers import CHECKS  # pulls in every task, as the presets do

            samples = [view.samples for view in snap.runs]
            with worker.models() as runs:
                outcomes = {key: check.outcome(runs, samples) for key, check in CHECKS.items()}
            kept = self.papers = (weakref.ref(worker), steps, outcomes)
        return kept[2]

    def training_workers(self) -> list[Worker]:
        return [w for w in self.slot.workers() if w.training]


def this() -> Session:
    """This session's Session: made on its first run, with the slot its browser's last page let go (a reload)."""
    me = state.held(_open)
    _lease(me.slot)  # once per connection: cached until the websocket drops
    return me


def _open() -> Session:
    me = browser.this()
    slot = PARKING.claim(me.id)  # a reload: the slot this browser's last page let go
    notices = []
    if slot is not None:
        slot.forget_sessions()  # that page has ended: what its state and fragments held goes
    else:
        slot = Slot(me.id)
        note = _gone_note(me)
        if note:
            notices.append(note)  # shown once, at the top of the first page
        PARKING.add(slot)
    ctx = get_script_run_ctx()
    if ctx is not None:
        slot.used_by(ctx.session_id, ctx.session_state, ctx.fragment_storage)
    return Session(me, slot, notices=notices)


class _Lease:
    """Ties the slot's workers to the browser's sessions, not to a dropped websocket.

    Streamlit releases session-scoped resources when the websocket drops, though the session itself
    waits server.disconnectedSessionTTL for the browser to reconnect (venue Wi-Fi does this several
    times an hour). So the slot lives in the Session, which a reconnect keeps, and in PARKING, where
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
    me = this().browser
    browser.remember(me, PARKING.has_runs(me.id))


def open_runs(configs: tuple[RunConfig, ...], budget: int | None, series=None,
              lr_changes: tuple[tuple[int, float], ...] = ()) -> Worker:
    """New runs, their first traces from a pool process; the page stops with our message when that fails.
    `series`: the csv task's values (the session's own), for the runs on that task; `lr_changes`: a preset's
    learning-rate schedule."""
    with st.spinner("Building the run and looking inside…"):
        try:
            return opening.new_worker(configs, budget, series=series, lr_changes=lr_changes, should_stop=page_closed(),
                                      on_wait=_toast_busy)
        except jobs.JobError as error:
            st.error(plain(str(error)))  # our words only: the pool's message, never a library's
            st.stop()


def _toast_busy() -> None:
    st.toast("The server is busy: your run opens when a slot frees.")


def page_closed() -> Callable[[], bool]:
    """A test for the pool's jobs: this browser session has gone (its tab closed or its connection dropped)."""
    ctx = get_script_run_ctx()
    if ctx is None:
        return lambda: False
    session_id, runtime = ctx.session_id, Runtime.instance() if Runtime.exists() else None
    return lambda: runtime is not None and not runtime.is_active_session(session_id)


HEARTBEAT_S = 5.0  # well inside the idle limit, so only a closed tab stops training


def heartbeat() -> None:
    """In the sidebar on every page: while this session trains, say so and keep its workers alive."""
    with st.sidebar:
        st.fragment(run_every=HEARTBEAT_S if this().training_workers() else None)(_beat)()


def _beat() -> None:
    workers = this().training_workers()
    for worker in workers:
        worker.touch()
    if workers:
        steps = ", ".join(f"step {w.snapshot.runs[0].step}" for w in workers)
        st.caption(f"Training in the background ({steps}).")
