"""steady_axes: explicit, rounded ranges that hold every value and stay put while a live chart's data move a little."""
import json

import numpy as np
import pytest

from explorer import charts
from explorer.charts.shared import steady_axes


def line(y, x=None, log=False, **axis):
    x = np.arange(len(y)) if x is None else x
    return {"data": [{"type": "scatter", "x": x, "y": np.asarray(y, dtype=float)}],
            "layout": {"xaxis": dict(axis), "yaxis": {"type": "log"} if log else {}}}


@pytest.mark.parametrize("y, log", [([0.3, 0.9, 0.5], False), ([-4.0, -1.5], False), ([-2.0, 3.5, 0.1], False),
                                    ([120.0, 121.0], False), ([1e-12, 3e-3, 0.2], True), ([0.7, 0.7], True)])
def test_every_value_is_inside_the_range(y, log):
    layout = steady_axes(line(y, log=log))["layout"]
    low, high = layout["yaxis"]["range"]
    drawn = np.log10(y) if log else np.asarray(y)
    assert low <= drawn.min() and drawn.max() <= high and high > low
    assert layout["yaxis"]["autorange"] is False
    if log:  # ticks from the range, not from the data
        assert high - low >= 1 and layout["yaxis"]["tickvals"]


def test_a_series_that_moves_a_little_keeps_its_layout():
    # values inside the half decades [10^-1.5, 10^0]: 2% noise keeps every frame's layout the same
    rng = np.random.default_rng(0)
    base = np.geomspace(0.05, 0.9, 60)
    layouts = {json.dumps(steady_axes(line(base * (1 + 0.02 * rng.uniform(-1, 1, 60)), log=True))["layout"])
               for _ in range(20)}
    assert len(layouts) == 1
    assert steady_axes(line(base, log=True))["layout"]["yaxis"]["range"] == [-1.5, 0.0]
    assert steady_axes(line(base * 100, log=True))["layout"]["yaxis"]["range"] == [0.5, 2.0]  # outgrown: a new range


def test_explicit_reversed_and_category_axes_are_left_alone():
    fig = line([1.0, 2.0], range=[0, 10])
    assert steady_axes(fig)["layout"]["xaxis"]["range"] == [0, 10]
    fig = line([1.0, 2.0], x=["a", "b"])
    assert "range" not in steady_axes(fig)["layout"]["xaxis"]
    fig = line([1.0, 2.0], autorange="reversed")
    assert "range" not in steady_axes(fig)["layout"]["xaxis"]


def test_the_training_step_axis_rounds_up_so_a_growing_run_keeps_it():
    from explorer.config import RunConfig
    from explorer.run import Run

    run = Run(RunConfig(task="sine", hidden_size=8, seq_len=10, batch_size=8))
    run.train(100)
    ranges = []
    for _ in range(5):  # steps 110 to 150 on two axes: up to 120, then 150 (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k)
        run.train(10)
        ranges.append(charts.loss_chart(run.history)["layout"]["xaxis"]["range"])
    assert ranges == [[0.0, 120.0]] * 2 + [[0.0, 150.0]] * 3
