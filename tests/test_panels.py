"""Panels: the side-by-side figures of a snapshot are built once however many feeds ask (per_snapshot), which charts need
the trace, and a status line as markdown."""
from __future__ import annotations

import dataclasses
import threading
import time

from explorer.ui import panels


class Snap:
    def __init__(self, version):
        self.version = version


def test_feeds_asking_at_once_share_one_build():
    calls, started = [], threading.Event()

    def build(snap, only):
        calls.append(snap.version)
        started.set()
        time.sleep(0.2)  # a build long enough for the other feed to ask meanwhile
        return f"figures of {snap.version}"

    shared = panels.per_snapshot(build)
    results = []
    first = threading.Thread(target=lambda: results.append(shared(Snap(1))))
    first.start()
    started.wait(5)
    second = threading.Thread(target=lambda: results.append(shared(Snap(1))))  # the other column's feed
    second.start()
    first.join(5)
    second.join(5)
    assert results == ["figures of 1"] * 2 and calls == [1]
    assert shared(Snap(2)) == "figures of 2" and calls == [1, 2]
    assert shared(Snap(2), frozenset({"loss_chart"})) == "figures of 2" and calls == [1, 2, 2]  # another view: built


def test_only_the_training_curves_go_without_the_trace():
    from explorer import Run, RunConfig
    from explorer.ui.worker import Worker
    from explorer.ui.pool import TrainerPool

    assert not panels.traced(frozenset({"loss_chart", "param_grad_chart"}))
    assert not panels.traced(frozenset())  # every chart scrolled away
    assert panels.traced(frozenset({"loss_chart", "hidden_state_heatmap"}))
    assert panels.traced(None)  # a page drawn whole
    view = Worker([Run(RunConfig(arch="lstm", seq_len=10, hidden_size=8, batch_size=8))], pool=TrainerPool(1)).snapshot.runs[0]
    curves = tuple(name for name in panels.LIVE_CHARTS if name in panels.HISTORY_CHARTS)
    untraced = dataclasses.replace(view, trace=None, initial=None)
    assert [name for _, name in panels.live_figures(untraced, names=curves)] == ["loss_chart", "param_grad_chart"]
    # every other chart reads the trace; the gradient flow reads the history's gradient profiles, which only a
    # trace records (Run.trace)
    for name in set(panels.LIVE_CHARTS) - panels.HISTORY_CHARTS - {"gradient_flow_heatmap"}:
        try:
            panels.live_figures(untraced, names=(name,))
        except AttributeError:
            continue
        raise AssertionError(f"{name} was drawn without a trace: it belongs in HISTORY_CHARTS")


def test_a_status_line_as_markdown_styles_its_pieces_and_leaves_the_bar_to_the_element():
    from explorer.ui import live_chart

    line = [("Race: 12 of 40 training steps · ", ""), ("training", "i"), ("step 3", "b"), ("0.3000", "%")]
    assert live_chart.markdown(line) == "Race: 12 of 40 training steps · *training***step 3**"
