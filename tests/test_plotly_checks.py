"""The server builds figures with plotly's checks off; every chart builder must make the same figure either way."""
import json

import pytest
import torch

from explorer import Run, RunConfig, charts
from explorer.ui.runtime import set_plotly_checks

torch.set_num_threads(1)
SETUPS = [("lstm", "adding", False, 1), ("gru", "parity", True, 2), ("transformer", "recall", False, 2),
          ("rnn", "text", False, 1), ("lstm", "sine", False, 1), ("gru", "copy", False, 1)]


def figures(run, trace):
    h = run.history
    out = [charts.loss_chart(h), charts.param_grad_chart(h), charts.grad_norm_chart(trace, initial=trace),
           charts.gradient_flow_heatmap(h), charts.hidden_state_heatmap(trace), charts.prediction_chart(trace)]
    if trace.gates:
        out += [charts.gate_heatmaps(trace), charts.gate_heatmap(trace, next(iter(trace.gates)))]
    if trace.cell is not None:
        out.append(charts.cell_state_heatmap(trace))
    if trace.attention is not None:
        out += [charts.attention_heatmaps(trace), charts.attention_grid(trace)]
    return out


def as_json(fig) -> str:
    return json.dumps(fig.to_plotly_json(), sort_keys=True, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v))


@pytest.mark.parametrize("arch,task,bidirectional,num_layers", SETUPS)
def test_unchecked_figures_are_identical(arch, task, bidirectional, num_layers):
    run = Run(RunConfig(arch=arch, task=task, bidirectional=bidirectional, num_layers=num_layers, seq_len=16,
                        hidden_size=8, clip_grad_norm=1.0))
    run.train(12)
    trace = run.trace()
    set_plotly_checks(True)
    checked = [as_json(f) for f in figures(run, trace)]
    set_plotly_checks(False)
    try:
        unchecked = [as_json(f) for f in figures(run, trace)]
    finally:
        set_plotly_checks(True)
    assert len(checked) == len(unchecked)
    for a, b in zip(checked, unchecked):
        assert a == b


def test_checks_come_back_on():
    import plotly.graph_objects as go

    set_plotly_checks(False)
    set_plotly_checks(True)
    with pytest.raises(ValueError):
        go.Figure(layout=dict(height="tall"))
