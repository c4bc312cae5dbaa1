"""The per-visitor budget (issue 17): configs beyond it are refused with what to lower, and the largest
allowed config of each architecture measures under it."""
from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys

import pytest

from explorer import budget
from explorer.bench_budget import measure
from explorer.config import ARCHITECTURES, LIMITS, TASK_NAMES, Limits, RunConfig, validate
from explorer.run import Run
from explorer.tasks import make_task


def test_task_sizes_are_the_tasks_own():
    for name in TASK_NAMES:
        task = make_task(name, 50)
        assert budget.TASK_SIZES[name] == (task.input_size, task.output_size), name


@pytest.mark.parametrize("config", [
    RunConfig(arch="lstm", hidden_size=64, num_layers=3, bidirectional=True, task="text"),
    RunConfig(arch="gru", hidden_size=17, num_layers=2, task="copy"),
    RunConfig(arch="rnn", hidden_size=100, task="sentiment"),
    RunConfig(arch="transformer", hidden_size=64, num_heads=4, num_layers=2, task="recall"),
    RunConfig(arch="mingru", hidden_size=24, num_layers=2, task="adding"),
    RunConfig(arch="ssm", hidden_size=16, state_size=8, num_layers=2, task="selective_copy"),
    RunConfig(arch="minlstm", hidden_size=33, num_layers=3, task="text"),
    RunConfig(arch="ssm", hidden_size=40, state_size=4, selective=False, task="adding"),
    RunConfig(arch="rnn", hidden_size=1, num_layers=4, bidirectional=True, task="copy"),
])
def test_parameter_count_is_the_models(config):
    assert budget.parameters(config) == Run(config).num_parameters


def test_a_config_over_the_memory_budget_is_refused_naming_what_to_lower():
    """Issue 17: LSTM hidden 128, T=1000, batch 128 took 1.3 GB and 2.9 s per step within the old caps."""
    with pytest.raises(ValueError, match="MB for a training step, over the budget of 512 MB") as error:
        RunConfig(arch="lstm", hidden_size=128, seq_len=1000, batch_size=128)
    lower = dict(re.findall(r"(batch_size|seq_len|hidden_size) to (\d+)", str(error.value)))
    assert set(lower) == {"batch_size", "seq_len", "hidden_size"}
    for field, value in lower.items():  # each advice, taken alone, gives a config that is allowed
        RunConfig(arch="lstm", **{**dict(hidden_size=128, seq_len=1000, batch_size=128), field: int(value)})
    with pytest.raises(ValueError):  # and it is the largest such value
        RunConfig(arch="lstm", hidden_size=128, seq_len=1000, batch_size=int(lower["batch_size"]) + 1)


def test_a_deep_bidirectional_model_is_refused_for_its_trace_whatever_the_batch():
    """Issue 18.4: LSTM 4 x 512 bidirectional T=1000 took 555 s per trace; the probe batch is 8 sequences."""
    with pytest.raises(ValueError, match="a trace of the probe batch") as error:
        RunConfig(arch="lstm", hidden_size=512, num_layers=4, bidirectional=True, seq_len=1000, batch_size=1)
    assert "batch_size to" not in str(error.value) and "hidden_size to" in str(error.value)


def test_a_config_over_the_time_budget_is_refused():
    """Attention over T=1000 for 64 sequences: little memory (fused in training), too many scores for 1 s."""
    with pytest.raises(ValueError, match=r"takes about .* s, over the budget of 1 s per step.*batch_size to"):
        RunConfig(arch="transformer", hidden_size=8, num_heads=1, seq_len=1000, batch_size=64)


def test_the_budget_is_configurable_with_the_other_caps():
    big = dict(arch="lstm", hidden_size=128, seq_len=1000, batch_size=128)
    with pytest.raises(ValueError):
        RunConfig(**big)
    roomy = dataclasses.replace(LIMITS, visitor_memory_mb=4096, step_seconds=10.0)
    validate(_unchecked(**big), roomy)  # the same setup fits a larger budget
    with pytest.raises(ValueError, match="over the budget of 4,096 MB"):
        validate(_unchecked(**{**big, "batch_size": 512}), roomy)


def test_the_budget_is_read_from_the_environment():
    code = "from explorer.config import RunConfig; RunConfig(arch='lstm', hidden_size=128, seq_len=1000, batch_size=128)"
    env = {**os.environ, "RNNX_VISITOR_MEMORY_MB": "4096", "RNNX_STEP_SECONDS": "10"}
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True).returncode == 0
    env["RNNX_VISITOR_MEMORY_MB"] = "512"
    refused = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert refused.returncode == 1 and "over the budget of 512 MB" in refused.stderr


def _unchecked(**values) -> RunConfig:
    """A RunConfig that skips validation, to check it against other limits."""
    config = object.__new__(RunConfig)
    for field in dataclasses.fields(RunConfig):
        object.__setattr__(config, field.name, values.get(field.name, field.default))
    return config


def _worst(arch: str, part: str) -> RunConfig:
    """Of the largest allowed configs of `arch` (each size pushed to its cap, the others as far as the
    budget goes), the one whose estimate of `part` is highest."""
    return max(_corners(arch), key=lambda c: getattr(budget.estimate(c), part))


def _corners(arch: str) -> list[RunConfig]:
    from explorer.bench_budget import corners

    return corners(arch)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_the_largest_allowed_config_steps_and_traces_within_the_budget(arch):
    """Measured in a fresh process under the worker's hard limit: peak memory over a warm process."""
    step_config, trace_config = _worst(arch, "step_mb"), _worst(arch, "trace_mb")
    assert budget.estimate(step_config).step_mb > 0.6 * LIMITS.visitor_memory_mb  # a config near the budget
    (step,) = measure([step_config], phases=("step",))
    (trace,) = measure([trace_config], phases=("trace",))
    assert step["figures"]["step_mb"] < LIMITS.visitor_memory_mb, step
    assert step["figures"]["step_mb"] < step["estimate"].step_mb, step  # the estimate stays above
    assert trace["figures"]["trace_mb"] < LIMITS.visitor_memory_mb, trace
    assert trace["figures"]["trace_mb"] < trace["estimate"].trace_mb, trace


def test_truncated_bptt_pays_for_its_chunks_and_the_message_says_how_to_fit():
    """Each chunk of bptt steps is a fused call of its own (explorer/budget.py, CHUNK_*): a setup that fits with full
    BPTT can be over the time budget at bptt=1, and the refusal offers turning truncation off."""
    config = RunConfig(arch="lstm", hidden_size=256, num_layers=2, seq_len=500, batch_size=4)
    assert budget.estimate(config.replace(bptt=100)).step_s > budget.estimate(config).step_s
    with pytest.raises(ValueError, match=r"takes about .* s, over the budget of 1 s per step.*bptt off"):
        config.replace(bptt=1)
