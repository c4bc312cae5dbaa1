"""History lines are drawn from at most about DRAWN_POINTS real points (explorer.charts._common.thin): the
extremes of every run of the series, its gaps, its first and newest point."""
import numpy as np

from explorer.charts._common import DRAWN_POINTS, thin, thinned
from explorer.charts.training import loss_chart, param_grad_chart
from explorer.history import History


def _noisy(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.exp(-np.arange(n) / 400) + rng.normal(0, 0.05, n) ** 2


def test_a_short_series_is_drawn_whole():
    assert thin(np.arange(DRAWN_POINTS, dtype=float)) is None


def test_a_long_series_keeps_every_runs_extremes_and_both_ends():
    values = _noisy(1999)
    keep = thin(values)
    assert len(keep) <= DRAWN_POINTS + 2 and len(keep) < len(values) / 2
    assert np.all(np.diff(keep) > 0)  # in step order, no point twice
    assert keep[0] == 0 and keep[-1] == len(values) - 1
    assert values[keep].max() == values.max() and values[keep].min() == values.min()
    # every window of the series as wide as a run holds a kept point: no stretch is dropped
    size = -(-len(values) // (DRAWN_POINTS // 2))
    assert np.diff(keep).max() < 2 * size
    spike = values.copy()
    spike[1234] = 50.0  # one exploding step stays visible
    assert 1234 in thin(spike)


def test_a_divergence_still_breaks_the_line():
    values = _noisy(1500)
    values[900:] = np.nan
    keep = thin(values)
    assert np.isnan(values[keep]).any() and 900 in keep
    assert np.isfinite(values[keep[keep < 900]]).all()


def test_thinned_takes_the_same_points_of_every_array():
    values = _noisy(1500)
    steps = np.arange(1, 1501)
    x, y = thinned(values, steps, values)
    assert np.array_equal(y, values[x - 1])


def test_the_live_history_charts_send_thinned_lines():
    history = History()
    for step, loss in enumerate(_noisy(1800), start=1):
        history.record(step, float(loss), 0.5, float(loss) * 3, step * 0.01)
    for fig in (loss_chart(history), param_grad_chart(history)):
        for trace in fig["data"]:
            if len(trace.get("x", ())) > 2:  # a line, not a chance or clip mark
                assert len(trace["x"]) <= DRAWN_POINTS + 2
                assert trace["x"][-1] == 1800  # the newest step is drawn


def test_a_lessons_step_axes_span_its_budget_from_the_start():
    """With the steps a lesson's runs are to take, the step axes end there from the first frames on (they hold
    still, so the browser moves the lines in place); past the budget, or without one, they follow the run."""
    from explorer.charts.gradients import gradient_flow_heatmap

    history = History()
    for step, loss in enumerate(_noisy(300), start=1):
        history.record(step, float(loss), 0.5, float(loss) * 3, step * 0.01)
        if step % 30 == 0:
            history.record_profile(step, np.full((1, 1, 20), 1e-3))
    for build in (loss_chart, param_grad_chart):
        assert build(history, steps_to=1_250)["layout"]["xaxis"]["range"] == [0.0, 1250.0]
        assert build(history)["layout"]["xaxis"]["range"][1] < 1250  # a plain run: the next grid point
        assert build(history, steps_to=200)["layout"]["xaxis"]["range"][1] >= 300  # trained past it
    from explorer.charts.training import loss_compare_chart

    race = loss_compare_chart({"lstm": history, "gru": History()}, steps_to=1_250)  # one run has no steps yet
    assert race["layout"]["xaxis"]["range"] == [0.0, 1250.0]
    rows = gradient_flow_heatmap(history, steps_to=1_250)["data"][0]["y"]
    assert rows[-1] == 1250.0 and gradient_flow_heatmap(history)["data"][0]["y"][-1] < 1250
