"""The Train page: controls outside, a live view fragment inside that redraws from the worker's snapshots."""
from __future__ import annotations

import streamlit as st

from explorer.ui import files, lecture, panels, presets_ui, session, state
from explorer.ui.plain import plain
from explorer.ui.worker import Snapshot, Worker

# While training, three fragments redraw at their own pace: chart building holds the GIL, and
# the training thread shares it, so the costly charts redraw least often.
STATUS_REFRESH_S = 0.4  # the status line: step, loss, steps/s
CURVES_REFRESH_S = 1.2  # Loss and Parameter gradients
INTERNALS_REFRESH_S = 3.0  # the look inside on the probe batch


def render() -> None:
    config = state.config()
    preset = presets_ui.active(config)
    configs, budget = (preset.configs, preset.steps) if preset else ((config,), None)
    worker = session.worker_for(configs, budget)
    st.title(preset.title if preset else "Train")
    if preset:
        st.markdown(preset.narration)
    worker = _controls(worker)
    if state.pop(state.AUTOSTART):
        worker.start()
    if preset:
        presets_ui.verdict(preset, worker)
    example, layer = (0, 0) if lecture.on() else _view_options(worker)
    training = worker.training
    st.fragment(run_every=STATUS_REFRESH_S if training else None)(_live_status)(worker, training)
    st.fragment(run_every=CURVES_REFRESH_S if training else None)(_live_curves)(worker)
    st.fragment(run_every=INTERNALS_REFRESH_S if training else None)(_live_internals)(worker, example, layer)
    if not lecture.on():
        files.save_and_load(worker)


def _controls(worker: Worker) -> Worker:
    cols = st.columns([1, 1, 1, 1, 5])
    if cols[0].button("Train", key="train-button", type="primary", help="Start or resume training in the background."):
        worker.start()
    if cols[1].button("Pause", key="pause-button", help="Stop after the current step."):
        worker.pause()
    if cols[2].button("Step", key="step-button", help="One training step, then a fresh look inside."):
        worker.step()
    if cols[3].button("Reset", key="reset-button", help="New run from the same setup and seed: the same initial weights again."):
        worker = session.reset()
    return worker


def _view_options(worker: Worker) -> tuple[int, int]:
    run = worker.runs[0]
    cols = st.columns([2, 2, 5])
    example = cols[0].selectbox("Probe example", range(run.probe.shape[0]), key=state.EXAMPLE,
                                help="Which sequence of the fixed probe batch the state charts show.")
    layers = run.config.num_layers
    layer = cols[1].selectbox("Layer", range(layers), format_func=lambda k: f"layer {k}",
                              key="view_layer") if layers > 1 else 0
    return int(example), int(layer)


def _live_status(worker: Worker, was_training: bool) -> None:
    """The status line, redrawn often while training."""
    _status(panels.watch(worker, was_training))


def _live_curves(worker: Worker) -> None:
    """Loss and Parameter gradients over training steps."""
    _per_run(worker, worker.snapshot, lambda view, key, cols: panels.training_charts(view, key, columns=cols), header=True)


def _live_internals(worker: Worker, example: int, layer: int) -> None:
    """The look inside (on the probe batch): heavier charts, redrawn less often."""
    snap = worker.snapshot
    _per_run(worker, snap, lambda view, key, cols: panels.internals_charts(view, key, example=example, layer=layer, columns=cols))


def _per_run(worker: Worker, snap: Snapshot, draw, header: bool = False) -> None:
    if len(snap.runs) == 1:
        draw(snap.runs[0], "run0", 2)
        return
    for index, (col, view) in enumerate(zip(st.columns(len(snap.runs)), snap.runs)):
        with col:
            if header:
                st.markdown(f"**{presets_ui.label(worker.runs, index)}** · " + panels.status_line(view))
                if view.status != "ok":
                    st.error(plain(view.message))  # a loaded run's message comes from its file
            draw(view, f"run{index}", 1)


def _status(snap: Snapshot) -> None:
    view = snap.runs[0]
    line = panels.status_line(view, snap.steps_per_s if snap.state == "training" else None)
    rate = f" · {snap.steps_per_s:.0f} steps/s" if snap.state == "training" else ""
    text = f"{line} · *{snap.state}*" if len(snap.runs) == 1 else f"*{snap.state}*{rate}"
    st.container(key="train-status").markdown(text)  # the key gives browser tests a stable handle
    if snap.state == "busy":
        st.warning(snap.message)
    elif len(snap.runs) == 1 and view.status != "ok":
        st.error(plain(view.message))
    elif snap.message and snap.state != "training":
        st.info(plain(snap.message))
