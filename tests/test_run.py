"""Run: training, determinism, divergence, bounded history, and safe save/load."""
import math
import pickle
import re

import numpy as np
import pytest
import torch

from explorer import Run, RunConfig
from explorer.history import History
from explorer.presets import PRESETS

torch.set_num_threads(1)


def small(**kw):
    base = dict(arch="lstm", task="adding", seq_len=10, hidden_size=8, batch_size=8, seed=0)
    base.update(kw)
    return RunConfig(**base)


def test_same_config_and_seed_give_identical_history():
    a, b = Run(small()), Run(small())
    a.train(20)
    b.train(20)
    assert a.history.loss == b.history.loss
    c = Run(small(seed=1))
    c.train(20)
    assert c.history.loss != a.history.loss


def test_train_records_history_and_trace_matches_model():
    run = Run(small(arch="gru"))
    assert run.train(15) == 15
    assert run.history.step == list(range(1, 16))
    tr = run.trace()
    assert tr.step == 15
    np.testing.assert_allclose(tr.predictions, run.model(run.probe).detach().numpy(), atol=1e-5)
    assert tr.hidden.shape == (1, 1, 8, 10, 8)
    assert set(tr.gates) == {"r", "z", "n"}


def test_probe_is_the_same_every_call_and_independent_of_training():
    run = Run(small())
    probe = run.probe.clone()
    run.train(5)
    assert torch.equal(run.probe, probe)
    assert torch.equal(Run(small()).probe, probe)


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru", "transformer"])
def test_every_arch_trains_and_traces(arch):
    run = Run(small(arch=arch, bidirectional=arch == "gru", num_layers=2))
    run.train(3)
    tr = run.trace()
    assert np.isfinite(tr.loss)
    if arch == "transformer":
        assert tr.attention.shape == (2, 2, 8, 10, 10)
        assert tr.gates == {} and tr.cell is None
    else:
        assert tr.grad_norm.shape == (2, 2 if arch == "gru" else 1, 10)


def test_divergence_stops_with_message_and_keeps_finite_weights():
    run = Run(small(arch="rnn", nonlinearity="relu", init="identity", lr=10.0, optimizer="sgd", seq_len=50))
    taken = run.train(200)
    assert run.status == "diverged"
    assert taken < 200
    assert "Diverged at step" in run.message and "learning rate" in run.message
    assert all(torch.isfinite(p).all() for p in run.model.parameters())
    tr = run.trace()  # still works
    assert tr.step == run.step
    assert run.train(10) == 0  # a diverged run does not train on


def test_divergence_keeps_the_last_weights_with_a_finite_loss_and_their_trace_is_finite():
    # issue 9: this IRNN diverges at step 2; the weights after step 1's update already overflow the probe
    run = Run(RunConfig(arch="rnn", task="adding", seq_len=30, nonlinearity="relu", init="identity",
                        optimizer="sgd", lr=1.0, seed=0))
    run.train(200)
    assert run.status == "diverged" and run.step == 2
    assert "The initial weights are kept" in run.message or "weights from step 0" in run.message
    tr = run.trace()
    for name in ("hidden", "grad_norm", "predictions"):
        assert np.isfinite(getattr(tr, name)).all(), name
    assert np.isfinite(tr.loss)


def test_an_unclipped_exploding_run_keeps_weights_whose_trace_is_finite():
    free = Run(PRESETS["exploding_gradients"].configs[0])
    free.train(PRESETS["exploding_gradients"].steps)
    assert free.status == "diverged"
    kept = int(re.search(r"weights from step (\d+)", free.message).group(1))
    assert kept < free.step
    assert np.isfinite(dict(zip(free.history.step, free.history.loss))[kept + 1])  # the loss these weights gave
    tr = free.trace()
    assert all(np.isfinite(getattr(tr, name)).all() for name in ("hidden", "grad_norm", "predictions"))


def test_clipping_records_pre_clip_norm():
    run = Run(small(clip_grad_norm=1e-3))
    run.train(3)
    assert min(run.history.grad_norm) > 1e-3  # the recorded norm is before clipping


def test_history_stays_bounded():
    h = History(max_points=100, max_profiles=10)
    for step in range(1, 10_001):
        h.record(step, 1.0, 0.5, 1.0, step * 0.01)
        if step % 50 == 0:
            h.record_profile(step, np.ones((1, 1, 5)))
    assert len(h) <= 100
    assert h.step[0] == 1 and h.step[-1] > 9_000
    assert len(h.profiles) <= 10 and h.profiles[0][0] == 50


def test_save_and_load_round_trip(tmp_path):
    run = Run(small(arch="gru", clip_grad_norm=1.0))
    run.train(10)
    path = tmp_path / "run.pt"
    run.save(path)
    loaded = Run.load(path)
    assert loaded.config == run.config and loaded.step == 10
    assert loaded.history.loss == run.history.loss
    np.testing.assert_allclose(loaded.trace().predictions, run.trace().predictions, atol=1e-6)
    run.train(5)
    loaded.train(5)
    assert loaded.history.loss[-5:] == run.history.loss[-5:]  # optimizer and data stream restored too


class Exploit:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_malicious_pickle_is_refused_and_does_not_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    torch.save({"format": "rnn-explorer-run", "payload": Exploit()}, path)
    with pytest.raises(ValueError, match="not an RNN Explorer run file"):
        Run.load(path)
    assert not (tmp_path / "PWNED").exists()
    path.write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(ValueError):
        Run.load(path)
    assert not (tmp_path / "PWNED").exists()


def test_truncated_foreign_and_tampered_files_raise_value_error(tmp_path):
    run = Run(small())
    data = run.to_bytes()
    with pytest.raises(ValueError):
        Run.load(data[: len(data) // 2])
    with pytest.raises(ValueError):
        Run.load(b"hello, not a checkpoint")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    with pytest.raises(ValueError, match="header"):
        Run.load(tmp_path / "foreign.pt")
    state = run.state()
    state["model"] = {k: torch.zeros(2) for k in state["model"]}  # shapes no longer match the config
    torch.save(state, tmp_path / "tampered.pt")
    with pytest.raises(ValueError, match=r"model\.rnn\.weight_ih_l0 must be a float32 tensor of shape"):
        Run.load(tmp_path / "tampered.pt")
    state = run.state()
    state["config"]["hidden_size"] = 10**9
    torch.save(state, tmp_path / "huge.pt")
    with pytest.raises(ValueError, match="hidden_size"):
        Run.load(tmp_path / "huge.pt")
    state = run.state()
    state["model"] = {k: v * math.nan for k, v in state["model"].items()}
    torch.save(state, tmp_path / "nan.pt")
    with pytest.raises(ValueError, match="non-finite"):
        Run.load(tmp_path / "nan.pt")


def test_invalid_config_names_the_field():
    with pytest.raises(ValueError, match="hidden_size"):
        RunConfig(hidden_size=0)
    with pytest.raises(ValueError, match="lr"):
        RunConfig(lr=1e9)
    with pytest.raises(ValueError, match="arch"):
        RunConfig(arch="mamba")
    with pytest.raises(ValueError, match="seq_len"):
        RunConfig(seq_len=10**6)
    with pytest.raises(ValueError, match="steps"):
        Run(small()).train(-1)


def test_one_step_is_bounded_by_the_visitor_budget():
    RunConfig(batch_size=16, seq_len=1000, hidden_size=128)  # a long sequence at a middling size fits
    with pytest.raises(ValueError, match="over the budget of 512 MB per visitor"):
        RunConfig(batch_size=512, seq_len=1000, hidden_size=512)


def test_unknown_fields_and_non_dicts_are_value_errors_like_any_bad_config():
    with pytest.raises(ValueError, match="unknown RunConfig field.*foo"):
        RunConfig(foo=1)
    with pytest.raises(ValueError, match="dict"):
        RunConfig.from_dict([])
    with pytest.raises(ValueError, match="unknown RunConfig field.*bar"):
        RunConfig.from_dict({"bar": 1})
    with pytest.raises(ValueError):
        RunConfig("lstm", arch="gru")
