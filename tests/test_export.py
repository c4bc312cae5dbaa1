"""Run.to_script(): the exported PyTorch script trains to the same losses as the app's run."""
import re
import subprocess
import sys

import numpy as np
import pytest

from explorer import Run, RunConfig
from explorer.export import EXPORT_TASKS

STEPS = 6


def script_losses(run: Run, tmp_path, steps: int) -> np.ndarray:
    path = tmp_path / "exported.py"
    path.write_text(run.to_script())
    out = subprocess.run([sys.executable, str(path), str(steps)], capture_output=True, text=True, timeout=600,
                         cwd=tmp_path, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    return np.array([float(v) for v in re.findall(r"^step \d+ loss (\S+)$", out.stdout, re.M)])


@pytest.mark.parametrize("config", [
    RunConfig(arch="lstm", task="adding", seq_len=12, hidden_size=8, batch_size=8, clip_grad_norm=0.5, forget_bias=1.0),
    RunConfig(arch="gru", task="recall", seq_len=10, hidden_size=8, batch_size=8, optimizer="sgd", lr=0.1, seed=4),
    RunConfig(arch="rnn", task="parity", seq_len=9, hidden_size=6, batch_size=8, init="orthogonal", num_layers=2,
              bidirectional=True, optimizer="rmsprop", lr=1e-3),
    RunConfig(arch="lstm", task="copy", seq_len=10, hidden_size=8, batch_size=8),
    RunConfig(arch="lstm", task="recall", seq_len=11, hidden_size=8, batch_size=8, num_layers=2, bptt=4),
    RunConfig(arch="rnn", task="parity", seq_len=9, hidden_size=6, batch_size=8, bptt=2, lr=1e-2),
], ids=lambda c: f"{c.arch}-{c.task}" + (f"-bptt{c.bptt}" if c.bptt else ""))
def test_exported_script_trains_to_the_app_runs_losses(config, tmp_path):
    run = Run(config)
    run.train(STEPS)
    losses = script_losses(run, tmp_path, STEPS)
    assert len(losses) == STEPS
    np.testing.assert_allclose(losses, run.history.loss, rtol=1e-5)


def test_the_exported_truncated_run_is_not_the_full_one(tmp_path):
    """The script honours bptt: its losses are the truncated run's, and they differ from full BPTT's."""
    config = RunConfig(arch="gru", task="parity", seq_len=12, hidden_size=8, batch_size=8, lr=3e-2, bptt=3)
    run, full = Run(config), Run(config.replace(bptt=None))
    run.train(STEPS)
    full.train(STEPS)
    text = run.to_script()
    assert "BPTT = 3" in text and "BPTT = None" in full.to_script()
    losses = script_losses(run, tmp_path, STEPS)
    np.testing.assert_allclose(losses, run.history.loss, rtol=1e-5)
    assert not np.allclose(losses[1:], full.history.loss[1:], rtol=1e-4)


def test_exported_script_follows_the_learning_rate_changes(tmp_path):
    run = Run(RunConfig(arch="gru", task="parity", seq_len=8, hidden_size=8, batch_size=8, lr=1e-2))
    run.train(2)
    run.set_lr(1.0)  # large: the losses after it differ clearly from a run without the change
    run.train(3)
    losses = script_losses(run, tmp_path, 5)
    np.testing.assert_allclose(losses, run.history.loss, rtol=1e-5)
    plain = Run(run.config)
    plain.train(5)
    assert not np.allclose(plain.history.loss[3:], losses[3:], rtol=1e-3)


def test_the_script_is_standalone_and_readable():
    text = Run(RunConfig(arch="lstm", task="adding", seq_len=8, hidden_size=4)).to_script()
    imports = set(re.findall(r"^(?:import|from) (\w+)", text, re.M))
    assert imports <= {"math", "sys", "numpy", "torch"}
    assert "SEED = 0" in text and "nn.LSTM" in text and "explorer" not in text.split('"""', 2)[2]


def test_export_refuses_what_it_does_not_cover():
    with pytest.raises(ValueError, match="Export as code covers"):
        Run(RunConfig(arch="transformer", task="adding", seq_len=8, hidden_size=8)).to_script()
    with pytest.raises(ValueError, match="tasks " + ", ".join(EXPORT_TASKS)):
        Run(RunConfig(arch="lstm", task="sine", seq_len=8, hidden_size=8)).to_script()
