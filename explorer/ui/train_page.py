"""The Train page: controls outside, one live fragment inside that sends the worker's newest snapshot to the browser."""
from __future__ import annotations

import streamlit as st

from explorer.config import PACES
from explorer.ui import files, lecture, live_chart, live_controls, panels, papers_ui, presets_ui, session, state, task_tools
from explorer.ui.plain import plain
from explorer.ui.slot import active
from explorer.ui.worker import Snapshot, Worker

SLOW_REFRESH_S = 0.05  # at a slow pace each step waits until the browser has drawn the one before


def render() -> None:
    me = session.this()
    preset = me.preset
    worker = me.train_worker()
    worker.settle()  # a Pause or Step, sent before the page's run began (_pause, _step), has handed back its state
    st.title(preset.title if preset else "Train")
    if preset:
        st.markdown(preset.narration)
    _pace(worker)
    worker = _controls(worker)
    live_controls.lr_control(worker)
    worker.pace = state.widget(state.PACE) or "normal"  # Reset builds a new worker
    if me.take_autostart():
        worker.start()
    if preset:
        presets_ui.verdict(preset, worker)
        papers_ui.lesson_cards(preset.name, worker)
    shown = presets_ui.example(preset, worker)  # a lesson opens on the probe sequence its narration is about
    example, layer = (shown, 0) if lecture.on() else _view_options(worker, shown)
    training = active(worker)  # queued too: the page refreshes to see it start
    fed = _fed(worker, worker.snapshot)  # the feed keeps the status lines too
    every = SLOW_REFRESH_S if worker.pace != "normal" else panels.FED_FOLLOW_S if fed else panels.FOLLOW_S
    focus = preset.focus if preset and lecture.on() else None  # on a projector the lesson's chart comes first
    st.fragment(run_every=every if training else None)(_live)(worker, training, example, layer, focus, fed)
    if live_controls.has_samples(worker):
        live_controls.temperature_control(worker)
        st.fragment(run_every=panels.FOLLOW_S if training else None)(live_controls.samples)(worker)
    task_tools.draw(worker)
    if not lecture.on():
        files.save_and_load(worker)
        live_controls.script_download(worker)


def _controls(worker: Worker) -> Worker:
    cols = st.columns([1, 1, 1, 1, 5])
    if cols[0].button("Train", key="train-button", type="primary", help="Start or resume training in the background."):
        worker.start()
    cols[1].button("Pause", key="pause-button", help="Stop after the current step.", on_click=_pause)
    cols[2].button("Step", key="step-button", help="One training step, then a fresh look inside.", on_click=_step)
    if cols[3].button("Reset", key="reset-button", help="New run from the same setup and seed: the same initial weights again."):
        worker = session.this().reset()
    return worker


def _pause() -> None:
    """Pause's callback, before the page's run: the process finishes its step and sends its final state while the
    sidebar and the top of the page are drawn (render() settles before it reads the runs). Measured: the last
    chart change came 80 ms sooner after the click."""
    worker = session.this().slot.worker  # the page's worker (train_worker() may open new runs: not in a callback)
    if worker is not None:
        worker.pause(wait=False)


def _step() -> None:
    """Step's callback, as Pause's: the step and its trace run in their process while the page's top is drawn."""
    worker = session.this().slot.worker
    if worker is not None:
        worker.step(wait=False)


def _pace(worker: Worker) -> None:
    """Pace: normal (as fast as it trains), slow (about 20 steps a second, every step traced and shown),
    step-by-step (one step a second, each shown). A change while training restarts at the new pace."""
    pace = st.segmented_control("Pace", PACES, key=state.PACE,
                                help="Slow the live view down to narrate it: slow shows every step at about "
                                     "20 steps a second, step-by-step one step a second.") or "normal"
    if pace != worker.pace:
        training = worker.training
        if training:
            worker.pause()
        worker.pace = pace
        if training:
            worker.start()


def _view_options(worker: Worker, shown: int = 0) -> tuple[int, int]:
    run = worker.runs[0]
    cols = st.columns([2, 2, 5])
    example = cols[0].selectbox("Probe example", range(run.probe.shape[0]), index=shown, key=state.EXAMPLE,
                                help="Which sequence of the fixed probe batch the state charts show.")
    layers = run.config.num_layers
    layer = cols[1].selectbox("Layer", range(layers), format_func=lambda k: f"layer {k}",
                              key="view_layer") if layers > 1 else 0
    return int(example), int(layer)


def _live(worker: Worker, was_training: bool, example: int, layer: int, focus: str | None = None,
          timed_fed: bool = False) -> None:
    """The status line and every chart, from the newest snapshot; `focus` (a chart name) first, full width.
    While it trains at the normal pace, the charts fetch their frames from the live feed and this runs
    only when the run stops (the element says so) or every panels.FED_FOLLOW_S; at a slow pace every step is
    drawn through here. `timed_fed`: this fragment's timer is the fed one."""
    snap = panels.watch(worker, was_training)
    labels = [presets_ui.label(worker.runs, index) for index in range(len(snap.runs))]
    fed = _fed(worker, snap)
    if fed and not timed_fed:  # a queued run has started: the page again, with the fed timer instead of FOLLOW_S
        st.rerun()
    _status(snap, worker, labels, fed)
    step = snap.runs[0].step if worker.pace != "normal" else None  # the browser reports it drawn
    s = panels.scale()
    if len(snap.runs) == 1:
        def figures(snap_: Snapshot, only: frozenset[str] | None = None) -> list:
            return panels.focus_first(panels.live_figures(snap_.runs[0], example=example, layer=layer, scale=s,
                                                          steps_to=panels.budget(worker), only=only), focus)
        columns = 1 if focus else 2
        if fed:
            live_chart.follow(worker, "run0", figures, columns=columns, lines=lambda snap_: _lines(snap_, labels),
                              traced=panels.traced)
        else:
            worker.shown(live_chart.show(figures(snap), "run0", columns=columns, step=step))
        return
    for index, (col, line) in enumerate(zip(st.columns(len(snap.runs)), _run_lines(snap, labels))):
        with col:
            live_chart.status(f"run{index}-status", line, fed=fed)
    for label, view in zip(labels, snap.runs):  # once, full width: the columns below stay aligned
        if view.status != "ok":
            st.error(f"**{label}**: " + plain(view.message))  # a loaded run's message comes from its file
    shared = panels.per_snapshot(lambda snap_, only: panels.side_by_side(snap_.runs, example=example, layer=layer,
                                                                         scale=s, steps_to=panels.budget(worker), only=only))
    lead = _lead(snap, focus)
    if lead is not None:  # the lesson's chart, which another run lacks, full width above the columns
        def leading(snap_: Snapshot, only: frozenset[str] | None = None) -> list:
            return [pair for pair in shared(snap_, only)[lead] if pair[1] == focus]
        if fed:
            live_chart.follow(worker, "lead", leading, columns=1, lines=lambda snap_: _lines(snap_, labels),
                              traced=panels.traced)
        else:
            live_chart.show(leading(snap), "lead", columns=1)
    drawn = None
    for index, col in enumerate(st.columns(len(snap.runs))):
        def figures(snap_: Snapshot, only: frozenset[str] | None = None, index: int = index) -> list:
            if lead is not None:  # drawn above: neither the chart nor another run's "lacks it" note here
                return [pair for pair in shared(snap_, only)[index] if pair[1] != focus]
            return panels.focus_first(shared(snap_, only)[index], focus)
        with col:
            if fed:
                lines = (lambda snap_: _lines(snap_, labels)) if index == 0 and lead is None else None
                live_chart.follow(worker, f"run{index}", figures, columns=1, lines=lines, traced=panels.traced)
            else:
                drawn = live_chart.show(figures(snap), f"run{index}", columns=1,
                                        step=step if index == len(snap.runs) - 1 else None)
    if not fed:
        worker.shown(drawn)


def _fed(worker: Worker, snap: Snapshot) -> bool:
    """The live feed draws the charts and status lines: the run trains at the normal pace."""
    return snap.state == "training" and worker.pace == "normal"


def _lead(snap: Snapshot, focus: str | None) -> int | None:
    """The run whose `focus` chart leads the page full width: on a projector, when another run of the lesson
    lacks that chart (a Transformer's attention beside an LSTM), half a screen would crush it."""
    if focus is None:
        return None
    has = [focus in panels.chart_names(view) for view in snap.runs if view.trace is not None]
    if len(has) != len(snap.runs) or all(has) or not any(has):
        return None
    return has.index(True)


def _lines(snap: Snapshot, labels: list[str]) -> dict[str, live_chart.Line]:
    """The page's status lines by their containers' keys: the state (with the one run's status, or the speed), and
    with several runs each run's status above its column. The live feed's frames rewrite them as they come."""
    view, training = snap.runs[0], snap.state == "training"
    if len(snap.runs) == 1:
        return {"train-status": panels.status_line(view, snap.steps_per_s if training else None) + [(" · ", ""), (snap.state, "i")]}
    rate = [(f" · {snap.steps_per_s:.0f} steps/s", "")] if training else []
    return {"train-status": [(snap.state, "i")] + rate,
            **{f"run{index}-status": line for index, line in enumerate(_run_lines(snap, labels))}}


def _run_lines(snap: Snapshot, labels: list[str]) -> list[live_chart.Line]:
    return [[(label, "b"), (" · ", "")] + panels.status_line(view) for label, view in zip(labels, snap.runs)]


def _status(snap: Snapshot, worker: Worker, labels: list[str], fed: bool) -> None:
    view = snap.runs[0]
    live_chart.status("train-status", _lines(snap, labels)["train-status"], fed=fed)  # the key: browser tests' handle
    if snap.state == "queued":
        st.warning(panels.queue_note(snap, worker))
    elif len(snap.runs) == 1 and view.status != "ok":
        st.error(plain(view.message))
    elif snap.message and snap.state != "training" and not any(v.message and v.message in snap.message
                                                                for v in snap.runs if v.status != "ok"):
        st.info(plain(snap.message))  # a divergence is said once, above the columns, with its run's name
