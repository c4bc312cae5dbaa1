"""Inspect's numbers against independent computations: numpy PCA and eigenvalues, autograd Jacobians,
finite differences through torch's own cells; and the chart builders that draw them."""
import re

import numpy as np
import pytest
import torch
from torch import nn

from explorer import charts
from explorer import inspection as ins
from explorer.charts.equations import equations
from explorer.config import RunConfig
from explorer.run import Run

pytestmark = pytest.mark.usefixtures("plotly_figures")  # builders make go.Figure here

torch.set_num_threads(1)


def tiny(arch="lstm", task="parity", seq_len=6, hidden_size=4, **kw) -> Run:
    return Run(RunConfig(arch=arch, task=task, seq_len=seq_len, hidden_size=hidden_size, **kw))


def one(run: Run) -> torch.Tensor:
    return run.probe[:1]  # (1, T, I)


# -- PCA ---------------------------------------------------------------------------------------

def test_pca_matches_covariance_eigenvectors():
    rng = np.random.default_rng(0)
    hidden = rng.normal(size=(30, 5)) @ np.diag([3.0, 2.0, 1.0, 0.5, 0.1])  # (T, H)
    points, explained = ins.pca(hidden, k=3)
    centred = hidden - hidden.mean(0)
    eigvals, eigvecs = np.linalg.eigh(np.cov(centred.T))
    order = eigvals.argsort()[::-1]
    np.testing.assert_allclose(explained, eigvals[order][:3] / eigvals.sum(), rtol=1e-8)
    for k in range(3):  # same axis up to sign
        ref = centred @ eigvecs[:, order[k]]
        assert min(np.abs(points[:, k] - ref).max(), np.abs(points[:, k] + ref).max()) < 1e-8
    assert points.shape == (30, 3)


def test_pca_pads_when_rank_is_too_small():
    points, explained = ins.pca(np.arange(6.0).reshape(6, 1), k=3)  # H = 1: one real component
    assert points.shape == (6, 3)
    np.testing.assert_allclose(explained, [1.0, 0.0, 0.0])
    assert np.all(points[:, 1:] == 0)


def test_pca_leaves_out_steps_that_overflowed():
    hidden = np.random.default_rng(1).normal(size=(10, 3))
    hidden[7:] = np.inf
    points, explained = ins.pca(hidden, k=2)
    assert np.isnan(points[7:]).all() and np.isfinite(points[:7]).all()
    np.testing.assert_allclose(points[:7], ins.pca(hidden[:7], k=2)[0])


def test_an_overflowing_relu_rnn_is_inspected_without_errors():
    run = tiny("rnn", task="adding", seq_len=400, hidden_size=8, nonlinearity="relu", init="identity")
    with torch.no_grad():
        run.model.rnn.weight_hh_l0.mul_(3.0)  # h_t grows 3x per step: inf long before t = 400
    look = ins.Inspection(run, one(run), run.probe_targets[:1])
    assert not np.isfinite(look.trace.hidden).all()
    look.pca(0, 0, 3), look.saliency_row(300), look.jacobian_norms(0, 0), look.terms(0, 0)
    assert look.eigenvalues(0, 0)[1] == pytest.approx(3.0)
    values = look.values(0, 0)
    norms = look.jacobian_norms(0, 0)[None]
    figures = [charts.step_strips([("h_t", values["h"][350])], "Hidden state h_t at t=350"),
               charts.hidden_trajectory(look.pca(0, 0, 2)[0], 350),
               charts.saliency_strip(look.saliency_row(350), look.trace.tokens[0], 350),
               charts.step_jacobian_chart(norms, bounds=ins.product_bound(norms[0])[None])]
    for fig in figures:
        fig.to_json()  # serialisable for the browser despite inf and NaN


# -- saliency ----------------------------------------------------------------------------------

@pytest.mark.parametrize("arch,bidirectional", [("rnn", False), ("lstm", False), ("gru", True), ("transformer", False)])
def test_saliency_matches_autograd_jacobian(arch, bidirectional):
    run = tiny(arch, task="lookahead" if bidirectional else "adding", bidirectional=bidirectional)
    x = one(run)
    jac = torch.autograd.functional.jacobian(run.model, x)  # (1, T, O, 1, T, I)
    expected = jac[0, :, :, 0].pow(2).sum(dim=(1, 3)).sqrt().numpy()  # (T_out, T_in)
    np.testing.assert_allclose(ins.saliency(run, x), expected, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(ins.saliency(run, x, steps=[4, 1]), expected[[4, 1]], rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("arch", ["gru", "transformer"])
def test_saliency_of_a_causal_model_ignores_the_future(arch):
    run = tiny(arch, task="parity", seq_len=8)
    s = ins.saliency(run, one(run))
    assert np.all(np.triu(s, k=1) == 0)  # output t never depends on inputs after t
    assert np.all(np.diag(s) > 0)


def test_saliency_sees_the_future_when_bidirectional():
    run = tiny("lstm", task="lookahead", bidirectional=True)
    s = ins.saliency(run, one(run))
    assert np.all(s[np.triu_indices(len(s), k=1)] > 0)  # output t depends on later inputs


def test_large_sequences_do_not_get_a_full_saliency_matrix():
    run = Run(RunConfig(arch="rnn", task="parity", seq_len=1000, hidden_size=4))
    assert not ins.full_saliency_fits(run, one(run))
    assert ins.full_saliency_fits(tiny(), one(tiny()))


# -- recurrent weights ---------------------------------------------------------------------------

@pytest.mark.parametrize("arch,rows", [("rnn", slice(0, 4)), ("lstm", slice(8, 12)), ("gru", slice(8, 12))])
def test_eigenvalues_are_those_of_the_named_block(arch, rows):
    run = tiny(arch, bidirectional=True)
    w = run.model.rnn.weight_hh_l0_reverse.detach().double().numpy()[rows]  # g (lstm), n (gru), all (rnn)
    eigvals, radius = ins.recurrent_eigenvalues(run, layer=0, direction=1)
    expected = np.linalg.eigvals(w)
    np.testing.assert_allclose(np.sort_complex(eigvals), np.sort_complex(expected), atol=1e-10)
    assert radius == pytest.approx(np.abs(expected).max())


@pytest.mark.parametrize("init,check", [("identity", lambda e: np.allclose(e, 1)),
                                        ("orthogonal", lambda e: np.allclose(np.abs(e), 1))])
def test_eigenvalues_follow_the_init(init, check):
    eigvals, radius = ins.recurrent_eigenvalues(tiny("rnn", hidden_size=6, init=init))
    assert check(eigvals)
    assert radius == pytest.approx(1.0)


def test_transformer_has_no_recurrent_weights():
    with pytest.raises(ValueError, match="no recurrent weights"):
        ins.recurrent_eigenvalues(tiny("transformer"))


def _torch_cell(run, direction):
    """torch's own nn.*Cell in float64 with this direction's layer-0 weights: independent of trace.py."""
    rnn, arch = run.model.rnn, run.config.arch
    cls = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[arch]
    extra = {"nonlinearity": rnn.nonlinearity} if arch == "rnn" else {}
    cell = cls(rnn.input_size, rnn.hidden_size, **extra).double()
    suffix = "_l0" + ("_reverse" if direction else "")
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(rnn, name + suffix))
    return cell


def _state_jacobian_fd(run, x, t, direction, eps=1e-6):
    """ds_t/ds_prev by central differences through nn.*Cell, s = h (or (h, c) for lstm), float64."""
    arch, H = run.config.arch, run.config.hidden_size
    cell = _torch_cell(run, direction)
    xs = x[0].double()
    lstm = arch == "lstm"
    s = torch.zeros(2 * H if lstm else H, dtype=torch.float64)
    order = list(range(x.shape[1] - 1, t, -1)) if direction else list(range(t))

    def step(s, k):
        if lstm:
            h, c = cell(xs[k:k + 1], (s[None, :H], s[None, H:]))
            return torch.cat([h[0], c[0]])
        return cell(xs[k:k + 1], s[None])[0]

    with torch.no_grad():
        for k in order:  # the state before step t, in reading order
            s = step(s, k)
        columns = []
        for j in range(len(s)):
            e = torch.zeros_like(s)
            e[j] = eps
            columns.append((step(s + e, t) - step(s - e, t)) / (2 * eps))
    return torch.stack(columns, dim=1).numpy()  # (S_out, S_in)


@pytest.mark.parametrize("arch,direction", [("rnn", 0), ("lstm", 0), ("gru", 0), ("lstm", 1), ("gru", 1)])
def test_step_jacobian_norm_matches_finite_differences(arch, direction):
    run = tiny(arch, task="lookahead", seq_len=7, bidirectional=direction == 1)
    x = one(run)
    norms = ins.step_jacobian_norms(run, x, layer=0, direction=direction)
    assert norms.shape == (7,)
    for t in (0, 3, 6):
        expected = np.linalg.norm(_state_jacobian_fd(run, x, t, direction), ord=2)
        assert norms[t] == pytest.approx(expected, rel=2e-4), f"t={t}"


def test_relu_rnn_step_jacobian_matches_finite_differences():
    run = tiny("rnn", nonlinearity="relu", init="identity")
    x = one(run)
    norms = ins.step_jacobian_norms(run, x)
    for t in (1, 5):
        assert norms[t] == pytest.approx(np.linalg.norm(_state_jacobian_fd(run, x, t, 0), ord=2), rel=2e-4)


@pytest.mark.parametrize("arch,hidden_size,seq_len", [("lstm", 6, 9), ("rnn", 48, 20), ("gru", 40, 20)])
def test_lanczos_agrees_with_the_exact_norm(arch, hidden_size, seq_len):
    run = tiny(arch, seq_len=seq_len, hidden_size=hidden_size)
    x = one(run)
    exact = ins.step_jacobian_norms(run, x)
    estimated = ins.step_jacobian_norms(run, x, exact_max=0)
    np.testing.assert_allclose(estimated, exact, rtol=1e-3)
    assert np.all(estimated <= exact * (1 + 1e-5))  # Ritz values approach from below


def test_step_jacobian_of_an_upper_layer_holds_its_input_fixed():
    run = tiny("gru", num_layers=2)
    x = one(run)
    lower = ins.step_jacobian_norms(run, x, layer=0)
    upper = ins.step_jacobian_norms(run, x, layer=1)
    assert upper.shape == lower.shape and not np.allclose(upper, lower)
    step, xw, prev = ins.step_jacobians_inputs(run, x, layer=1)
    out, _ = run.model.rnn(x)  # (1, T, H): the fused top layer
    np.testing.assert_allclose(step(prev, xw).detach().numpy(), out[0].detach().numpy(), atol=1e-5)


def test_product_bound_multiplies_the_norms_read_after_t():
    norms = np.array([2.0, 0.5, 3.0, 0.1])
    np.testing.assert_allclose(ins.product_bound(norms, direction=0), [0.15, 0.3, 0.1, 1.0])
    np.testing.assert_allclose(ins.product_bound(norms, direction=1), [1.0, 2.0, 1.0, 3.0])


# -- one step's equations ------------------------------------------------------------------------

def _terms_and_values(run, t_layer=0):
    x, y = run.probe[:1], run.probe_targets[:1]
    trace = run.trace(x, y)
    values = {k: v[0, 0, 0] for k, v in trace.gates.items()} | {"h": trace.hidden[0, 0, 0]}
    if trace.cell is not None:
        values["c"] = trace.cell[0, 0, 0]
    terms = ins.cell_terms(run, trace.hidden[0, 0, 0], None if trace.cell is None else trace.cell[0, 0, 0],
                           trace.inputs[0])
    return terms, values


@pytest.mark.parametrize("arch", ["lstm", "gru"])
def test_cell_terms_reproduce_the_traced_gates(arch):
    run = tiny(arch, seq_len=8)
    terms, values = _terms_and_values(run)
    sigmoid = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    for gate in ("i", "f", "o") if arch == "lstm" else ("r", "z"):
        np.testing.assert_allclose(sigmoid(terms["x:" + gate] + terms["h:" + gate]), values[gate], atol=1e-5)
    if arch == "gru":
        n = np.tanh(terms["x:n"] + values["r"] * terms["h:n"])
        np.testing.assert_allclose(n, values["n"], atol=1e-5)


@pytest.mark.parametrize("arch,lines", [("rnn", 1), ("lstm", 6), ("gru", 4)])
def test_equations_carry_the_steps_numbers(arch, lines):
    run = tiny(arch, seq_len=8)
    terms, values = _terms_and_values(run)
    latex = equations(arch, terms, values, t=5, unit=2)
    assert len(latex) == lines
    assert latex[-1].startswith("h_t")
    assert latex[-1].endswith(f"= {values['h'][5, 2]:.3f}")  # the traced h_t of that unit
    numbers = [float(v) for v in re.findall(r"-?\d+\.\d{3}", latex[-1])]
    if arch == "lstm":
        o, c = numbers[0], numbers[1]
        assert o * np.tanh(c) == pytest.approx(numbers[-1], abs=2e-3)
    if arch == "gru":
        z, n, h_prev = numbers[0], numbers[1], numbers[3]
        assert (1 - z) * n + z * h_prev == pytest.approx(numbers[-1], abs=2e-3)


# -- the frozen copy ---------------------------------------------------------------------------

def test_frozen_copy_keeps_its_weights_while_the_run_trains():
    run = tiny("gru", seq_len=8)
    snap = ins.frozen(run)
    before = snap.model.rnn.weight_hh_l0.detach().clone()
    run.train(3)
    assert torch.equal(snap.model.rnn.weight_hh_l0, before)
    assert not torch.equal(run.model.rnn.weight_hh_l0, before)
    assert snap.step == 0 and run.step == 3
    assert snap.trace(run.probe[:1], run.probe_targets[:1]).hidden.shape[2] == 1
    with pytest.raises(AttributeError):
        snap.train(1)


# -- charts --------------------------------------------------------------------------------------

def test_step_strips_group_rows_by_colour_scale():
    rows = [("i", np.full(4, 0.2)), ("f", np.full(4, 0.9)), ("g", np.zeros(4)), ("o", np.full(4, 0.5)),
            ("c_t", np.full(4, 2.5)), ("h_t", np.full(4, 0.3))]
    fig = charts.step_strips(rows, "Gates, c_t, h_t at t=3", ranges={"c_t": (-3, 3), "h_t": (-1, 1)})
    assert fig.layout.title.text.startswith("Gates")
    assert [t.name for t in fig.data] == ["input gate i", "forget gate f", "output gate o", "cell candidate g",
                                          "hidden state h_t", "cell state c_t"]  # sigmoid | tanh | c_t alone
    assert [(t.zmin, t.zmax) for t in fig.data] == [(0, 1)] * 3 + [(-1, 1)] * 2 + [(-3, 3)]
    assert [t.showscale for t in fig.data] == [True, False, False, True, False, False]
    assert fig.data[5].y[0] == "cell state c_t (±3)"  # alone on its scale: the range in the label
    assert fig.layout.xaxis6.title.text == "unit"
    assert fig.data[0].texttemplate  # small H: numbers printed in the cells


def test_step_jacobian_chart_has_the_recurrent_weights_title_and_a_log_axis():
    norms = np.array([[0.9, 0.8, 1e-40], [1.1, 1.2, 0.7]])
    fig = charts.step_jacobian_chart(norms, bounds=np.array([ins.product_bound(n, d) for d, n in enumerate(norms)]))
    assert fig.layout.title.text == "Recurrent weights: ||dh_t/dh_{t-1}||"
    assert fig.layout.yaxis.type == "log"
    assert fig.layout.xaxis.title.text == "time step t" and fig.layout.yaxis.title.text
    assert len(fig.data) == 4
    assert min(fig.data[0].y) >= 1e-30  # clipped for the log axis, real value in the hover
    lstm = charts.step_jacobian_chart(norms[:1], lstm=True)
    assert "(h_t, c_t)" in lstm.layout.title.text


def test_attention_row_outlines_the_query():
    fig = charts.attention_row(np.full((2, 5), 0.2), 3, tokens=list("abcde"))
    assert fig.layout.title.text.startswith("Attention of query t=3")
    assert fig.layout.shapes[0].x0 == 2.5
    assert fig.layout.xaxis.title.text.startswith("key step s")
