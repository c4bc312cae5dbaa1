"""Below the Train page's charts, for the real-data tasks: the held-out check against the naive forecast
(ecg, stocks, csv) and Generate for music. Both compute in a pool process from a copy of the run."""
from __future__ import annotations

import streamlit as st

from explorer import charts, data_checks
from explorer.tasks.music import notes, readable, to_abc
from explorer.ui import jobs, session
from explorer.ui.plain import plain
from explorer.ui.worker import Worker

FORECAST_TASKS = ("csv", "ecg", "stocks")
STOCK_VERDICTS = {
    "ties": "A tie, as expected: this month's return says next to nothing about next month's.",
    "loses": "Worse than the naive forecast: the model learned patterns of the training months that did not "
             "hold later. That is fitting noise; a smaller model, a lower learning rate or fewer steps ties instead.",
    "beats": "Better than the naive forecast on these few held-out months (about 24 per stock): with so few, "
             "that can be luck. Try other seeds before believing it.",
}


def draw(worker: Worker) -> None:
    task = worker.runs[0].config.task
    if len(worker.runs) != 1 or task not in FORECAST_TASKS + ("music",):
        return
    if task == "music":
        _music(worker)
    else:
        _forecast(worker, task)


def _job(worker: Worker, what: str, *args):
    with worker.models() as runs:
        state = runs[0].to_bytes()
    try:
        return jobs.run(data_checks.checked, state, what, *args, should_stop=session.page_closed())
    except jobs.JobError as error:
        st.error(plain(str(error)))
        return None


def _forecast(worker: Worker, task: str) -> None:
    st.subheader("Against the naive forecast")
    if task == "stocks":
        st.markdown("Past prices do not predict future ones: if they did, traders would already have used it. "
                    "The naive forecast, *next month's price = this month's* (a log return of 0), is the bar, and "
                    "**a tie with it is the honest result**. A model that seems to beat it on training months has "
                    "fitted noise; the held-out months (2008-2010) tell.")
    if st.button("Check on held-out data", key="task-check-button",
                 help="Held-out MSE of this run against the naive forecast."):
        result = _job(worker, "forecast")
        if result is not None:
            session.this().task_check = (worker.runs[0].step, task, result)
    shown = session.this().task_check
    if not shown or shown[1] != task:
        return
    step, _, result = shown
    text = f"At step {step}: {result['sentence']}"
    (st.success if result["verdict"] == "beats" else st.info if result["verdict"] == "ties" else st.warning)(text)
    if task == "stocks":
        st.markdown(STOCK_VERDICTS[result["verdict"]])
    if "abnormal" in result:
        ratio = result["abnormal"] / max(result["normal"], 1e-12)
        st.markdown(f"On the held-out beats the squared error is {result['normal']:.3g} on normal steps and "
                    f"{result['abnormal']:.3g} on the stretch marked abnormal ({ratio:.1f}x): "
                    + ("the model is surprised where the heart beats abnormally, which is how a forecaster "
                       "flags an anomaly." if ratio > 2 else "not yet a clear jump: train longer."))


def _music(worker: Worker) -> None:
    st.subheader("Generate a tune")
    cols = st.columns([2, 2, 5])
    temperature = cols[0].select_slider("Temperature", [0.5, 0.75, 1.0, 1.25, 1.5], value=1.0, key="tune-temperature",
                                        help="Below 1 the model keeps to its likeliest notes; above 1 it takes chances.")
    seed = int(cols[1].number_input("Sample seed", 0, 10_000, 0, key="tune-seed"))
    if st.button("Generate", key="generate-button",
                 help="Sample a new tune from the model as it is now."):
        tokens = _job(worker, "tune", data_checks.TUNE_STEPS, float(temperature), seed)
        if tokens is not None:
            session.this().tune = (worker.runs[0].step, tokens)
    shown = session.this().tune
    if not shown:
        st.caption("Press Generate (while it trains too): the model writes a tune one eighth note at a time, each step "
                   "sampled from what it predicts next. Nothing is played: the notes and ABC text are shown.")
        return
    step, tokens = shown
    melody = notes(tokens)
    title = f"Generated tune (step {step})"
    st.plotly_chart(charts.melody_chart(melody, title=title).figure(), key="tune-chart")
    st.caption(charts.CAPTIONS["melody_chart"])
    names = " ".join(("rest" if p is None else readable(str(p))) + ("" if n == 1 else f"×{n}") for p, n in melody)
    st.markdown(f"**Notes** (length in eighths after ×): {names}")
    st.markdown("**ABC** (paste into any ABC player, e.g. abcjs's editor, to hear it):")
    st.code(to_abc(tokens, title), language=None)
