"""Chart builders draw what the Trace and History hold: titles, panels, fixed ranges, log axes, guards."""
from __future__ import annotations

import ast
import functools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest

from explorer import charts, style
from explorer.charts import figure
from explorer.history import History
from explorer.records import Trace

pytestmark = pytest.mark.usefixtures("plotly_figures")  # builders make go.Figure here

ROOT = Path(__file__).resolve().parents[1]
GATES = {"lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}


# ---------------------------------------------------------------- factories (numpy only)

def make_trace(arch: str = "lstm", *, L: int = 1, D: int = 1, B: int = 2, T: int = 12, H: int = 5,
               kind: str = "classify", scored: str = "all", C: int = 3, heads: int = 2, seed: int = 0) -> Trace:
    """A Trace with the documented shapes. scored: "all" steps, the "last" step, or the last 4 ("tail")."""
    rng = np.random.default_rng(seed)
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    shape = (L, D, B, T, H)
    hidden = np.tanh(rng.normal(size=shape)) if arch != "transformer" else 3 * rng.normal(size=shape)
    gates = {g: (np.tanh if g in "gn" else sigmoid)(rng.normal(size=shape)) for g in GATES.get(arch, ())}
    attention = None
    if arch == "transformer":
        logits = rng.normal(size=(L, heads, B, T, T)) + np.triu(np.full((T, T), -np.inf), 1)  # causal
        attention = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    mask = {"all": np.ones(T, bool), "last": np.arange(T) == T - 1, "tail": np.arange(T) >= T - 4}[scored]
    if kind == "classify":
        targets = np.where(mask, rng.integers(0, C, size=(B, T)), -100)
        predictions = 2 * rng.normal(size=(B, T, C))
    else:
        targets = np.where(mask[None, :, None], rng.normal(size=(B, T, 1)), np.nan)
        predictions = rng.normal(size=(B, T, 1))
    return Trace(
        arch=arch, task="toy", kind=kind, hidden=hidden,
        cell=2 * rng.normal(size=shape) if arch == "lstm" else None, gates=gates,
        grad_norm=np.broadcast_to(10.0 ** np.linspace(-8, 0, T), (L, D, T)).copy(), attention=attention,
        inputs=rng.normal(size=(B, T, 1)), targets=targets, predictions=predictions, loss=0.5, step=40,
        input_grad=10.0 ** np.linspace(-9, -1, T),
        tokens=[[f"x{t}" for t in range(T)] for _ in range(B)], classes=[f"class {c}" for c in range(C)],
    )


def make_history(n: int = 60, *, clip: float | None = None, profile_steps=(0, 10, 30, 100), T: int = 12,
                 L: int = 1, D: int = 1, metric_name: str = "accuracy", chance: float = 0.5) -> History:
    h = History(metric_name=metric_name, chance=chance, clip_grad_norm=clip)
    for s in range(1, n + 1):
        h.record(s, loss=2.0 / s, metric=min(1.0, 0.5 + s / (2 * n)), grad_norm=10.0 / s, wall=0.01 * s)
    for s in profile_steps:
        h.record_profile(s, np.broadcast_to(10.0 ** np.linspace(-6 + s / 50, 0, T), (L, D, T)).copy())
    return h


def heatmaps(fig: go.Figure) -> list:
    return [t for t in fig.data if t.type == "heatmap"]


def numbers(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in np.ravel(np.asarray(values, dtype=object))], dtype=float)


# ---------------------------------------------------------------- every chart

@functools.cache
def all_figures() -> dict[str, go.Figure]:
    """One of each chart, keyed by the words its title must begin with (built once: tests only read them)."""
    with figure.reference():  # called at collection, outside the plotly_figures fixture
        return _build_all()


def _build_all() -> dict[str, go.Figure]:
    lstm, gru, tf = make_trace("lstm"), make_trace("gru"), make_trace("transformer", L=2)
    h = make_history()
    return {
        "Loss and accuracy": charts.loss_chart(h),
        "Loss by architecture": charts.loss_compare_chart({"lstm": h, "gru": make_history(30)}),
        "Hidden state h_t (layer 0)": charts.hidden_state_heatmap(lstm),
        "Cell state c_t": charts.cell_state_heatmap(lstm),
        "Gates (LSTM i, f, g, o)": charts.gate_heatmaps(lstm),
        "Gates (GRU r, z, n)": charts.gate_heatmaps(gru),
        "Gates: forget gate f": charts.gate_heatmap(lstm, "f"),
        "Gradient norm over time": charts.grad_norm_chart(lstm, initial=lstm),
        "Gradient flow": charts.gradient_flow_heatmap(h),
        "Parameter gradients": charts.param_grad_chart(h),
        "Prediction": charts.prediction_chart(lstm),
        "Attention (layer 1)": charts.attention_heatmaps(tf, layer=1),
        "Attention: all layers and heads": charts.attention_grid(tf),
        "Hidden state trajectory": charts.hidden_trajectory(np.random.default_rng(0).normal(size=(12, 2)), 3),
        "Recurrent weights: eigenvalues of W_hh": charts.eigenvalue_chart(np.array([0.5 + 0.5j, 1.2, -0.3j]), 1.2),
        "Saliency": charts.saliency_strip(np.linspace(0, 1, 12), [f"x{t}" for t in range(12)], 11),
    }


@pytest.mark.parametrize("prefix", list(all_figures()))
def test_titles_start_with_the_fixed_words(prefix):
    assert all_figures()[prefix].layout.title.text.startswith(prefix)


def test_every_chart_is_titled_labelled_and_readable():
    for name, fig in all_figures().items():
        assert fig.layout.font.size >= 16, name
        assert fig.layout.title.font.size > fig.layout.font.size, name
        assert fig.layout.template.layout.paper_bgcolor in ("white", "#ffffff", "rgb(255,255,255)"), name
        if fig.data and fig.data[0].type != "scatter3d":
            axes = [fig.layout[k] for k in fig.layout if k.startswith("xaxis")]
            assert any(a.title.text for a in axes), name
        fig.to_json()  # serialisable as a page would send it


def test_scale_enlarges_fonts_and_heights():
    h = make_history()
    small, big = charts.loss_chart(h), charts.loss_chart(h, scale=style.LECTURE_SCALE)
    assert big.layout.font.size > small.layout.font.size
    assert big.layout.height > small.layout.height


def test_captions_cover_exactly_the_chart_functions():
    builders = {n for n in charts.__all__ if n not in ("CAPTIONS", "softmax", "share_scales", "steady_axes")}
    assert set(charts.CAPTIONS) == builders
    assert all(c and "\n" not in c for c in charts.CAPTIONS.values())


def test_gates_caption_names_what_each_architecture_shows():
    # the SSM's delta, B, C are not sigmoid gates: the caption says what they are
    caption = charts.CAPTIONS["gate_heatmaps"]
    assert all(word in caption for word in ("Δ", "||B_t||", "||C_t||", "minGRU", "not gates"))


# ---------------------------------------------------------------- states and gates

@pytest.mark.parametrize("arch", ["lstm", "gru"])
def test_gate_heatmaps_one_panel_per_gate_on_its_fixed_range(arch):
    fig = charts.gate_heatmaps(make_trace(arch, L=2, D=2), layer=1, direction=1)
    panels = heatmaps(fig)
    assert len(panels) == len(GATES[arch])
    for gate, panel in zip(GATES[arch], panels):
        assert (panel.zmin, panel.zmax) == style.GATE_RANGES[gate]
        assert panel.name == style.GATE_NAMES[gate]
    titles = {a.text for a in fig.layout.annotations}
    assert {style.GATE_NAMES[g] for g in GATES[arch]} <= titles
    assert "reverse" in fig.layout.title.text
    assert sum(bool(p.showscale) for p in panels) == 2  # one colourbar per range type


def test_gate_heatmaps_shows_the_requested_layer_and_direction():
    tr = make_trace("lstm", L=2, D=2)
    fig = charts.gate_heatmaps(tr, layer=1, example=1, direction=1)
    np.testing.assert_allclose(heatmaps(fig)[1].z, tr.gates["f"][1, 1, 1].T)


@pytest.mark.parametrize("arch", ["lstm", "gru"])
def test_bidirectional_gates_show_both_directions_side_by_side_aligned_in_time(arch):
    tr = make_trace(arch, D=2)
    fig = charts.gate_heatmaps(tr)
    panels = heatmaps(fig)
    gates = GATES[arch]
    assert [p.name for p in panels] == [f"{style.GATE_NAMES[g]}, {d}" for g in gates for d in ("forward", "reverse")]
    for k, g in enumerate(gates):  # row k: forward on the left, reverse on the right, one time axis
        np.testing.assert_allclose(panels[2 * k].z, tr.gates[g][0, 0, 0].T)
        np.testing.assert_allclose(panels[2 * k + 1].z, tr.gates[g][0, 1, 0].T)
        assert panels[2 * k].xaxis == "x" if k == 0 else panels[2 * k].xaxis != panels[2 * k + 1].xaxis
    assert "both directions" in fig.layout.title.text.replace(" <br>", " ")
    assert fig.layout.height <= style.SCREEN_HEIGHT + 1  # four rows still fit one screen


def test_lecture_titles_wrap_instead_of_being_clipped_and_charts_fit_one_screen():
    fig = charts.grad_norm_compare_chart({"RNN": make_trace("rnn")}, scale=style.LECTURE_SCALE)
    lines = fig.layout.title.text.split(" <br>")
    assert len(lines) >= 2 and all(len(line) <= style.TITLE_LINE_CHARS / style.LECTURE_SCALE + 1 for line in lines)
    assert " ".join(lines) == "Gradient norm over time, by architecture (step 40)"  # make_trace is at step 40
    for fig in (charts.gate_heatmaps(make_trace("gru"), scale=style.LECTURE_SCALE),
                charts.attention_heatmaps(make_trace("transformer", heads=4), scale=style.LECTURE_SCALE)):
        assert fig.layout.height <= style.SCREEN_HEIGHT + 1, fig.layout.title.text
        sizes = [a.font.size for a in fig.layout.annotations]  # subplot titles: the scaled size, not plotly's 16
        assert sizes and min(sizes) >= 18, sizes


def test_gate_heatmap_single_gate():
    tr = make_trace("gru")
    fig = charts.gate_heatmap(tr, "z")
    (panel,) = heatmaps(fig)
    assert fig.layout.title.text.startswith("Gates: update gate z")
    assert (panel.zmin, panel.zmax) == (0, 1)
    with pytest.raises(ValueError, match="gate"):
        charts.gate_heatmap(tr, "f")


def test_rnn_has_no_gates_but_still_a_titled_chart():
    fig = charts.gate_heatmaps(make_trace("rnn"))
    assert fig.layout.title.text.startswith("Gates") and not heatmaps(fig)


def test_bidirectional_hidden_state_shows_both_directions_aligned_in_time():
    tr = make_trace("gru", D=2, T=9)
    fig = charts.hidden_state_heatmap(tr, example=1)
    forward, reverse = heatmaps(fig)
    assert [a.text for a in fig.layout.annotations][:2] == ["forward", "reverse"]
    np.testing.assert_array_equal(forward.x, np.arange(9))
    np.testing.assert_array_equal(reverse.x, np.arange(9))
    np.testing.assert_allclose(reverse.z, tr.hidden[0, 1, 1].T)  # (H, T): units on y


def test_hidden_state_range_is_tanh_unless_values_exceed_it():
    tr = make_trace("rnn")
    assert heatmaps(charts.hidden_state_heatmap(tr))[0].zmin == -1
    tr.hidden = tr.hidden * 7  # a relu RNN
    panel = heatmaps(charts.hidden_state_heatmap(tr))[0]
    top = np.abs(tr.hidden[0]).max()
    assert panel.zmax == -panel.zmin and top <= panel.zmax < 1.5 * top  # rounded up to a steady step


def test_tokens_label_every_time_axis_every_kth_when_the_sequence_is_long():
    # the sentiment lesson says "watch the Hidden state change at the word 'not'": the words must be there
    words = ["this", "film", "was", "not", "good", "at", "all", "and", "I", "left", "early", "."]
    tr = make_trace("lstm", T=12)
    tr.tokens = [words, words]
    for fig in (charts.hidden_state_heatmap(tr), charts.gate_heatmaps(tr), charts.cell_state_heatmap(tr),
                charts.grad_norm_chart(tr), charts.gradient_flow_heatmap(make_history(), trace=tr),
                charts.prediction_chart(tr)):
        axes = [a for k, a in fig.layout.to_plotly_json().items() if k.startswith("xaxis") and a.get("ticktext")]
        assert axes, fig.layout.title.text
        assert list(axes[-1]["ticktext"]) == words and list(axes[-1]["tickvals"]) == list(range(12))
        grid = fig.layout.title.text.startswith("Gates")  # narrow panels: the ticks alone show the tokens
        assert grid or "input token" in axes[-1]["title"]["text"]
    long = charts.hidden_state_heatmap(make_trace("lstm", T=64))
    assert list(long.layout.xaxis.tickvals) == list(range(0, 64, 3))  # every 3rd: at most 24 labels
    assert list(long.layout.xaxis.ticktext) == [f"x{t}" for t in range(0, 64, 3)]
    assert "every 3rd token" in long.layout.xaxis.title.text
    series = make_trace("gru", kind="regress")  # numbers, not symbols: plain t
    assert charts.hidden_state_heatmap(series).layout.xaxis.ticktext is None


def test_out_of_range_indices_raise_value_error_naming_them():
    tr = make_trace("lstm", L=2)
    for call, name in ((lambda: charts.hidden_state_heatmap(tr, layer=2), "layer"),
                       (lambda: charts.gate_heatmaps(tr, direction=1), "direction"),
                       (lambda: charts.prediction_chart(tr, example=5), "example")):
        with pytest.raises(ValueError, match=name):
            call()


def test_cell_state_is_symmetric_and_only_for_lstm():
    tr = make_trace("lstm")
    panel = heatmaps(charts.cell_state_heatmap(tr))[0]
    top = np.abs(tr.cell[0]).max()
    assert panel.zmax == -panel.zmin and top <= panel.zmax < 1.5 * top
    gru = charts.cell_state_heatmap(make_trace("gru"))
    assert gru.layout.title.text.startswith("Cell state") and not heatmaps(gru)


# ---------------------------------------------------------------- gradients

def test_grad_norm_chart_one_line_per_layer_and_direction_on_a_log_axis():
    tr = make_trace("lstm", L=2, D=2)
    fig = charts.grad_norm_chart(tr, initial=make_trace("lstm", L=2, D=2, seed=1))
    assert fig.layout.yaxis.type == "log"
    assert len(fig.data) == 9  # 4 now + 4 at init + the input gradient
    assert sum("at init" in t.name for t in fig.data) == 4
    assert len(charts.grad_norm_chart(tr, layer=1).data) == 3


def test_grad_norm_zeros_and_overflow_stay_finite_on_the_log_axis():
    tr = make_trace("rnn", T=6)
    tr.grad_norm[0, 0] = [0.0, 1e-45, 1e-30, 1.0, 1e30, np.inf]
    fig = charts.grad_norm_chart(tr)
    y = numbers(fig.data[0].y)
    assert np.all(np.isfinite(y)) and np.all(y > 0)
    assert "floor" in fig.data[0].text[0]


@pytest.mark.parametrize("arch, symbol, line", [("rnn", "||dL/dh_t||", "h_t, layer 0"),
                                                ("lstm", "||dL/dh_t||", "h_t, layer 0"),
                                                ("transformer", "||dL/de_t||", "block 0 input (embedding)")])
def test_gradient_charts_say_what_is_drawn_for_each_architecture(arch, symbol, line):
    tr = make_trace(arch)
    fig = charts.grad_norm_chart(tr)
    assert fig.layout.yaxis.title.text.startswith(symbol)
    assert [d.name for d in fig.data] == [line, "input x_t: ||dL/dx_t||"]
    np.testing.assert_allclose(numbers(fig.data[1].y), tr.input_grad)  # the same measure for every architecture
    assert symbol in fig.data[0].hovertemplate
    (panel,) = heatmaps(charts.gradient_flow_heatmap(make_history(), trace=tr))
    assert panel.colorbar.title.text == f"log10 {symbol}" and symbol in panel.hovertemplate
    caption = charts.CAPTIONS["grad_norm_chart"]
    assert "dL/dx_t" in caption and "block's input" in caption and "embedding" in caption


def test_gradient_flow_rows_are_the_real_training_steps():
    h = make_history(profile_steps=(0, 5, 20, 200, 1000))
    h.profiles.reverse()  # order of the list must not matter
    fig = charts.gradient_flow_heatmap(h)
    (panel,) = heatmaps(fig)
    np.testing.assert_array_equal(panel.y, [0, 5, 20, 200, 1000])
    assert panel.colorbar.title.text == "log10 ||dL/dh_t||"
    np.testing.assert_allclose(panel.z[-1], np.log10(h.profiles[0][1][0, 0]))
    assert "step %{y}" in panel.hovertemplate and "||dL/dh_t||" in panel.hovertemplate


def test_gradient_flow_of_many_profiles_keeps_its_rows_and_axes_while_the_run_grows():
    """Uneven profile steps go on even rows, each the nearest profile, so two frames of a live view differ in
    z alone and the browser recolours the chart in place (explorer/ui/live_chart.js)."""
    from explorer.charts.gradients import FLOW_ROWS

    uneven = (0, 70, 150, 215, 300, 390, 445, 520)
    first = charts.gradient_flow_heatmap(make_history(profile_steps=uneven))
    later = charts.gradient_flow_heatmap(make_history(profile_steps=uneven + (560, 590)))
    (a,), (b,) = heatmaps(first), heatmaps(later)
    np.testing.assert_allclose(a.y, np.linspace(0, 600, FLOW_ROWS + 1))  # to where the step axis ends
    assert np.shape(a.z) == np.shape(b.z) == (FLOW_ROWS + 1, 12)
    assert first.layout.yaxis.to_plotly_json() == later.layout.yaxis.to_plotly_json()
    z = np.asarray(b.z, dtype=float)
    profile = lambda step: np.log10(10.0 ** np.linspace(-6 + step / 50, 0, 12))
    np.testing.assert_allclose(z[0], profile(0), rtol=1e-6)
    np.testing.assert_allclose(z[13], profile(70), rtol=1e-6)  # the row at step 78: nearest is 70, not 150
    np.testing.assert_allclose(z[98], profile(590), rtol=1e-6)  # the row at step 588: the newest profile
    assert np.isnan(z[99:]).all() and np.isnan(np.asarray(a.z, dtype=float)[88:]).all()  # not reached yet


def test_gradient_flow_with_zero_gradients_has_no_minus_infinity():
    h = make_history(profile_steps=(0, 10))
    h.profiles[0][1][0, 0, :3] = 0.0
    (panel,) = heatmaps(charts.gradient_flow_heatmap(h))
    assert np.all(np.isfinite(panel.z))
    assert panel.zmin > np.log10(style.GRAD_FLOOR)  # the range follows the real values, not the floor


@pytest.mark.parametrize("steps", [(), (7,)])
def test_gradient_flow_with_zero_or_one_profile(steps):
    fig = charts.gradient_flow_heatmap(make_history(profile_steps=steps))
    assert fig.layout.title.text.startswith("Gradient flow")
    assert len(heatmaps(fig)) == len(steps)


def test_gradient_flow_reverse_direction():
    h = make_history(D=2)
    h.profiles[-1][1][0, 1] = 0.5
    (panel,) = heatmaps(charts.gradient_flow_heatmap(h, direction=1))
    np.testing.assert_allclose(panel.z[-1], np.log10(0.5))


def test_param_grad_chart_draws_the_clip_line_only_when_clipping():
    with_clip = charts.param_grad_chart(make_history(clip=1.5))
    assert with_clip.layout.yaxis.type == "log"
    assert [s.y0 for s in with_clip.layout.shapes] == [1.5]
    assert any(a.text == "clip at 1.5" for a in with_clip.layout.annotations)
    assert not charts.param_grad_chart(make_history(clip=None)).layout.shapes


# ---------------------------------------------------------------- loss

def test_loss_chart_chance_line_and_log_axis():
    h = make_history(chance=0.25)
    fig = charts.loss_chart(h)
    chance = [s for s in fig.layout.shapes if s.name == "chance"]
    assert [s.y0 for s in chance] == [0.25] and chance[0].yref == "y2"
    assert fig.layout.yaxis.type == "log"
    assert fig.layout.title.text == "Loss and accuracy"


def test_loss_chart_one_axis_when_the_metric_is_the_loss():
    h = make_history(metric_name="mse", chance=0.17)
    h.metric = list(h.loss)  # regression: the metric is the MSE loss
    fig = charts.loss_chart(h)
    assert len(fig.data) == 1 and fig.data[0].name == "loss = mse"
    assert [(s.y0, s.yref) for s in fig.layout.shapes] == [(0.17, "y")]
    assert fig.layout.yaxis.type == "log" and "yaxis2" not in fig.layout.to_plotly_json()


def test_loss_chart_linear_when_a_loss_is_not_positive():
    h = make_history()
    h.loss[3] = 0.0
    assert charts.loss_chart(h).layout.yaxis.type == "linear"


def test_loss_chart_with_no_points_says_press_train():
    fig = charts.loss_chart(History(metric_name="MSE"))
    assert fig.layout.title.text == "Loss and MSE"
    assert any("press Train" in a.text for a in fig.layout.annotations)
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


def test_loss_chart_survives_a_diverged_step_and_compares_a_previous_run():
    h = make_history(200)
    h.loss[-1] = float("nan")
    fig = charts.loss_chart(h, compare=make_history(100))
    assert any("previous run" in t.name for t in fig.data)
    fig.to_json()


def test_loss_compare_chart_one_curve_per_run_against_step_or_wall_time():
    runs = {"rnn": make_history(40), "lstm": make_history(40), "gru": make_history(40)}
    fig = charts.loss_compare_chart(runs, x="wall")
    assert [t.name for t in fig.data] == ["rnn", "lstm", "gru"]
    assert [t.line.color for t in fig.data] == [style.ARCH_COLOURS[a] for a in runs]
    assert fig.layout.xaxis.title.text == "wall time (s)"
    np.testing.assert_allclose(fig.data[0].x, runs["rnn"].wall)
    with pytest.raises(ValueError):
        charts.loss_compare_chart(runs, x="epoch")
    assert charts.loss_compare_chart({}).layout.title.text == "Loss by architecture"


# ---------------------------------------------------------------- prediction

def test_prediction_regress_target_only_at_scored_steps():
    tr = make_trace("gru", kind="regress", scored="last", T=10)
    fig = charts.prediction_chart(tr, example=1)
    prediction, target = fig.data
    assert (prediction.name, target.name) == ("prediction", "target")
    assert list(target.x) == [9] and target.y[0] == pytest.approx(tr.targets[1, 9, 0])
    np.testing.assert_allclose(numbers(prediction.y), tr.predictions[1, :, 0])


def test_prediction_every_step_scored_shows_p_target_per_step():
    tr = make_trace("lstm", scored="all", T=10, C=3)
    fig = charts.prediction_chart(tr)
    bars = fig.data[0]
    assert bars.type == "bar" and len(bars.x) == 10
    probs = charts.softmax(tr.predictions[0])
    np.testing.assert_allclose(bars.y, probs[np.arange(10), tr.targets[0]])
    names = {t.name for t in fig.data[1:]}
    assert names <= {"right", "barely above chance", "wrong"} and {"right", "wrong"} <= names
    assert sum(len(t.x) for t in fig.data[1:]) == 10
    tr.predictions[0] = 0.0  # an untrained guess: every class 1/3, the target among the most probable
    tr.predictions[0, np.arange(10), tr.targets[0]] = 0.05
    fig = charts.prediction_chart(tr)
    assert {t.name for t in fig.data[1:] if len(t.x)} == {"barely above chance"}
    assert fig.layout.title.text.replace(" <br>", " ") == "Prediction: p(target), 100% right, 100% barely above chance"


def test_prediction_last_step_scored_highlights_the_target_class():
    tr = make_trace("lstm", scored="last", C=4)
    fig = charts.prediction_chart(tr)
    bars, target_mark, predicted_mark = fig.data
    assert list(bars.x) == [0, 1, 2, 3] and list(fig.layout.xaxis.ticktext) == tr.classes  # a class per column
    assert list(bars.customdata) == tr.classes  # hover names it
    target = tr.targets[0, -1]
    assert bars.marker.color[target] == style.CORRECT_COLOUR
    assert bars.y.sum() == pytest.approx(1.0)
    # the marks above the bars are traces at the target's and the most probable class's columns
    assert (target_mark.name, list(target_mark.x)) == ("target", [target])
    assert (predicted_mark.name, list(predicted_mark.x)) == ("predicted", [int(np.argmax(bars.y))])


def test_class_bars_keep_their_layout_while_the_verdict_changes():
    """Live, a chart whose layout holds still is moved in place by the browser: the verdict changes the title's
    words and the marks' places, never the layout (the title keeps its lines, nothing in it moves)."""
    tr = make_trace("lstm", T=50, scored="last", C=4)
    target = int(tr.targets[0, -1])
    layouts = {}
    for scale in (1.0, style.LECTURE_SCALE):
        for p_target, other in ((0.9, 0.05), (0.3, 0.4), (0.28, 0.24)):  # right, wrong, barely above chance
            p = np.full(4, (1 - p_target - other) / 2)
            p[target], p[(target + 1) % 4] = p_target, other
            tr.predictions[0, -1] = np.log(p)
            layout = charts.prediction_chart(tr, scale=scale)["layout"]
            title = layout["title"].pop("text")
            layouts.setdefault(scale, []).append((json.dumps(layout, sort_keys=True, default=str), title.count("<br>")))
    for scale, seen in layouts.items():
        assert len(set(seen)) == 1, scale


@pytest.mark.parametrize("p_target, right, said", [(0.27, True, "right, barely above chance"),
                                                   (0.43, True, "right, barely above chance"),
                                                   (0.45, True, "right"), (0.9, True, "right"), (0.2, False, "wrong")])
def test_a_right_prediction_barely_above_chance_says_so(p_target, right, said):
    # four classes: chance 0.25, "right" from a quarter of the way to 1 (0.4375)
    assert charts.prediction.verdict(p_target, right, 4) == said
    tr = make_trace("lstm", T=50, scored="last", C=4)
    target = int(tr.targets[0, -1])
    p = np.full(4, (1 - p_target) / 3)
    p[target] = p_target
    if not right:  # another class more probable than the target
        p[(target + 1) % 4], p[(target + 2) % 4] = 1 - p_target - p[(target + 3) % 4], 0.0
    tr.predictions[0, -1] = np.log(np.maximum(p, 1e-9))
    title = charts.prediction_chart(tr).layout.title.text.replace(" <br>", " ")
    assert title == f"Prediction at t=49: {said}"


def test_prediction_copy_is_a_probability_table_with_targets_marked():
    tr = make_trace("lstm", scored="tail", T=12, C=5)
    fig = charts.prediction_chart(tr)
    table, marks = fig.data
    assert table.type == "heatmap" and (table.zmin, table.zmax) == (0, 1)
    assert np.asarray(table.z).shape == (5, 4)  # classes x scored steps
    assert list(marks.y) == [tr.classes[c] for c in tr.targets[0, -4:]]


# ---------------------------------------------------------------- attention

def test_attention_one_panel_per_head_on_zero_to_one():
    tr = make_trace("transformer", L=2, heads=4)
    fig = charts.attention_heatmaps(tr, layer=1)
    panels = heatmaps(fig)
    assert len(panels) == 4
    assert all((p.zmin, p.zmax) == (0, 1) for p in panels)
    np.testing.assert_allclose(panels[2].z, tr.attention[1, 2, 0])
    assert fig.layout.title.text == "Attention (layer 1)"


def test_attention_grid_is_layers_by_heads():
    fig = charts.attention_grid(make_trace("transformer", L=3, heads=2))
    assert len(heatmaps(fig)) == 6


def test_attention_for_a_recurrent_model_is_a_message():
    fig = charts.attention_heatmaps(make_trace("lstm"))
    assert fig.layout.title.text.startswith("Attention") and not heatmaps(fig)


# ---------------------------------------------------------------- extras

def test_hidden_trajectory_2d_and_3d():
    pts = np.random.default_rng(0).normal(size=(20, 3))
    assert charts.hidden_trajectory(pts, 5).data[0].type == "scatter3d"
    assert charts.hidden_trajectory(pts[:, :2], 5).data[0].type == "scatter"
    with pytest.raises(ValueError):
        charts.hidden_trajectory(pts, 20)


def test_eigenvalue_chart_splits_inside_and_outside_the_unit_circle():
    fig = charts.eigenvalue_chart(np.array([0.5, 0.9j, 1.5, -1.1 + 0.2j]), radius=1.52)
    inside, outside = fig.data[2], fig.data[3]
    assert len(inside.x) == 2 and len(outside.x) == 2
    assert fig.layout.yaxis.scaleanchor == "x"


def test_saliency_strip_outlines_the_output_step():
    fig = charts.saliency_strip(np.arange(8.0), None, 6)
    assert fig.layout.shapes[0].x0 == 5.5
    assert heatmaps(fig)[0].zmin == 0


# ---------------------------------------------------------------- purity guard

CHART_FILES = sorted((ROOT / "explorer" / "charts").glob("*.py")) + [ROOT / "explorer" / "style.py"]


def _runtime_imports(node: ast.AST) -> list[str]:
    """Modules imported anywhere in a file, except under `if TYPE_CHECKING:`."""
    if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
        return [m for child in node.orelse for m in _runtime_imports(child)]
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""]
    return [m for child in ast.iter_child_nodes(node) for m in _runtime_imports(child)]


@pytest.mark.parametrize("path", CHART_FILES, ids=lambda p: p.name)
def test_chart_sources_import_neither_torch_nor_streamlit(path):
    for module in _runtime_imports(ast.parse(path.read_text())):
        top = module.split(".")[0]
        assert top not in ("torch", "streamlit"), f"{path.name} imports {module}"
        if top == "explorer":  # not trace.py, run.py ...: they may import torch
            assert module in ("explorer", "explorer.style", "explorer.cells") or module.startswith("explorer.charts"), module


def test_importing_charts_loads_neither_torch_nor_streamlit():
    """Import the chart modules in a fresh interpreter, bypassing explorer/__init__.py (it may import torch)."""
    code = (
        "import sys, types\n"
        "pkg = types.ModuleType('explorer'); pkg.__path__ = [sys.argv[1]]; sys.modules['explorer'] = pkg\n"
        "import explorer.style, explorer.charts\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'streamlit'))\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(ROOT / "explorer")], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_symmetric_ranges_round_up_to_steady_steps():
    from explorer.charts._common import nice_ceil, symmetric_range
    assert [nice_ceil(v) for v in (0.9, 1.0, 1.01, 1.6, 2.2, 4.0, 6.5, 8.0, 0.021)] == [1, 1, 1.5, 2, 3, 5, 7, 10, 0.03]
    assert symmetric_range(np.array([-2.21, 0.3, np.nan])) == (-3.0, 3.0)
    assert symmetric_range(np.array([2.4])) == symmetric_range(np.array([2.9]))  # drift within a step: same scale


def test_after_one_step_loss_and_gradient_charts_show_the_point_on_readable_ticks():
    h = make_history(n=1, profile_steps=(1,))
    for fig in (charts.loss_chart(h), charts.param_grad_chart(h)):
        line = fig.data[0]
        assert "markers" in line.mode and len(line.x) == 1, fig.layout.title.text
        y = fig.layout.yaxis
        assert y.type == "log" and y.range[1] - y.range[0] == pytest.approx(1.0)  # a decade around the point
        assert y.range[0] < np.log10(numbers(line.y)[0]) < y.range[1]
        shown = [v for v in y.tickvals if y.range[0] <= np.log10(v) <= y.range[1]]
        assert 2 <= len(shown) <= 4, shown  # 1-2-5 steps: not nine crammed labels
        assert list(fig.layout.xaxis.range) == [0, 2] and fig.layout.xaxis.dtick == 1


def test_every_cell_of_the_cell_table_has_equations_that_name_its_gates():
    from explorer.cells import CELLS
    from explorer.charts.equations import CELL_TEX
    for arch, cell in CELLS.items():
        for gate in cell.gates:
            symbol = {"delta": r"\Delta_t", "B": "B_t", "C": "C_t"}.get(gate, f"{gate}_t")
            assert symbol in CELL_TEX[arch], (arch, gate)


@pytest.mark.parametrize("metric", ["accuracy", "exact match"])
def test_a_share_metric_gets_percent_ticks_on_its_own_axis(metric):
    # a share in [0, 1] (translate's exact match as accuracy): plotly would tick it at the log loss axis' grid
    h = make_history(metric_name=metric)
    axis = charts.loss_chart(h).layout.yaxis2
    assert list(axis.range) == [0, 1.05] and axis.tickformat == ".0%" and list(axis.tickvals) == [0, 0.25, 0.5, 0.75, 1]
