"""Closed-loop forecasts: evaluate.free_running feeds the model its own outputs after a prompt of true values,
and the Prediction chart shows them beside the one-step forecast."""
import numpy as np
import pytest
import torch
from torch import nn

from explorer import Run, RunConfig, charts, evaluate
from explorer.models import RecurrentModel
from explorer.tasks import make_task

torch.set_num_threads(1)
HORIZONS = evaluate.HORIZONS


def trained(arch: str, task: str = "sine", T: int = 24, steps: int = 20, **extra) -> Run:
    run = Run(RunConfig(arch=arch, task=task, seq_len=T, hidden_size=16, lr=1e-2, seed=0, **extra))
    run.train(steps)
    return run


class Scale(nn.Module):
    """y_t = a * x_t: fed back k times from x_p, the forecast is a^k x_p. Causal, any length."""

    def __init__(self, a: float) -> None:
        super().__init__()
        self.a = a

    def forward(self, x):
        return self.a * x


def scale_rnn(a: float) -> RecurrentModel:
    """A torch RNN + head computing y_t = a * relu(x_t): the recurrent path's version of Scale (inputs > 0)."""
    model = RecurrentModel("rnn", 1, 1, 1, nonlinearity="relu")
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.zero_()
        model.rnn.weight_ih_l0.fill_(1.0)
        model.head.weight.fill_(a)
    return model


@pytest.mark.parametrize("model", [Scale(0.9), scale_rnn(0.9)], ids=["any causal model", "torch RNN"])
def test_k_step_forecast_feeds_the_model_its_own_output_k_minus_one_times(model):
    x = torch.rand(3, 10, 1) + 0.5  # (B, T, I), positive: relu passes it
    out = evaluate.free_running(model, x, (1, 2, 5))
    for i, k in enumerate((1, 2, 5)):
        assert torch.isnan(out[i, :, : k - 1]).all()  # no true value to start from
        expected = 0.9**k * x[:, : 10 - k + 1]  # forecast at t from the true input t - k + 1
        torch.testing.assert_close(out[i, :, k - 1 :], expected)


@pytest.mark.parametrize("arch,extra", [("gru", {}), ("lstm", {"num_layers": 2}), ("rnn", {}),
                                        ("transformer", {}), ("mingru", {})])
def test_one_step_free_running_is_the_teacher_forced_prediction(arch, extra):
    run = trained(arch, **extra)
    out = evaluate.free_running(run.model, run.probe)
    with torch.no_grad():
        torch.testing.assert_close(out[0], run.model(run.probe), atol=1e-5, rtol=1e-4)
    assert not torch.allclose(out[1, :, 3:], out[0, :, 3:], atol=1e-3)  # k = 4 reads its own outputs: it differs


@pytest.mark.parametrize("arch,extra", [("gru", {}), ("lstm", {"num_layers": 2}), ("transformer", {})])
def test_free_running_never_reads_the_true_values_after_the_prompt(arch, extra):
    run = trained(arch, **extra)
    x = run.probe
    out = evaluate.free_running(run.model, x)
    T = x.shape[1]
    for p in (2, 9, 17):  # the truth after step p replaced by noise: forecasts whose prompt ends by p are unchanged
        changed = x.clone()
        changed[:, p + 1 :] = 5 * torch.randn_like(changed[:, p + 1 :])
        again = evaluate.free_running(run.model, changed)
        for i, k in enumerate(HORIZONS):
            upto = min(T, p + k)  # output t has the prompt 0..t-k+1, within 0..p while t <= p + k - 1
            torch.testing.assert_close(again[i, :, k - 1 : upto], out[i, :, k - 1 : upto], atol=1e-5, rtol=1e-4)
        assert not torch.allclose(again[0, :, p + 1 :], out[0, :, p + 1 :])  # the one-step forecast does read them


@pytest.mark.parametrize("arch,extra", [("gru", {}), ("lstm", {"num_layers": 2}), ("rnn", {"nonlinearity": "relu"})])
def test_the_recurrent_path_equals_rerunning_the_whole_sequence(arch, extra):
    run = trained(arch, **extra)
    fast = evaluate.free_running(run.model, run.probe)
    slow = evaluate._free_running_any(run.model, run.probe, HORIZONS)
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=1e-4, equal_nan=True)


def test_free_running_refuses_what_it_cannot_do():
    both = trained("gru", bidirectional=True, steps=1)
    with pytest.raises(ValueError, match="one-way"):
        evaluate.free_running(both.model, both.probe)
    run = trained("gru", steps=1)
    with pytest.raises(ValueError, match="inputs must be"):
        evaluate.free_running(run.model, run.probe[0])
    with pytest.raises(ValueError, match="horizons"):
        evaluate.free_running(run.model, run.probe, (0, 4))
    with pytest.raises(ValueError, match="not a forecasting task"):
        evaluate.free_running_scores(trained("gru", task="adding", steps=1))
    adding = trained("gru", task="adding", steps=1)  # inputs (value, marker), one output: nothing to feed back
    with pytest.raises(ValueError, match="output size"):
        evaluate.free_running(adding.model, adding.probe)


def test_free_running_mse_scores_every_horizon_on_the_same_steps():
    a, T = 0.95, 60
    series = a ** torch.arange(T + 1, dtype=torch.float32)  # geometric: y = a x forecasts it exactly at any k
    x, y = series[None, :T, None], series[None, 1:, None]
    assert all(v == pytest.approx(0, abs=1e-12) for v in evaluate.free_running_mse(Scale(a), x, y).values())
    mse = evaluate.free_running_mse(Scale(0.9), x, y, horizons=(1, 4), min_prompt=5)
    steps = torch.arange(5 + 4 - 1, T)  # t >= min_prompt + max(k) - 1, for both horizons
    for k, value in mse.items():
        expected = torch.mean((0.9**k * series[steps - k + 1] - series[steps + 1]) ** 2).item()
        assert value == pytest.approx(expected, rel=1e-5)
    assert mse[4] > mse[1]
    with pytest.raises(ValueError, match="too short"):
        evaluate.free_running_mse(Scale(a), x[:, :20], y[:, :20])


def test_sunspot_test_series_scores_the_held_out_years_only():
    task = make_task("sunspots", 64)
    x, y = task.test_series()
    N = len(task.series)
    assert x.shape == y.shape == (1, N - 1, 1)
    scored = torch.nonzero(~torch.isnan(y[0, :, 0]))[:, 0]
    assert scored[0] + 1 == task.test_start and scored[-1] == N - 2  # targets: years test_start .. N-1
    torch.testing.assert_close(y[0, scored, 0], task.series[scored + 1])


def test_the_prediction_chart_shows_each_horizon_beside_the_one_step_forecast():
    run = trained("gru", T=40)
    trace = run.trace()
    assert trace.horizons == HORIZONS and trace.free_running.shape == (len(HORIZONS), *trace.predictions.shape)
    np.testing.assert_allclose(trace.free_running[0], trace.predictions, atol=1e-5)
    fig = charts.prediction_chart(trace, example=1)
    same = charts.free_running_chart(trace, example=1)
    assert [d["name"] for d in fig["data"]] == [d["name"] for d in same["data"]]
    title = fig["layout"]["title"]["text"].replace(" <br>", " ")
    assert title.startswith("Prediction") and "t = 31" in title
    target, *lines = fig["data"]
    assert target["name"] == "target" and len(lines) == len(HORIZONS)
    first = max(HORIZONS) - 1
    targets = trace.targets[1, first:, 0]
    for line, k, forecast in zip(lines, HORIZONS, trace.free_running[:, 1]):
        mse = np.nanmean((forecast[first:, 0] - targets) ** 2)
        assert line["name"].startswith(f"k={k},") and line["name"].endswith(f"MSE {mse:.2g}")
        assert np.isnan(line["y"][: k - 1]).all()  # gaps
    assert fig["layout"]["xaxis"]["title"]["text"] and fig["layout"]["yaxis"]["title"]["text"] == "value"
    assert "k grows" in charts.CAPTIONS["prediction_chart"] and "k grows" in charts.CAPTIONS["free_running_chart"]


def test_models_without_a_cheap_feedback_keep_the_plain_prediction_chart():
    trace = trained("transformer", T=40, steps=2).trace()
    assert trace.free_running is None
    fig = charts.prediction_chart(trace)
    assert [d["name"] for d in fig["data"]] == ["prediction", "target"]
    with pytest.raises(ValueError, match="no free-running"):
        charts.free_running_chart(trace)
