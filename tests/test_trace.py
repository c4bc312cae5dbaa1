"""The instrumented time loop against torch's fused modules, the cell equations, and autograd."""
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from explorer import Run
from explorer.config import RunConfig
from explorer.models import build_model
from explorer.trace import run_direction, trace_model

torch.set_num_threads(1)
ARCHS = ("rnn", "lstm", "gru")


def mse(output, y):
    return F.mse_loss(output, y)


def make(arch, bidirectional=False, num_layers=1, hidden_size=6, seed=0, **kw):
    config = RunConfig(arch=arch, hidden_size=hidden_size, num_layers=num_layers,
                       bidirectional=bidirectional, seed=seed, **kw)
    torch.manual_seed(seed)
    model = build_model(config, input_size=3, output_size=2, causal=True)
    x = torch.randn(4, 7, 3)  # (B, T, I)
    y = torch.randn(4, 7, 2)
    return model, x, y


@pytest.mark.parametrize("arch,bidirectional,num_layers", list(itertools.product(ARCHS, (False, True), (1, 2))))
def test_trace_matches_fused_forward(arch, bidirectional, num_layers):
    model, x, y = make(arch, bidirectional, num_layers)
    fields = trace_model(model, x, y, mse)
    fused_out, _ = model.rnn(x)  # (B, T, D*H)
    np.testing.assert_allclose(fields["predictions"], model(x).detach().numpy(), atol=1e-5)
    top = fields["hidden"][-1]  # (D, B, T, H)
    D = 2 if bidirectional else 1
    assert fields["hidden"].shape == (num_layers, D, 4, 7, 6)
    np.testing.assert_allclose(np.concatenate(list(top), axis=-1), fused_out.detach().numpy(), atol=1e-5)
    assert fields["grad_norm"].shape == (num_layers, D, 7)


def test_trace_matches_fused_relu_rnn():
    model, x, y = make("rnn", nonlinearity="relu")
    fields = trace_model(model, x, y, mse)
    np.testing.assert_allclose(fields["predictions"], model(x).detach().numpy(), atol=1e-5)


def test_trace_matches_transformer_forward():
    config = RunConfig(arch="transformer", hidden_size=8, num_layers=2, num_heads=2)
    torch.manual_seed(0)
    model = build_model(config, 3, 2, causal=True).eval()
    x, y = torch.randn(4, 7, 3), torch.randn(4, 7, 2)
    fields = trace_model(model, x, y, mse)
    np.testing.assert_allclose(fields["predictions"], model(x).detach().numpy(), atol=1e-5)
    attention = fields["attention"]
    assert attention.shape == (2, 2, 4, 7, 7)  # (L, heads, B, T, T)
    np.testing.assert_allclose(attention.sum(-1), 1.0, atol=1e-5)
    assert np.all(np.triu(attention[0, 0, 0], k=1) == 0)  # causal: no weight on later keys


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def test_lstm_gates_reproduce_states():
    model, x, y = make("lstm", bidirectional=True)
    f = trace_model(model, x, y, mse)
    i, fg, g, o = (f["gates"][k][0] for k in "ifgo")  # (D, B, T, H)
    c, h = f["cell"][0], f["hidden"][0]
    assert i.min() >= 0 and i.max() <= 1 and g.min() >= -1 and g.max() <= 1
    c_prev = np.zeros_like(c[0][:, 0])
    for t in range(7):  # forward direction: c_t = f * c_{t-1} + i * g
        np.testing.assert_allclose(c[0][:, t], fg[0][:, t] * c_prev + i[0][:, t] * g[0][:, t], atol=1e-5)
        c_prev = c[0][:, t]
    np.testing.assert_allclose(h, o * np.tanh(c), atol=1e-5)
    # reverse direction reads T-1 down to 0, so its "previous" state sits at t + 1
    np.testing.assert_allclose(c[1][:, 2], fg[1][:, 2] * c[1][:, 3] + i[1][:, 2] * g[1][:, 2], atol=1e-5)


def test_gru_gates_reproduce_states():
    model, x, y = make("gru")
    f = trace_model(model, x, y, mse)
    r, z, n = (f["gates"][k][0, 0] for k in "rzn")  # (B, T, H)
    h = f["hidden"][0, 0]
    h_prev = np.zeros_like(h[:, 0])
    for t in range(7):  # torch's form: h_t = (1 - z) * n + z * h_{t-1}
        np.testing.assert_allclose(h[:, t], (1 - z[:, t]) * n[:, t] + z[:, t] * h_prev, atol=1e-5)
        h_prev = h[:, t]
    # and n uses r inside: n = tanh(W_in x + b_in + r * (W_hn h_{t-1} + b_hn))
    rnn = model.rnn
    H = 6
    W_in, W_hn = rnn.weight_ih_l0[2 * H:].detach().numpy(), rnn.weight_hh_l0[2 * H:].detach().numpy()
    b_in, b_hn = rnn.bias_ih_l0[2 * H:].detach().numpy(), rnn.bias_hh_l0[2 * H:].detach().numpy()
    t = 3
    expected = np.tanh(x[:, t].numpy() @ W_in.T + b_in + r[:, t] * (h[:, t - 1] @ W_hn.T + b_hn))
    np.testing.assert_allclose(n[:, t], expected, atol=1e-5)


def fused_grad_at(model, x, y, t):
    """Independent of the loop: split the fused module at t, make h_t a leaf, and ask autograd for dL/dh_t."""
    rnn = model.rnn
    out1, state = rnn(x[:, : t + 1])
    h_t = (state[0] if isinstance(state, tuple) else state)[0].detach().requires_grad_()  # (B, H)
    carried = (h_t[None], state[1].detach()) if isinstance(state, tuple) else h_t[None]
    out2, _ = rnn(x[:, t + 1:], carried) if t + 1 < x.shape[1] else (out1[:, :0], None)
    outputs = torch.cat([out1[:, :t].detach(), h_t[:, None], out2], dim=1)  # (B, T, H)
    (grad,) = torch.autograd.grad(mse(model.head(outputs), y), h_t)
    return grad.norm(dim=-1).mean().item()


@pytest.mark.parametrize("arch", ARCHS)
def test_grad_norm_matches_autograd_on_fused_module(arch):
    model, x, y = make(arch)
    f = trace_model(model, x, y, mse)
    expected = [fused_grad_at(model, x, y, t) for t in range(7)]
    np.testing.assert_allclose(f["grad_norm"][0, 0], expected, rtol=1e-4)


@pytest.mark.parametrize("arch", ARCHS)
def test_grad_norm_of_every_layer_and_direction_is_the_gradient_of_its_h_t(arch):
    """The trace takes dL/dh_t of every layer and direction at once; here autograd keeps each h_t's own gradient."""
    model, x, y = make(arch, bidirectional=True, num_layers=2)
    traced = trace_model(model, x, y, mse)["grad_norm"]
    kept, layer_input = [], x
    for layer in range(2):
        runs = [run_direction(model.rnn, arch, layer_input, layer, d) for d in range(2)]
        for hs, _, _ in runs:
            for h in hs:
                h.retain_grad()
            kept.append(hs)
        layer_input = torch.cat([torch.stack(r[0], dim=1) for r in runs], dim=-1)
    mse(model.head(layer_input), y).backward()
    expected = np.array([[h.grad.norm(dim=-1).mean().item() for h in hs] for hs in kept]).reshape(2, 2, 7)
    np.testing.assert_allclose(traced, expected, rtol=1e-5)
    assert traced.min() > 0


@pytest.mark.parametrize("arch", ARCHS)
def test_grad_norm_matches_finite_differences(arch):
    """Perturb h_t of the loop by eps along each unit: (L(h + eps e_k) - L(h - eps e_k)) / 2 eps = dL/dh_t[k]."""
    torch.set_default_dtype(torch.float64)
    try:
        model, x, y = make(arch, hidden_size=3)
        model = model.double()
        x, y = x[:1].double(), y[:1].double()
        f = trace_model(model, x, y, mse)
        t, eps = 2, 1e-6
        grad = np.zeros(3)
        for k in range(3):
            losses = []
            for sign in (1, -1):
                losses.append(loss_with_nudge(model, x, y, t, k, sign * eps))
            grad[k] = (losses[0] - losses[1]) / (2 * eps)
        np.testing.assert_allclose(f["grad_norm"][0, 0, t], np.linalg.norm(grad), rtol=1e-4)
    finally:
        torch.set_default_dtype(torch.float32)


def loss_with_nudge(model, x, y, t, k, delta):
    """Run the fused module in two pieces with h_t (and c_t) nudged: split at t, add delta to unit k of h_t."""
    rnn = model.rnn
    with torch.no_grad():
        out1, state = rnn(x[:, : t + 1])
        if isinstance(state, tuple):
            h, c = state
            h = h.clone()
            h[0, 0, k] += delta
            state = (h, c)
        else:
            state = state.clone()
            state[0, 0, k] += delta
        out1 = out1.clone()
        out1[0, t, k] += delta
        out2, _ = rnn(x[:, t + 1:], state)
        return mse(model.head(torch.cat([out1, out2], dim=1)), y).item()


def test_vanishing_gradient_visible_in_rnn_not_in_lstm_with_forget_bias():
    torch.manual_seed(0)
    x = torch.rand(8, 100, 2)
    y = torch.full((8, 100, 1), float("nan"))
    y[:, -1] = torch.rand(8, 1)

    def masked(output, target):
        mask = ~torch.isnan(target)
        return F.mse_loss(output[mask], target[mask])

    ratios = {}
    for arch, kw in (("rnn", {}), ("lstm", {"forget_bias": 3.0})):
        config = RunConfig(arch=arch, seq_len=100, hidden_size=32, **kw)
        torch.manual_seed(0)
        model = build_model(config, 2, 1, causal=True)
        g = trace_model(model, x, y, masked)["grad_norm"][0, 0]
        ratios[arch] = g[0] / g[-1]
    assert ratios["rnn"] < 1e-6
    assert ratios["lstm"] > 1e-3


def test_transformer_gradient_is_taken_at_each_block_input_and_reaches_every_step():
    # recall scores only the last step: at the last block's output every other position would read 0
    run = Run(RunConfig(arch="transformer", task="recall", seq_len=30, hidden_size=16, num_heads=2, num_layers=2, seed=0))
    tr = run.trace()
    assert tr.grad_norm.shape == (2, 1, 30)
    embedding = tr.grad_norm[0, 0]
    assert (embedding > 1e-3 * embedding.max()).all()
    x = run.probe
    _, states, _ = run.model.forward_internals(x)
    loss = run.task.loss(run.model.head(run.model.ln_f(states[-1])), run.probe_targets)
    (g,) = torch.autograd.grad(loss, states[0])  # (B, T, H) at the embedding
    np.testing.assert_allclose(embedding, g.norm(dim=-1).mean(0).numpy(), rtol=1e-4, atol=1e-12)


@pytest.mark.parametrize("arch", ["rnn", "lstm", "transformer", "mingru", "minlstm", "ssm"])
def test_input_gradient_is_dl_dx_of_the_fused_model_for_every_architecture(arch):
    # the one measure the Compare chart puts side by side: ||dL/dx_t|| of the model torch runs
    run = Run(RunConfig(arch=arch, task="recall", seq_len=20, hidden_size=16, num_heads=2, seed=0))
    tr = run.trace()
    x = run.probe.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(run.task.loss(run.model(x), run.probe_targets), x)  # (B, T, I)
    expected = g.norm(dim=-1).mean(0).numpy()
    # the scan models train in log space and trace in a loop: float32 rounding differs at about 1e-6 of the peak
    atol = 1e-6 * expected.max() if arch in ("mingru", "minlstm", "ssm") else 1e-12
    np.testing.assert_allclose(tr.input_grad, expected, rtol=1e-4, atol=atol)
    assert not run.probe.requires_grad  # the trace kept its own leaf


@pytest.mark.parametrize("arch", ("rnn", "lstm", "gru", "transformer", "mingru", "minlstm", "ssm"))
def test_trace_records_the_gates_of_the_cell_table(arch):
    """explorer/cells.py is the one list of each cell's gates: the trace records exactly those, in that order,
    and every one has a long name and a range for the charts."""
    from explorer import cells
    tr = Run(RunConfig(arch=arch, task="adding", seq_len=6, hidden_size=8, num_heads=2, seed=0)).trace()
    assert tuple(tr.gates) == cells.gates(arch)
    assert all(gate in cells.GATES for gate in tr.gates)
