"""Chart builders return plain figure dicts with the same content as the plotly figures they used to build."""
import json

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from explorer import Run, RunConfig, charts
from explorer.charts import figure
from explorer.history import History

torch.set_num_threads(1)
SETUPS = [("lstm", "adding", False, 1), ("gru", "parity", True, 2), ("transformer", "recall", False, 2),
          ("rnn", "text", False, 1), ("lstm", "sine", False, 1), ("gru", "copy", False, 1)]


def figures(run, trace):
    h = run.history
    out = [charts.loss_chart(h), charts.loss_chart(h, compare=h), charts.param_grad_chart(h),
           charts.grad_norm_chart(trace, initial=trace), charts.gradient_flow_heatmap(h),
           charts.hidden_state_heatmap(trace), charts.prediction_chart(trace),
           charts.loss_compare_chart({"LSTM": h, "GRU": h}),
           charts.grad_norm_compare_chart({"LSTM": trace}, {"LSTM": trace})]
    if trace.gates:
        out += [charts.gate_heatmaps(trace), charts.gate_heatmap(trace, next(iter(trace.gates)))]
    if trace.cell is not None:
        out.append(charts.cell_state_heatmap(trace))
    if trace.attention is not None:
        out += [charts.attention_heatmaps(trace), charts.attention_grid(trace)]
    return out


def canonical(fig) -> str:
    """A figure's content as plotly sees it: through go.Figure (checked), then JSON."""
    fig = fig if isinstance(fig, go.Figure) else go.Figure(fig)
    return json.dumps(fig.to_plotly_json(), sort_keys=True, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v))


@pytest.mark.parametrize("arch,task,bidirectional,num_layers", SETUPS)
def test_figure_dicts_equal_the_plotly_figures(arch, task, bidirectional, num_layers):
    run = Run(RunConfig(arch=arch, task=task, bidirectional=bidirectional, num_layers=num_layers, seq_len=16,
                        hidden_size=8, clip_grad_norm=1.0))
    run.train(12)
    trace = run.trace()
    dicts = figures(run, trace)
    with figure.reference():
        reference = figures(run, trace)
    assert all(isinstance(d, figure.FigureDict) for d in dicts)
    assert all(isinstance(r, go.Figure) for r in reference)
    for d, r in zip(dicts, reference):
        assert canonical(d) == canonical(r)


def test_other_builders_give_equal_dicts():
    values = np.linspace(-1, 1, 6)
    calls = [
        lambda: charts.step_strips([("h_t", values), ("f", values / 2 + 0.5)], "Hidden state h_t at t=3"),
        lambda: charts.hidden_trajectory(np.random.default_rng(0).normal(size=(10, 2)), 3),
        lambda: charts.eigenvalue_chart(np.array([0.5 + 0.5j, 0.5 - 0.5j, 1.2]), 1.2),
        lambda: charts.accuracy_length_chart({"LSTM": {10: 0.9, 25: 0.5}}, chance=0.25, solved_at=0.9),
        lambda: charts.step_time_length_chart({"RNN": {10: 1.0, 100: 5.0}}),
    ]
    for call in calls:
        d = call()
        with figure.reference():
            r = call()
        assert canonical(d) == canonical(r)


def test_a_figure_dict_is_json_and_wraps_in_go_figure():
    h = Run(RunConfig(seq_len=10, hidden_size=4)).history
    d = charts.loss_chart(h)
    assert json.loads(json.dumps(figure.to_json_ready(d)))["layout"]["title"]["text"].startswith("Loss")
    assert d.figure().layout.title.text.startswith("Loss")


def _colour_scales(value):
    if isinstance(value, dict):
        for key, v in value.items():
            if key == "colorscale":
                yield v
            else:
                yield from _colour_scales(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _colour_scales(v)


@pytest.mark.parametrize("arch,task,bidirectional,num_layers", SETUPS[:3])
def test_every_colour_scale_is_an_explicit_list_the_browser_draws_as_named(arch, task, bidirectional, num_layers):
    # plotly.js draws its default RdBu (grey at 0) for a name it does not know, e.g. "RdBu_r" or "Inferno"
    run = Run(RunConfig(arch=arch, task=task, bidirectional=bidirectional, num_layers=num_layers, seq_len=16,
                        hidden_size=8))
    run.train(2)
    drawn = [json.loads(json.dumps(figure.to_json_ready(d["data"]))) for d in figures(run, run.trace())]
    scales = [s for data in drawn for s in _colour_scales(data)]
    assert scales
    for scale in scales:
        assert isinstance(scale, list) and scale[0][0] == 0 and scale[-1][0] == 1, scale
    from explorer import style
    assert style.DIVERGING_SCALE[len(style.DIVERGING_SCALE) // 2][1] in ("rgb(247,247,247)", "#f7f7f7")  # white at 0


def test_gradient_flow_draws_zeros_in_its_darkest_colour():
    # the chart says "zeros drawn darkest": zeros sit below zmin, where plotly.js uses the scale's first colour
    h = History(metric_name="accuracy", chance=0.5)
    h.record_profile(0, np.array([[[0.0, 1e-6, 1e-2]]]))
    flow = charts.gradient_flow_heatmap(h)
    heat = flow["data"][0]
    assert heat["z"][0][0] < heat["zmin"] and heat["colorscale"][0][1] == "#000004"  # Inferno's near-black
    assert "zeros drawn darkest" in flow["layout"]["annotations"][0]["text"]
