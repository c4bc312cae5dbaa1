"""Comparison charts draw what they are given: fixed title words, one line per run, log axes, zeros left out."""
from __future__ import annotations

import numpy as np
import pytest
import plotly.graph_objects as go

from explorer import charts, style
from explorer.charts.compare import LEGEND_ROW_PX
from explorer.records import Trace

pytestmark = pytest.mark.usefixtures("plotly_figures")  # builders make go.Figure here


def make_trace(arch: str, grad_norm: np.ndarray, step: int = 100) -> Trace:
    """A Trace with the documented shapes and the given gradient (T,) at the inputs and at layer 0 (numpy only)."""
    T, H, B = len(grad_norm), 3, 2
    shape = (1, 1, B, T, H)
    return Trace(arch=arch, task="recall", kind="classify", hidden=np.zeros(shape), cell=None, gates={},
                 grad_norm=np.asarray(grad_norm, dtype=float).reshape(1, 1, T), attention=None,
                 inputs=np.zeros((B, T, 1)), targets=np.full((B, T), -100), predictions=np.zeros((B, T, 4)),
                 loss=1.0, step=step, input_grad=np.array(grad_norm, dtype=float))


def decaying(T: int = 20, low: float = -8) -> np.ndarray:
    return 10.0 ** np.linspace(low, 0, T)


def test_grad_norm_compare_draws_init_and_end_of_each_run_in_its_colour():
    traces = {"RNN": make_trace("rnn", decaying()), "LSTM": make_trace("lstm", decaying(low=-1))}
    initial = {name: make_trace(t.arch, decaying(low=-10), step=0) for name, t in traces.items()}
    fig = charts.grad_norm_compare_chart(traces, initial)
    assert fig.layout.title.text.startswith("Gradient norm over time")
    assert fig.layout.title.text.endswith("(step 100)")
    assert [d.name for d in fig.data] == ["RNN at init", "RNN now", "LSTM at init", "LSTM now"]
    assert [d.line.dash for d in fig.data] == ["dash", "solid", "dash", "solid"]
    assert fig.data[0].line.color == fig.data[1].line.color == style.ARCH_COLOURS["rnn"]
    assert fig.data[2].line.color == style.ARCH_COLOURS["lstm"]
    assert fig.layout.yaxis.type == "log"
    np.testing.assert_allclose(fig.data[1].y, decaying())


def test_grad_norm_compare_leaves_exact_zeros_out_and_says_so():
    g = np.zeros(10)
    g[-1] = 0.5  # a transformer's last block: only the scored step gets a gradient
    fig = charts.grad_norm_compare_chart({"Transformer": make_trace("transformer", g), "GRU": make_trace("gru", decaying(10))})
    transformer = fig.data[0]
    assert np.isnan(transformer.y[:-1]).all() and transformer.y[-1] == 0.5  # NaN: a gap
    assert transformer.mode == "lines+markers"  # one point would be invisible as a line
    assert "exact zeros not drawn: Transformer" in fig.layout.xaxis.title.text
    assert min(fig.layout.yaxis.tickvals) >= 1e-8  # the axis follows the real values, not a 1e-30 floor


def test_grad_norm_compare_grows_so_the_legend_fits():
    traces = {name: make_trace(name.lower(), decaying()) for name in ("RNN", "LSTM", "GRU", "Transformer")}
    fig = charts.grad_norm_compare_chart(traces, {n: t for n, t in traces.items()})
    assert len(fig.data) == 8
    assert fig.layout.height >= LEGEND_ROW_PX * 8


def test_grad_norm_compare_without_runs_says_what_to_do():
    fig = charts.grad_norm_compare_chart({})
    assert fig.layout.title.text.startswith("Gradient norm over time")
    assert "Start comparison" in fig.layout.annotations[0].text


def test_accuracy_against_length_has_a_line_per_architecture_and_reference_lines():
    accuracy = {"RNN": {10: 1.0, 25: 0.6, 50: 0.3, 100: 0.25}, "GRU": {10: 1.0, 25: 1.0, 50: 1.0, 100: 0.5}}
    fig = charts.accuracy_length_chart(accuracy, chance=0.25, solved_at=0.9)
    assert fig.layout.title.text.replace(" <br>", " ") == "Accuracy against sequence length (held out)"
    assert [d.name for d in fig.data] == ["RNN", "GRU"]
    assert list(fig.data[1].x) == [10, 25, 50, 100] and list(fig.data[1].y) == [1.0, 1.0, 1.0, 0.5]
    assert fig.data[0].line.color == style.ARCH_COLOURS["rnn"]
    assert fig.layout.xaxis.type == "log" and list(fig.layout.xaxis.tickvals) == [10, 25, 50, 100]
    assert tuple(fig.layout.yaxis.range) == (0, 1.05)
    assert sorted(s.y0 for s in fig.layout.shapes) == [0.25, 0.9]
    assert {a.text for a in fig.layout.annotations} >= {"chance 0.25", "solved at 0.9"}


def test_accuracy_against_length_says_when_values_are_provisional_and_gaps_stay_gaps():
    fig = charts.accuracy_length_chart({"LSTM": {10: 0.5, 25: float("nan")}}, chance=0.25, solved_at=0.9,
                                       provisional=True)
    assert fig.layout.title.text.replace(" <br>", " ").startswith("Accuracy against sequence length (training batches")
    assert fig.data[0].y[0] == 0.5 and np.isnan(fig.data[0].y[1])  # NaN: a gap
    empty = charts.accuracy_length_chart({}, chance=0.25, solved_at=0.9)
    assert "Start sweep" in empty.layout.annotations[0].text


def test_step_time_against_length_is_log_log():
    ms = {"LSTM": {10: 1.0, 100: 4.0}, "Transformer": {10: 2.0, 100: 20.0}}
    fig = charts.step_time_length_chart(ms)
    assert fig.layout.title.text.replace(" <br>", " ") == "Wall time per step against sequence length"
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    assert [d.name for d in fig.data] == ["LSTM", "Transformer"]


def test_new_charts_have_captions_and_are_exported():
    for name in ("grad_norm_compare_chart", "accuracy_length_chart", "step_time_length_chart"):
        assert name in charts.__all__ and charts.CAPTIONS[name]
        assert isinstance(getattr(charts, name), type(charts.loss_chart))
    assert isinstance(charts.step_time_length_chart({"RNN": {10: 1.0}}, scale=1.35), go.Figure)


def test_grad_norm_compare_draws_the_input_gradient_the_same_measure_for_every_architecture():
    # a Transformer's block state and a recurrent h_t are different things: the chart compares dL/dx_t
    rnn = make_trace("rnn", decaying())
    rnn.grad_norm[:] = 1.0  # the state gradient must not be what is drawn
    fig = charts.grad_norm_compare_chart({"RNN": rnn, "Transformer": make_trace("transformer", decaying(low=-2))})
    np.testing.assert_allclose(fig.data[0].y, decaying())
    assert "dL/dx_t" in fig.layout.yaxis.title.text and "dL/dh_t" not in fig.layout.yaxis.title.text
    assert "dL/dx_t" in charts.CAPTIONS["grad_norm_compare_chart"]
