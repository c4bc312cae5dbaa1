"""minGRU, minLSTM and the selective SSM: the parallel scans against plain loops, the trace loop against
the parallel forward, and the equations the trace records."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from explorer import Run
from explorer.config import RunConfig
from explorer.models import build_model
from explorer.scan import SelectiveScan, g, log_g, log_scan
from explorer.trace import _loop_ssm, trace_model

torch.set_num_threads(1)
SCAN_CONFIGS = {  # name -> RunConfig changes
    "mingru": dict(arch="mingru"), "minlstm": dict(arch="minlstm"),
    "ssm": dict(arch="ssm", state_size=5), "ssm time-invariant": dict(arch="ssm", state_size=5, selective=False),
}


def loop(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """h_t = a_t * h_{t-1} + b_t, h_{-1} = 0, one step at a time over axis 1."""
    h, out = torch.zeros_like(b[:, 0]), []
    for t in range(b.shape[1]):
        h = a[:, t] * h + b[:, t]
        out.append(h)
    return torch.stack(out, dim=1)


def test_log_scan_matches_a_loop_across_chunks():
    torch.manual_seed(0)
    log_a = -F.softplus(3 * torch.randn(2, 150, 4))  # from keep-all to forget-all
    log_b = torch.randn(2, 150, 4)
    expected = loop(log_a.exp(), log_b.exp())
    torch.testing.assert_close(log_scan(log_a, log_b, chunk=64), expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(log_scan(log_a, log_b, chunk=7), expected, atol=1e-5, rtol=1e-5)


def selective_scan_loop(u, delta, A, B, C):
    """y_t = C_t h_t, h_t = exp(Delta_t A) * h_{t-1} + Delta_t u_t B_t: the S6 equations one step at a time."""
    h, ys = torch.zeros(u.shape[0], *A.shape), []  # (B, E, N)
    for t in range(u.shape[1]):
        h = (delta[:, t, :, None] * A).exp() * h + (delta[:, t] * u[:, t])[:, :, None] * B[:, t, None, :]
        ys.append((h * C[:, t, None, :]).sum(-1))
    return torch.stack(ys, dim=1)  # (B, T, E)


def scan_inputs(seed=0):
    torch.manual_seed(seed)
    u = 3 * torch.randn(2, 37, 3)  # (B, T, E): negative inputs too
    delta = torch.rand(2, 37, 3) * torch.tensor([0.01, 1.0, 10.0])  # from keep-all to forget-all in one step
    A = -torch.rand(3, 5) * torch.tensor([0.1, 1.0, 10.0, 100.0, 1000.0])  # (E, N)
    B, C = torch.randn(2, 37, 5), torch.randn(2, 37, 5)  # (B, T, N)
    return [v.requires_grad_() for v in (u, delta, A, B, C)]


def values_and_gradients(fn, inputs, weights):
    y = fn(*inputs)
    grads = torch.autograd.grad((y * weights).sum(), inputs)
    return [y.detach(), *grads]


def test_selective_scan_matches_the_loop_values_and_gradients():
    inputs = scan_inputs()
    weights = torch.randn(2, 37, 3)  # a loss that weighs every output differently
    fast = values_and_gradients(SelectiveScan.apply, inputs, weights)
    slow = values_and_gradients(selective_scan_loop, inputs, weights)
    for name, f, s in zip(("y", "du", "d delta", "dA", "dB", "dC"), fast, slow):
        torch.testing.assert_close(f, s, atol=1e-5, rtol=1e-5, msg=name)


def test_selective_scan_gradients_pass_gradcheck_in_float64():
    inputs = [v.detach().double()[:, :9].requires_grad_() if v.dim() == 3 else v.detach().double().requires_grad_()
              for v in scan_inputs(seed=1)]  # T=9: gradcheck perturbs every input one by one
    assert torch.autograd.gradcheck(SelectiveScan.apply, inputs)


def test_selective_scan_takes_the_time_invariant_ssm_expanded_inputs():
    u, delta, A, B, C = scan_inputs()
    delta, B, C = delta[:1, :1].expand_as(delta), B[:1, :1].expand_as(B), C[:1, :1].expand_as(C)  # stride 0
    weights = torch.randn(2, 37, 3)
    fast = values_and_gradients(SelectiveScan.apply, [u, delta, A, B, C], weights)
    slow = values_and_gradients(selective_scan_loop, [u, delta, A, B, C], weights)
    for f, s in zip(fast, slow):
        torch.testing.assert_close(f, s, atol=1e-5, rtol=1e-5)


def test_log_g_is_the_log_of_g():
    x = torch.linspace(-30, 30, 601)
    torch.testing.assert_close(log_g(x).exp(), g(x))
    assert (g(x) > 0).all()


def make(changes, num_layers=2, seed=0):
    config = RunConfig(hidden_size=6, num_layers=num_layers, seed=seed, **changes)
    torch.manual_seed(seed)
    model = build_model(config, input_size=3, output_size=2, causal=True)
    x, y = torch.randn(4, 23, 3), torch.randn(4, 23, 2)  # (B, T, I): T spans several scan chunks
    return model, x, y, trace_model(model, x, y, lambda out, target: F.mse_loss(out, target))


@pytest.mark.parametrize("name", list(SCAN_CONFIGS))
def test_trace_loop_matches_parallel_forward(name):
    model, x, y, fields = make(SCAN_CONFIGS[name])
    np.testing.assert_allclose(fields["predictions"], model(x).detach().numpy(), atol=1e-5)
    assert fields["hidden"].shape == (2, 1, 4, 23, 6)
    assert set(fields["gates"]) == set(model.layers[0].gates)
    assert fields["grad_norm"].shape == (2, 1, 23) and (fields["grad_norm"] > 0).all()


def test_ssm_causal_conv_is_its_conv1d_keeping_the_first_t_outputs():
    model, x, _, _ = make(SCAN_CONFIGS["ssm"])
    layer = model.layers[0]
    u = torch.randn(4, 23, 6)  # (B, T, E)
    expected = layer.conv1d(u.transpose(1, 2))[..., :23].transpose(1, 2)  # Mamba's causal conv
    torch.testing.assert_close(layer.causal_conv(u), expected, atol=1e-6, rtol=1e-6)
    assert not torch.allclose(layer.causal_conv(u.flip(1)), expected.flip(1))  # order matters: it reads t-3..t


def loop_forward(model, x):
    """The SSM model's output through the trace's explicit time loop (explorer/trace.py) instead of the scan."""
    h = model.embed(x)  # (B, T, H)
    for norm, layer in zip(model.norms, model.layers):
        outs, _, _ = _loop_ssm(layer, norm(h))
        h = h + torch.stack(outs, dim=1)
    return model.head(model.norm_f(h))


@pytest.mark.parametrize("name", ["ssm", "ssm time-invariant"])
def test_ssm_parameter_gradients_match_the_trace_loop(name):
    model, x, y, _ = make(SCAN_CONFIGS[name])
    params = [p for p in model.parameters()]
    fast = torch.autograd.grad(F.mse_loss(model(x), y), params)
    slow = torch.autograd.grad(F.mse_loss(loop_forward(model, x), y), params)
    for (pname, _), f, s in zip(model.named_parameters(), fast, slow):
        torch.testing.assert_close(f, s, atol=1e-5, rtol=1e-4, msg=pname)
    assert max(f.abs().max() for f in fast) > 1e-3  # a loss that reaches the weights


@pytest.mark.parametrize("arch", ["mingru", "minlstm"])
def test_min_hidden_state_matches_the_scan_layer_by_layer(arch):
    model, x, _, fields = make(dict(arch=arch))
    h = x
    for k, layer in enumerate(model.layers):
        h = layer(h)  # (B, T, H): the parallel scan
        np.testing.assert_allclose(fields["hidden"][k, 0], h.detach().numpy(), atol=1e-5)


def test_mingru_gate_reproduces_the_state():
    model, x, _, fields = make(dict(arch="mingru"), num_layers=1)
    z, h = fields["gates"]["z"][0, 0], fields["hidden"][0, 0]  # (B, T, H)
    candidate = g(model.layers[0].linear(x).chunk(2, dim=-1)[1]).detach().numpy()
    h_prev = np.concatenate([np.zeros_like(h[:, :1]), h[:, :-1]], axis=1)
    np.testing.assert_allclose(h, (1 - z) * h_prev + z * candidate, atol=1e-5)


def test_minlstm_gates_are_normalised_to_sum_to_one():
    _, _, _, fields = make(dict(arch="minlstm"))
    np.testing.assert_allclose(fields["gates"]["f"] + fields["gates"]["i"], 1.0, atol=1e-6)


def test_time_invariant_ssm_selects_nothing_and_the_selective_one_does():
    _, _, _, fixed = make(SCAN_CONFIGS["ssm time-invariant"])
    _, _, _, chosen = make(SCAN_CONFIGS["ssm"])
    for gate in ("delta", "B", "C"):
        assert np.ptp(fixed["gates"][gate], axis=3).max() == 0  # the same at every step t
        assert np.ptp(chosen["gates"][gate], axis=3).max() > 1e-4  # moves with the input


def test_ssm_gradient_flows_back_through_the_state():
    """grad_norm is taken on the (E, N) state: at init (Delta <= 0.1) it still reaches the first step."""
    _, _, _, fields = make(SCAN_CONFIGS["ssm"], num_layers=1)
    assert fields["grad_norm"][0, 0, 0] > 0.1 * fields["grad_norm"][0, 0, -1]


@pytest.mark.parametrize("arch", ["mingru", "minlstm", "ssm"])
def test_scan_archs_train_and_trace(arch):
    run = Run(RunConfig(arch=arch, task="adding", seq_len=10, hidden_size=8, batch_size=8,
                        **({"state_size": 4} if arch == "ssm" else {})))
    first = run.train_step()
    run.train(20)
    assert run.status == "ok" and run.history.loss[-1] < first
    tr = run.trace()
    np.testing.assert_allclose(tr.predictions, run.model(run.probe).detach().numpy(), atol=1e-5)


def test_scan_archs_refuse_bidirectional_and_bound_the_state_size():
    with pytest.raises(ValueError, match="bidirectional"):
        RunConfig(arch="mingru", bidirectional=True)
    with pytest.raises(ValueError, match="state_size"):
        RunConfig(arch="ssm", state_size=65)
    with pytest.raises(ValueError, match="state_size to"):  # the (H, N) state counts against the visitor's budget
        RunConfig(arch="ssm", batch_size=64, seq_len=200, hidden_size=32, state_size=64)
    RunConfig(arch="ssm", batch_size=64, seq_len=200, hidden_size=32, state_size=4)
    RunConfig(arch="lstm", batch_size=64, seq_len=200, hidden_size=32)  # only the ssm keeps N


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru", "transformer", "mingru", "minlstm"])
def test_only_the_ssm_takes_a_state_size_or_selective(arch):
    # a setting the model would silently ignore is refused, naming the field
    with pytest.raises(ValueError, match="state_size is for the ssm only"):
        RunConfig(arch=arch, state_size=8)
    with pytest.raises(ValueError, match="selective is for the ssm only"):
        RunConfig(arch=arch, selective=False)
    RunConfig(arch=arch, state_size=16, selective=True)  # the defaults, as the sidebar carries them


def test_a_link_to_another_arch_drops_the_ssm_settings_and_refuses_them_explicitly():
    from explorer.urlstate import config_from_params
    ssm = RunConfig(arch="ssm", state_size=8, selective=False)
    config, notices = config_from_params({"arch": "lstm"}, base=ssm)  # the sidebar held an SSM
    assert (config.arch, config.state_size, config.selective, notices) == ("lstm", 16, True, [])
    config, notices = config_from_params({"state_size": "8", "arch": "gru", "seed": "3"})
    assert (config.arch, config.state_size, config.seed) == ("gru", 16, 3)
    assert len(notices) == 1 and "state_size" in notices[0] and "ssm only" in notices[0]
    config, notices = config_from_params({"selective": "0", "state_size": "8", "arch": "ssm"})  # any order
    assert (config.arch, config.state_size, config.selective, notices) == ("ssm", 8, False, [])
    assert config_from_params({"arch": "lstm"}, base=ssm.replace(state_size=64, hidden_size=32))[0].arch == "lstm"


def test_a_link_sets_the_ssm_fields_clamps_the_state_size_and_round_trips():
    from explorer.urlstate import config_from_params, params_from_config
    config, notices = config_from_params({"arch": "ssm", "state_size": "99", "selective": "0"})
    assert (config.arch, config.state_size, config.selective) == ("ssm", 64, False)
    assert len(notices) == 1 and "state_size" in notices[0]
    assert config_from_params(params_from_config(config)) == (config, [])
    config, notices = config_from_params({"arch": "mingru", "bidirectional": "1"})
    assert config.arch == "mingru" and not config.bidirectional and "bidirectional" in notices[0]
