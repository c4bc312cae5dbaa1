"""Chart panels shared by pages: one run's charts, laid out with a caption under each. Streamlit only draws."""
from __future__ import annotations

import threading

import streamlit as st

from explorer import charts, style
from explorer.config import LIMITS
from explorer.ui import lecture, live_chart
from explorer.ui.worker import RunView, Snapshot, Worker

# While a run trains at the normal pace, the Train page's and the Compare race's charts come from the live
# feed (explorer/ui/feed.py), with no rerun per frame; the fragment around them follows every FOLLOW_S for
# the rest (status line, progress, the end). Learn's charts and Compare's sweep still rerun their fragment
# every LIVE_REFRESH_S: their charts cost 2 ms and 0.3 ms of Python to build. (At 0.1 s, when the Train page
# still reran per frame and before heatmaps were recoloured in place, the browser fell behind: 40% faded
# frames, Pause 3.1 s.) While the feed also rewrites the Train page's status lines, its fragment follows only
# every FED_FOLLOW_S, in case the element's word that the run stopped is lost: a rerun cost the browser about
# 45 ms of CPU and the server 10 ms.
LIVE_REFRESH_S = 0.2
FOLLOW_S = 1.0
FED_FOLLOW_S = 5.0


def chart(fig, name: str, key: str) -> None:
    """One chart and the caption that says what to look for, drawn in the browser by plotly.js (PNG button included)."""
    live_chart.show([(fig if isinstance(fig, dict) else fig.to_plotly_json(), name)], key, columns=1)


def scale() -> float:
    return style.LECTURE_SCALE if lecture.on() else 1.0


def watch(worker: Worker, was_training: bool) -> Snapshot:
    """A live view's look at its worker: keeps the worker alive and, once the training the view was
    timed for has ended, reruns the whole page so it redraws once more without the timer."""
    worker.touch()
    snap = worker.snapshot
    if was_training and snap.state not in ("training", "queued"):
        st.rerun()
    return snap


def queue_note(snap: Snapshot, worker: Worker) -> str:
    """The queued visitor's message with their place in the queue now."""
    place = worker.queue_place
    return f"{snap.message} You are number {place} in the queue." if place else snap.message


def status_line(view: RunView, steps_per_s: float | None = None) -> live_chart.Line:
    """One run's status: its step (bold), its last loss and metric, and its speed while it trains."""
    h = view.history
    parts = []
    if len(h):
        parts.append(f"loss {h.loss[-1]:.4g}")
        parts.append(f"{h.metric_name} {h.metric[-1]:.3g} (chance {h.chance:.3g})")
    if steps_per_s:
        parts.append(f"{steps_per_s:.0f} steps/s")
    return [(f"step {view.step}", "b")] + [(" · " + part, "") for part in parts]


def live_figures(view: RunView, *, example: int = 0, layer: int = 0, names: tuple[str, ...] | None = None,
                 scale: float = 1.0, steps_to: int | None = None,
                 only: frozenset[str] | None = None) -> list[tuple[dict, str]]:
    """One run's live charts as (figure dict, caption name): training curves, then inside the model on the probe batch.

    `names`: the charts to draw, in order, even those this architecture lacks (they say so): side-by-side
    columns then show the same chart in every row. `scale`: the page's (`scale()`, read in its script run:
    a live feed builds frames outside it). `steps_to`: the steps the run is to take, when a lesson sets them
    (`budget()`): the training-step axes span them from the start and hold still. `only`: of those, the ones to
    build (the charts in the browser's view, explorer/ui/feed.py); None: all."""
    s = scale
    trace, history = view.trace, view.history
    builders = {
        "loss_chart": lambda: charts.loss_chart(history, scale=s, steps_to=steps_to),
        "param_grad_chart": lambda: charts.param_grad_chart(history, scale=s, steps_to=steps_to),
        "grad_norm_chart": lambda: charts.grad_norm_chart(trace, initial=view.initial, scale=s),
        "gradient_flow_heatmap": lambda: charts.gradient_flow_heatmap(history, layer=layer, trace=trace, scale=s,
                                                                      steps_to=steps_to),
        "hidden_state_heatmap": lambda: charts.hidden_state_heatmap(trace, layer=layer, example=example, scale=s),
        "attention_heatmaps": lambda: charts.attention_heatmaps(trace, layer=layer, example=example, scale=s),
        "gate_heatmaps": lambda: charts.gate_heatmaps(trace, layer=layer, example=example, scale=s),
        "cell_state_heatmap": lambda: charts.cell_state_heatmap(trace, layer=layer, example=example, scale=s),
        "prediction_chart": lambda: charts.prediction_chart(trace, example=example, scale=s),
        "alignment_chart": lambda: charts.alignment_chart(trace, example=example, scale=s),
    }
    # explicit, rounded axis ranges: the next frame usually keeps the layout and the browser redraws less
    return [(charts.steady_axes(builders[name]()), name) for name in names or chart_names(view)
            if only is None or name in only]


def budget(worker: Worker) -> int | None:
    """The steps each of the worker's runs is to take when a lesson or race set them (its step axes end
    there); None for a plain run, which may train on to the server's cap."""
    return worker.budget if worker.budget < LIMITS.max_steps_per_run else None


LIVE_CHARTS = ("loss_chart", "alignment_chart", "param_grad_chart", "grad_norm_chart", "gradient_flow_heatmap",
               "hidden_state_heatmap", "attention_heatmaps", "gate_heatmaps", "cell_state_heatmap",
               "prediction_chart")  # page order


HISTORY_CHARTS = frozenset({"loss_chart", "param_grad_chart", "loss_compare_chart"})  # drawn from the history alone


def traced(only: frozenset[str] | None) -> bool:
    """Whether the charts in a browser's view (None: all) need the run's trace: every chart but the training
    curves of HISTORY_CHARTS looks inside the model. While none in view does, the training process traces about
    once a second instead of at the publish rate (a trace costs the default LSTM about 5% of its time)."""
    return only is None or not only <= HISTORY_CHARTS


def chart_names(view: RunView) -> tuple[str, ...]:
    """The live charts that show something for this run's architecture, in page order."""
    trace = view.trace
    lacks = {"attention_heatmaps": trace.arch != "transformer", "gate_heatmaps": not trace.gates,
             "cell_state_heatmap": trace.cell is None, "alignment_chart": trace.decoded is None}
    return tuple(name for name in LIVE_CHARTS if not lacks.get(name, False))


def side_by_side(views, *, example: int = 0, layer: int = 0, scale: float = 1.0, steps_to: int | None = None,
                 only: frozenset[str] | None = None) -> list[list[tuple[dict, str]]]:
    """The live charts of several runs, one list per run: the same charts in the same order (a chart one
    architecture lacks says so), each on one scale across the runs (axes, colours, height), so the
    columns compare at a glance. `only`: the charts to build (live_figures)."""
    names = tuple(name for name in LIVE_CHARTS if any(name in chart_names(view) for view in views))
    columns = [live_figures(view, example=example, layer=layer, names=names, scale=scale, steps_to=steps_to, only=only)
               for view in views]
    for row in zip(*columns):
        charts.share_scales([fig for fig, _ in row])
    return columns


def per_snapshot(build):
    """`build(snapshot, only)` remembered for the newest snapshot and view: side-by-side columns, each fed on its
    own, build their shared figures once a frame. The columns' feeds wake on the same new snapshot at once, in
    two threads: the second waits for the first's build (without the lock, measured on the preset, every
    snapshot was built twice)."""
    last = {"frame": (None, None)}  # ((version, only), result), replaced whole
    lock = threading.Lock()

    def cached(snap: Snapshot, only: frozenset[str] | None = None):
        built, result = last["frame"]
        if built == (snap.version, only):
            return result
        with lock:
            built, result = last["frame"]
            if built != (snap.version, only):
                result = build(snap, only)
                last["frame"] = ((snap.version, only), result)
            return result
    return cached


def focus_first(figures: list[tuple[dict, str]], focus: str | None) -> list[tuple[dict, str]]:
    """The chart named `focus` moved to the front (the lesson's chart, first on a projector screen)."""
    return sorted(figures, key=lambda pair: pair[1] != focus) if focus else figures
