"""Truncated backpropagation through time (RunConfig.bptt): the same forward pass, gradients cut every k steps,
in training, in the trace and on the gradient charts; bptt=None is the fused forward it always was."""
import numpy as np
import pytest
import torch

from explorer import Run, RunConfig, charts
from explorer.config import unused_fields

torch.set_num_threads(1)
ONE_WAY = [(arch, layers) for arch in ("rnn", "lstm", "gru") for layers in (1, 2)]


def pair(arch: str, layers: int, k: int, task: str = "adding", T: int = 23) -> tuple[Run, Run]:
    """A full-BPTT run and a truncated one of the same config: the same seed, so the same weights."""
    config = RunConfig(arch=arch, task=task, seq_len=T, hidden_size=8, num_layers=layers, batch_size=8, seed=3)
    return Run(config), Run(config.replace(bptt=k))


@pytest.mark.parametrize("arch,layers", ONE_WAY)
def test_truncated_forward_gives_the_full_outputs(arch, layers):
    full, cut = pair(arch, layers, k=5)
    torch.testing.assert_close(cut.model(full.probe), full.model(full.probe), atol=1e-6, rtol=0)


@pytest.mark.parametrize("arch,layers", ONE_WAY)
@pytest.mark.parametrize("k", [1, 4, 7])
def test_no_gradient_reaches_an_input_k_or_more_steps_before_the_loss(arch, layers, k):
    """A loss at step s reaches exactly the inputs of its own chunk, [s - s % k, s]: those k or more steps
    back get exactly zero; those in the chunk a gradient (which the full model gives everything)."""
    full, cut = pair(arch, layers, k)
    for s in (22, 13):
        grads = []
        for run in (full, cut):
            x = full.probe.clone().requires_grad_(True)
            run.model(x)[:, s].sum().backward()
            grads.append(x.grad.abs().sum(dim=(0, 2)))  # (T,)
        full_grad, cut_grad = grads
        start = s - s % k  # the first step of the chunk holding s
        assert (full_grad[: s + 1] > 0).all()
        assert (cut_grad[:start] == 0).all() and (cut_grad[start: s + 1] > 0).all()
        assert (cut_grad[: s - k + 1] == 0).all()  # "k or more steps before the loss", whatever the chunking


def test_bptt_none_is_the_fused_forward_bit_for_bit():
    """bptt=None runs torch's fused module in one call, as before truncation existed; bptt >= T is one chunk
    from a zero state, the same call: its losses, weights and trace are bit-identical."""
    config = RunConfig(arch="lstm", task="parity", seq_len=12, hidden_size=8, batch_size=8, seed=5)
    run = Run(config)
    assert run.model.bptt is None
    out, _ = run.model.rnn(run.probe)
    assert torch.equal(run.model(run.probe), run.model.head(out))
    whole = Run(config.replace(bptt=12))
    run.train(5)
    whole.train(5)
    np.testing.assert_array_equal(run.history.loss, whole.history.loss)
    for p, q in zip(run.model.parameters(), whole.model.parameters()):
        assert torch.equal(p, q)
    a, b = run.trace(), whole.trace()
    np.testing.assert_array_equal(a.grad_norm, b.grad_norm)
    np.testing.assert_array_equal(a.input_grad, b.input_grad)


def test_truncation_changes_training():
    """The cut is real in training: the same config with bptt=3 takes other steps than full BPTT."""
    full, cut = pair("lstm", 1, k=3, task="parity", T=12)
    full.train(3)
    cut.train(3)
    assert full.history.loss[0] == cut.history.loss[0]  # the same first forward pass
    assert not np.allclose(full.history.loss[1:], cut.history.loss[1:], rtol=1e-6, atol=0)


@pytest.mark.parametrize("arch,layers", ONE_WAY)
def test_the_trace_shows_the_cut(arch, layers):
    """The adding task scores the last step only (t = 22; chunks of 5 start at 20): under truncation every
    gradient before step 20 is exactly zero, and the states and predictions are the full model's."""
    full, cut = pair(arch, layers, k=5)
    a, b = full.trace(), cut.trace()
    assert b.bptt == 5 and a.bptt is None
    assert (b.input_grad[:20] == 0).all() and (b.input_grad[20:] > 0).all()
    assert (b.grad_norm[:, :, :20] == 0).all() and (b.grad_norm[:, :, 20:] > 0).all()
    assert (a.input_grad > 0).all() and (a.grad_norm > 0).all()
    np.testing.assert_allclose(b.hidden, a.hidden, atol=1e-6, rtol=0)
    np.testing.assert_allclose(b.predictions, cut.model(cut.probe).detach().numpy(), atol=1e-6, rtol=0)
    np.testing.assert_allclose(b.input_grad[20:], a.input_grad[20:], rtol=1e-4)  # the last chunk's own paths


def _cut_shapes(fig) -> list[float]:
    return sorted(shape["x0"] for shape in fig.layout.get("shapes", ()) if shape.get("line", {}).get("dash") == "dot")


def test_the_gradient_charts_mark_the_cuts():
    _, cut = pair("gru", 1, k=5)
    cut.trace()
    cut.train(2)
    trace = cut.trace()
    line, flow = charts.grad_norm_chart(trace), charts.gradient_flow_heatmap(cut.history, trace=trace)
    for fig in (line, flow):
        assert _cut_shapes(fig) == [4.5, 9.5, 14.5, 19.5]  # between steps 4 and 5, 9 and 10, ...
    assert any("cut every 5 steps" in a["text"] for a in line.layout["annotations"])
    full, _ = pair("gru", 1, k=5)
    assert _cut_shapes(charts.grad_norm_chart(full.trace())) == []
    assert "truncated BPTT" in charts.CAPTIONS["grad_norm_chart"] and "dotted" in charts.CAPTIONS["gradient_flow_heatmap"]


def test_too_many_cuts_are_said_not_drawn():
    run = Run(RunConfig(arch="rnn", task="adding", seq_len=100, hidden_size=4, bptt=1))
    fig = charts.grad_norm_chart(run.trace())
    assert _cut_shapes(fig) == []
    assert any("99 cuts, not drawn" in a["text"] for a in fig.layout["annotations"])


@pytest.mark.parametrize("value", [0, -3, 2.5, True, "5", 10**6])
def test_bad_bptt_values_are_refused_by_name(value):
    with pytest.raises(ValueError, match="bptt must be an integer from 1 to"):
        RunConfig(arch="lstm", bptt=value)


@pytest.mark.parametrize("changes,match", [
    (dict(arch="transformer"), "bptt is for the rnn and lstm and gru only"),
    (dict(arch="mingru"), "bptt is for the rnn and lstm and gru only"),
    (dict(arch="ssm"), "bptt is for the rnn and lstm and gru only"),
    (dict(arch="gru", bidirectional=True), "bptt must be None .* bidirectional"),
    (dict(arch="gru", task="translate", seq_len=14), "bptt must be None .* translate"),
])
def test_archs_without_a_loop_to_cut_refuse_it(changes, match):
    with pytest.raises(ValueError, match=match):
        RunConfig(bptt=4, **changes)


def test_switching_to_another_arch_resets_bptt():
    assert unused_fields("transformer")["bptt"] is None
    assert "bptt" not in unused_fields("lstm")


def test_beyond_the_cut_the_weights_that_read_the_letters_never_learn():
    """Copy, T=16, k=8: the letters (steps 0-4) and the answers (11-15) never share a chunk, so the columns of
    W_ih that read the letters get exactly zero gradient and keep their initial values; full BPTT trains them."""
    config = RunConfig(arch="lstm", task="copy", seq_len=16, hidden_size=16, lr=1e-2, batch_size=16, seed=2)
    for bptt, learns in ((8, False), (None, True)):
        run = Run(config.replace(bptt=bptt))
        before = run.model.rnn.weight_ih_l0.detach().clone()
        run.train(10)
        after = run.model.rnn.weight_ih_l0.detach()
        assert torch.equal(after[:, :8], before[:, :8]) is not learns  # channels 0-7: the letters a-h
        assert not torch.equal(after[:, 8:], before[:, 8:])  # blank and delimiter: read in the answers' chunk
