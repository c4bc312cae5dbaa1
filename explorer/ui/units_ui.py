"""Inspect's "Units" section: the sequence coloured by one unit, and Find units (explorer/units.py, run in a pool
process). Streamlit only draws here; the numbers come from explorer.units, the figures from explorer.charts."""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import charts, style
from explorer.charts.units import GUESS_WIDTH
from explorer import units as found_units
from explorer.inspection import Inspection
from explorer.ui import jobs, panels, session, state
from explorer.ui.worker import Worker

STATE, UNIT, DIRECTION = "units_state", "units_unit", "units_direction"
STATE_NAMES = {"h": "h_t (hidden state)", "c": "c_t (cell state, coloured by tanh c_t)"}


def render(worker: Worker, index: int, insp: Inspection, layer: int) -> None:
    st.subheader("Units")
    tr = insp.trace
    L, D, _, T, H = tr.shape
    has_cell = tr.cell is not None
    st.caption("Colour the sequence by one unit (Karpathy, Johnson & Fei-Fei 2015, \"Visualizing and Understanding "
               "Recurrent Networks\", section 4.2 and Figure 3), or let Find units rank every unit by how well it "
               "tracks a feature of the input computed in code.")
    for key, size in ((UNIT, H), (DIRECTION, D)):  # a new run may be smaller
        if (state.widget(key) or 0) >= size:
            state.set_widget(key, 0)
    if not has_cell and state.widget(STATE) == "c":
        state.set_widget(STATE, "h")
    cols = st.columns([2, 1, 1])
    which = cols[0].selectbox("State", ["h", "c"] if has_cell else ["h"], key=STATE, format_func=STATE_NAMES.get)
    unit = int(cols[1].number_input("Unit", 0, H - 1, key=UNIT, step=1))
    d = int(cols[2].selectbox("Direction", range(D), key=DIRECTION, format_func=style.DIRECTION_NAMES.__getitem__,
                              disabled=D == 1))
    values = (tr.hidden if which == "h" else np.tanh(tr.cell))[layer, d, 0, :, unit]  # (T,)
    where = (f", layer {layer}" if L > 1 else "") + (f", {style.DIRECTION_NAMES[d]}" if D > 1 else "")
    name = "tanh c_t" if which == "c" else "h_t"
    panels.chart(charts.unit_text(tr.tokens[0], values, f"The sequence coloured by {name} unit {unit}{where}",
                                  label=name, scale=panels.scale()), "unit_text", key="inspect-unit-text")
    _finder(worker, index, insp)


def next_guesses(insp: Inspection, t: int) -> None:
    """The top next-character guesses under the characters around step t (next-character tasks only)."""
    tr = insp.trace
    if not insp.run.task.writes_text:
        return
    width = GUESS_WIDTH
    start = max(0, min(t - width // 2, insp.T - width))
    panels.chart(charts.next_guesses(tr.tokens[0], charts.softmax(tr.predictions[0]), tr.classes, start=start,
                                     width=width, mark=t, scale=panels.scale()), "next_guesses", key="inspect-guesses")


def _finder(worker: Worker, index: int, insp: Inspection) -> None:
    task = insp.run.config.task
    if task not in found_units.FINDER_TASKS:
        st.caption(f"Find units knows features of the text task and of the memory tasks recall, adding and copy; "
                   f"not of *{insp.run.task.title}*.")
        return
    run = worker.runs[index]
    key = (id(worker), index, run.step)
    where = "held-out text" if task == "text" else "256 fresh sequences"
    if st.button("Find units", key="units-find",
                 help=f"Rank every h_t and c_t unit by its correlation with each feature, on {where}."):
        with worker.models() as runs:
            saved = runs[index].to_bytes()
        with st.spinner("Looking for units…"):
            try:
                session.this().units_report = (key, jobs.run(found_units.look_for_units, saved, should_stop=session.page_closed()))
            except jobs.JobError as error:
                session.this().units_report = (key, str(error))
    last = session.this().units_report
    if last is None or last[0][:2] != key[:2]:
        return
    report = last[1]
    if isinstance(report, str):
        st.warning(report)
        return
    if last[0] != key:
        st.caption(f"Found on the weights from step {report.step}; the run is at step {run.step} now: press "
                   "Find units again for the newest weights.")
    _report(report)


def _report(report: found_units.UnitReport) -> None:
    L, D = report.shape
    rows = {"feature": [], "best unit": [], "r": [], "untrained, best |r|": [], "next best": [], "steps measured": []}
    for feature, best in report.best.items():
        top = best[0]
        rows["feature"].append(feature)
        rows["best unit"].append(top.label(L, D))
        rows["r"].append(f"{top.r:+.3f}")
        rows["untrained, best |r|"].append(f"{report.at_init[feature]:.3f}")
        rows["next best"].append(", ".join(f"{u.label(L, D)} ({u.r:+.2f})" for u in best[1:]))
        rows["steps measured"].append(f"{report.steps_used[feature]:,}")
    where = ("every character of the held-out text (the last 10%, never trained on), read in windows of "
             "seq_len as in training" if report.task == "text" else "fresh sequences")
    st.markdown(f"**Units found** on the weights from step {report.step}: Pearson r of each unit with each "
                f"feature over {where}; r near ±1 means the unit tracks the feature.")
    st.dataframe(rows, hide_index=True, key="units-table")
    st.caption("Untrained, best |r|: the same search on this run's initial weights. A feature of the current input "
               "(a vowel, a space) shows in the units of any network that reads it; a correlation well above the "
               "untrained one is what training taught.")
    for note in report.missing:
        st.caption(f"Not measured: {note}.")
    if not report.tokens:
        return
    feature = st.selectbox("Colour the held-out text by the unit found for", list(report.shown), key="units-feature")
    top = report.best[feature][0]
    name = "tanh c_t" if top.state == "c" else "h_t"
    values = np.tanh(report.shown[feature]) if top.state == "c" else report.shown[feature]
    panels.chart(charts.unit_text(report.tokens, values, f"Held-out text coloured by {top.label(L, D)}, the best "
                                  f"unit for {feature} (r = {top.r:+.2f})", label=name, scale=panels.scale()),
                 "unit_text", key="inspect-unit-found")
