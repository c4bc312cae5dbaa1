"""The Inspect page: one sequence through the session's run, one time step at a time.

Streamlit only draws here; the numbers come from explorer.inspection and the figures from explorer.charts.
Controls sit outside the step view; the step view is a fragment that a timer reruns while playing.
"""
from __future__ import annotations

import time

import numpy as np
import streamlit as st

from explorer import cells, charts, style
from explorer import inspection as ins
from explorer.charts.equations import equations
from explorer.config import LIMITS, SCAN_ARCHS
from explorer.charts._common import state_range, symmetric_range
from explorer.tasks import IGNORE
from explorer.ui import jobs, panels, presets_ui, session, state, units_ui
from explorer.ui.worker import Worker

SOURCE = "inspect_source"  # which sequence: a probe example index, or OWN
TEXT = "inspect_text"  # the user's own sequence, as typed
STEP = "inspect_t"  # the time slider, t (T is the sequence length); Play and the look read it (session.Session)
SPEED = "inspect_speed"
UNIT, LAYER, DIMS, RUN = "inspect_unit", "inspect_layer", "inspect_dims", "inspect_run"
OWN = "own"
SPEEDS = (0.5, 1, 2, 4, 8)  # time steps per second while playing
MIN_TICK_S = 0.25  # the timer never fires faster; higher speeds move several steps per frame
TABLE_MAX_UNITS = 8  # print the step's numbers as a table up to this hidden size
MAX_CHARS = 16 * LIMITS.max_seq_len  # room for the longest sequence in any task's notation, and no more
BLOCK_NAMES = {"rnn": "all of W_hh", "lstm": "W_hg, the cell candidate g's block of W_hh",
               "gru": "W_hn, the new gate n's block of W_hh (scaled by r inside n_t)"}


def render() -> None:
    st.title("Inspect")
    st.caption("One sequence through the current model, one time step at a time: the gates and states at "
               "step t, the equations with their numbers, where h_t travels, and which inputs the output at t uses.")
    worker = _worker()
    worker.touch()
    index = _pick_run(worker)
    x, y, source = _sequence_ui(worker.runs[index])
    insp = _inspection(worker, index, x, y, source)
    layer, unit, dims = _controls(insp)
    playing = session.this().playback.playing
    speed = float(state.widget(SPEED, 2))
    tick = max(1.0 / speed, MIN_TICK_S)
    st.fragment(run_every=tick if playing else None)(_step_view)(insp, layer, unit, dims)
    units_ui.render(worker, index, insp, layer)
    _recurrent_weights(insp, layer)


def _worker() -> Worker:
    """The session's worker, the Train page's: both show one run."""
    return session.this().train_worker()


def _pick_run(worker: Worker) -> int:
    if len(worker.runs) == 1:
        return 0
    labels = [presets_ui.label(worker.runs, index) for index in range(len(worker.runs))]
    return int(st.selectbox("Run", range(len(labels)), format_func=labels.__getitem__, key=RUN))


def _sequence_ui(run):
    """-> (x (1, T, I), y, source key) of the chosen sequence; bad own input: a message and the last good one."""
    task = run.task
    tokens = task.tokens(run.probe)
    B = run.probe.shape[0]
    preview = {b: "".join(tokens[b][:24]) if all(len(s) <= 1 for s in tokens[b]) else " ".join(tokens[b][:8])
               for b in range(B)}
    cols = st.columns([1, 2])
    choice = cols[0].selectbox("Sequence", list(range(B)) + [OWN], key=SOURCE,
                               format_func=lambda c: "Your own sequence" if c == OWN else f"Probe example {c}: {preview[c]}…")
    if choice != OWN:
        return run.probe[choice:choice + 1], run.probe_targets[choice:choice + 1], ("probe", choice)
    text = cols[1].text_input(f"Your own sequence ({task.title})", key=TEXT, placeholder=task.input_hint,
                              help=f"{task.title} accepts {task.input_hint}", max_chars=MAX_CHARS)
    if text.strip():
        try:
            x, y = task.encode(text)
            session.this().own_text = (task.name, text)
            return x, y, ("own", text)
        except ValueError as error:
            st.error(str(error))
    else:
        st.info(f"Type a sequence: {task.input_hint}.")
    last_task, previous = session.this().own_text or (None, None)
    if last_task == task.name:
        st.caption(f"Still showing your last accepted sequence: `{previous}`")
        x, y = task.encode(previous)
        return x, y, ("own", previous)
    st.caption("Showing probe example 0 until a sequence is accepted.")
    return run.probe[:1], run.probe_targets[:1], ("probe", 0)


def _inspection(worker: Worker, index: int, x, y, source) -> ins.Inspection:
    """The cached look at this sequence; new weights are picked up at once when idle, on request while training."""
    me = session.this()
    cached = me.cached_inspection(worker, index, source)
    run = worker.runs[index]
    stale = cached is not None and cached.step != run.step
    if stale and worker.training:
        cols = st.columns([4, 1])
        cols[0].info(f"Showing the weights from training step {cached.step}; the run is training on "
                     f"(step {run.step}).")
        if not cols[1].button("Use the latest weights", key="inspect-refresh"):
            return cached
    elif cached is not None and not stale:
        return cached
    with worker.models() as runs:
        saved = runs[index].to_bytes()  # under the lock; the look inside runs in a pool process
    should_stop = session.page_closed()
    with st.spinner("Looking inside…"):
        try:
            insp = jobs.run(ins.look, saved, x, y, should_stop=should_stop,
                            on_wait=lambda: st.toast("The server is busy: your Inspect view waits for a free slot."))
        except jobs.JobError as error:
            st.warning(str(error))
            st.stop()
    insp.row_source = lambda steps: jobs.run(ins.saliency_rows, saved, x, steps, should_stop=should_stop)
    me.keep_inspection(worker, index, source, insp)
    return insp


def _start() -> None:
    playback = session.this().playback
    if state.widget(STEP, 0) >= playback.last_t:
        state.set_widget(STEP, 0)  # at the end: play from the start
    playback.playing, playback.clock, playback.frames = True, None, []


def _stop() -> None:
    session.this().playback.playing = False


def play_position(t0: int, started: float, speed: float, now: float, last: int) -> int:
    """Where Play has got to: t moves on with the clock at `speed` steps a second, whatever the drawing
    costs (a slow frame skips steps rather than slowing the pace)."""
    return min(last, t0 + int((now - started) * speed + 1e-9))


def _played_t(speed: float, last: int) -> int:
    """t for this frame while playing; a changed speed or a moved slider restarts the clock from where t is."""
    now = time.monotonic()
    t = int(state.widget(STEP) or 0)
    playback = session.this().playback
    clock = playback.clock
    if clock is None or clock[2] != speed or clock[3] != t:
        clock = (t, now - 1.0 / speed, speed, t)  # the first frame after Play moves one step, as a tick did
    t = play_position(clock[0], clock[1], speed, now, last)
    playback.clock = clock[:3] + (t,)
    playback.frames = playback.frames[-9:] + [now]
    return t


def _pace_note(speed: float) -> None:
    """Say the pace achieved when the page draws fewer frames a second than the set speed."""
    frames = session.this().playback.frames
    if len(frames) < 4:
        return
    rate = (len(frames) - 1) / (frames[-1] - frames[0])
    if rate < 0.9 * min(speed, 1 / MIN_TICK_S):
        st.caption(f"Playing at {speed:g} steps a second by the clock; this machine draws {rate:.1f} frames a "
                   f"second here, so about {speed / rate:.1f} steps pass between frames.")


def _controls(insp: ins.Inspection) -> tuple[int, int, int]:
    L, D, _, Tn, H = insp.trace.shape
    session.this().playback.last_t = Tn - 1
    for key, size in ((UNIT, H), (LAYER, L), (STEP, Tn)):  # a new run or sequence may be smaller
        if (state.widget(key) or 0) >= size:
            state.set_widget(key, 0)
    arch = insp.trace.arch
    overflow = ~np.isfinite(insp.trace.hidden).all(axis=(0, 1, 2, 4))  # (T,)
    if overflow.any():
        st.warning(f"h_t is not finite from step {int(overflow.argmax())} on: the state overflowed (a relu RNN "
                   "has no bound). The charts leave those steps out.")
    step = f"training step {insp.step}" + (" (untrained: press Train on the Train page)" if insp.step == 0 else "")
    st.markdown(f"**{style.ARCH_LABELS[arch]}** on *{insp.run.task.title}* · weights from {step} · T = {Tn} steps")
    cols = st.columns([1, 1, 2, 1.3, 1.3, 1.3])
    cols[0].button("Play", key="inspect-play", type="primary", on_click=_start, width="stretch",
                   help="Step t forward from here to the end at the chosen speed.")
    cols[1].button("Stop", key="inspect-stop", on_click=_stop, width="stretch")
    if state.widget(SPEED) is None:
        state.set_widget(SPEED, 2)
    cols[2].select_slider("Speed (steps per second)", SPEEDS, key=SPEED)
    layer = cols[3].selectbox("Layer", range(L), key=LAYER, disabled=L == 1)
    unit = cols[4].selectbox("Unit (equations)", range(H), key=UNIT, disabled=arch == "transformer")
    dims = cols[5].radio("Trajectory", (2, 3), key=DIMS, format_func=lambda k: f"{k}D", horizontal=True)
    return int(layer or 0), int(unit or 0), int(dims or 2)


def _step_view(insp: ins.Inspection, layer: int, unit: int, dims: int) -> None:
    """Everything that depends on t. While playing, each timer tick moves t on before drawing."""
    last = insp.T - 1
    speed = float(state.widget(SPEED, 2))
    playback = session.this().playback
    if playback.playing:
        state.set_widget(STEP, _played_t(speed, last))
    t = int(st.slider("Time step t", 0, last, key=STEP) if last > 0 else 0)
    if playback.playing:
        _pace_note(speed)
    _step_header(insp, t)
    tr, s = insp.trace, panels.scale()
    D = tr.shape[1]
    if D == 1:
        left, right = st.columns([3, 2])
        with left:
            _strips(insp, layer, 0, t, s)
        with right:
            _trajectory(insp, layer, 0, t, dims, s)
        if tr.arch == "transformer":
            panels.chart(charts.attention_row(tr.attention[layer, :, 0, t], t, tr.tokens[0], layer=layer, scale=s),
                         "attention_row", key="inspect-attention")
        else:
            _equations(insp, layer, 0, t, unit)
    else:  # bidirectional: the two directions side by side, both at input step t
        for d, col in enumerate(st.columns(2)):
            with col:
                _strips(insp, layer, d, t, s)
        for d, tab in enumerate(st.tabs([f"Equations, {name}" for name in style.DIRECTION_NAMES])):
            with tab:
                _equations(insp, layer, d, t, unit)
        for d, col in enumerate(st.columns(2)):
            with col:
                _trajectory(insp, layer, d, t, dims, s)
    try:
        row = insp.saliency_row(t)
    except jobs.JobError as error:
        st.info(f"Saliency at t = {t}: {error}")
    else:
        panels.chart(charts.saliency_strip(row, tr.tokens[0], t, scale=s), "saliency_strip", key="inspect-saliency")
    units_ui.next_guesses(insp, t)
    if playback.playing and t >= last:
        playback.playing = False
        st.rerun()  # the end: redraw the page once, without the timer


def _step_header(insp: ins.Inspection, t: int) -> None:
    tr = insp.trace
    token = tr.tokens[0][t] if tr.tokens else ""
    parts = [f"**t = {t}**", f"input x_t = `{token or '∅'}`"]
    if tr.kind == "classify":
        probs = charts.softmax(tr.predictions[0, t])
        k = int(probs.argmax())
        names = tr.classes if len(tr.classes) == len(probs) else [str(c) for c in range(len(probs))]
        target = int(tr.targets[0, t])
        parts.append(f"prediction **{names[k]}** (p = {probs[k]:.2f})")
        parts.append("not scored here" if target == IGNORE else
                     f"target {names[target]} " + ("✓" if target == k else "✗"))
    else:
        parts.append("prediction " + ", ".join(f"{v:.3f}" for v in tr.predictions[0, t]))
        target = tr.targets[0, t]
        parts.append("not scored here" if np.isnan(target).any() else "target " + ", ".join(f"{v:.3f}" for v in target))
    st.markdown(" · ".join(parts))


def _strips(insp: ins.Inspection, layer: int, d: int, t: int, s: float) -> None:
    tr = insp.trace
    D = tr.shape[1]
    values = insp.values(layer, d)
    names = list(cells.gates(tr.arch)) + (["c_t"] if "c" in values else []) + ["h_t"]
    source = {"c_t": "c", "h_t": "h"}
    rows = [(n, values[source.get(n, n)][t]) for n in names]
    ranges = {"h_t": state_range(tr.hidden[layer], tr.arch)}
    if tr.cell is not None:
        ranges["c_t"] = symmetric_range(tr.cell[layer], at_least=1.0)
    where = ([f"layer {layer}"] if tr.shape[0] > 1 else []) + ([style.DIRECTION_NAMES[d]] if D == 2 else [])
    what = ("Gates, c_t, h_t" if tr.arch == "lstm" else "Gates and h_t" if tr.gates else
            "Hidden state (block output)" if tr.arch == "transformer" else "Hidden state h_t")
    title = f"{what} at t={t}" + (f" ({', '.join(where)})" if where else "")
    panels.chart(charts.step_strips(rows, title, ranges=ranges, scale=s), "step_strips", key=f"inspect-strips-{d}")
    if values["h"].shape[1] <= TABLE_MAX_UNITS:
        st.table({name: [f"{v:.4f}" for v in vals] for name, vals in rows})


def _equations(insp: ins.Inspection, layer: int, d: int, t: int, unit: int) -> None:
    run = insp.run
    lines = equations(run.config.arch, insp.terms(layer, d), insp.values(layer, d), t, unit,
                          run.config.nonlinearity)
    previous = "h_{t+1}" if d else "h_{t-1}"
    where = f" ({style.DIRECTION_NAMES[d]}: the previous state is {previous})" if insp.trace.shape[1] == 2 else ""
    st.markdown(f"**The equations for unit {unit} at t = {t}**{where}")
    for line in lines:
        st.latex(line.replace("h_{t-1}", previous).replace("c_{t-1}", "c_{t+1}") if d else line)


def _trajectory(insp: ins.Inspection, layer: int, d: int, t: int, dims: int, s: float) -> None:
    points, explained = insp.pca(layer, d, dims)
    share = "%" if dims == 3 else "% of variance"  # 3D axis titles must stay short to fit
    labels = [f"PC {k + 1} ({100 * e:.0f}{share})" for k, e in enumerate(explained)]
    fig = charts.hidden_trajectory(points, t, axis_labels=labels, scale=s).figure()  # plotly's update_traces
    fig.update_traces(cliponaxis=False, selector=dict(type="scatter", mode="markers+text"))  # "t=..." may sit at the edge
    if dims == 3:  # a camera further back keeps the cube and its axis titles inside a half-width column
        fig.update_layout(scene_camera=dict(eye=dict(x=1.9, y=1.9, z=1.3)), margin=dict(l=10, r=10))
    if insp.trace.shape[1] == 2:
        fig.update_layout(title_text=f"{fig.layout.title.text}, {style.DIRECTION_NAMES[d]}")
    panels.chart(fig, "hidden_trajectory", key=f"inspect-trajectory-{d}")


def _recurrent_weights(insp: ins.Inspection, layer: int) -> None:
    st.subheader("Recurrent weights")
    arch = insp.trace.arch
    if arch == "transformer":
        st.info("The Transformer has no recurrent weights W_hh: each step attends to the others directly, so no "
                "gradient has to pass through a long chain of steps.")
        return
    D, s = insp.trace.shape[1], panels.scale()
    if arch in SCAN_ARCHS:
        _scan_steps(insp, layer, s)
        return
    st.caption(f"Eigenvalues of {BLOCK_NAMES[arch]} (layer {layer}), and the norm of each step's Jacobian "
               "on this sequence. A product of these norms bounds how much the gradient can shrink or grow "
               "between two steps: compare the Gradient norm over time chart on the Train page.")
    cols = st.columns(2) if s == 1 else [st.container(), st.container()]  # a projector: one chart per row
    for d in range(D):
        eigvals, radius = insp.eigenvalues(layer, d)
        fig = charts.eigenvalue_chart(eigvals, radius, scale=s)
        if D == 2:
            fig.update_layout(title_text=f"{fig.layout.title.text}<br><sup>{style.DIRECTION_NAMES[d]}</sup>")
        with cols[d]:
            panels.chart(fig, "eigenvalue_chart", key=f"inspect-eig-{d}")
            st.markdown(f"Spectral radius **{radius:.3f}**" + (" > 1: some directions grow" if radius > 1 else ""))
    norms = np.stack([insp.jacobian_norms(layer, d) for d in range(D)])  # (D, T)
    bounds = np.stack([ins.product_bound(norms[d], d) for d in range(D)])
    with cols[1] if D == 1 else st.container():
        panels.chart(charts.step_jacobian_chart(norms, bounds=bounds, lstm=arch == "lstm", scale=s),
                     "step_jacobian_chart", key="inspect-jacobian")


def _scan_steps(insp: ins.Inspection, layer: int, s: float) -> None:
    """minGRU, minLSTM, SSM: no W_hh; dh_t/dh_{t-1} is diagonal, the share of h_{t-1} each step keeps."""
    kept = {"mingru": "1 - z_t", "minlstm": "f'_t", "ssm": "Ā_t = exp(Δ_t A)"}[insp.trace.arch]
    st.info(f"No recurrent weights W_hh: the gates read x_t only, so dh_t/dh_{{t-1}} = diag({kept}), a number "
            "per unit between 0 and 1. Its largest value is the step's Jacobian norm below; their product bounds "
            "the gradient through time, and it can never exceed 1: no explosion, and no vanishing where a unit keeps ≈ 1.")
    norms = insp.jacobian_norms(layer, 0)[None]  # (1, T)
    panels.chart(charts.step_jacobian_chart(norms, bounds=ins.product_bound(norms[0])[None], scale=s),
                 "step_jacobian_chart", key="inspect-jacobian")
