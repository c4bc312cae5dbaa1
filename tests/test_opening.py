"""Opening a run (issue 18.4, 18.2): the first trace of new runs, and an uploaded file's reading, checks and
first trace, happen in a pool process under its memory limit, never in the server."""
import numpy as np
import pytest
import torch

from explorer import Run, RunConfig
from explorer.ui import jobs, opening
from explorer.ui.pool import TrainerPool
from tests.test_run_files import saved, state_of

torch.set_num_threads(1)
SMALL = RunConfig(arch="lstm", task="adding", seq_len=12, hidden_size=8, batch_size=8, seed=3)


@pytest.fixture
def no_trace_here(monkeypatch):
    """The server process may not trace (the pool process is forked from the forkserver: this patch is not there)."""
    monkeypatch.setattr(Run, "trace", lambda self, *a, **k: pytest.fail("traced in the server process"))


def test_a_new_run_opens_with_its_first_trace_from_a_pool_process(no_trace_here):
    worker = opening.new_worker((SMALL, SMALL.replace(arch="gru")), budget=5, pool=TrainerPool(1))
    assert worker.budget == 5
    views = worker.snapshot.runs
    assert [v.step for v in views] == [0, 0] and [v.trace.arch for v in views] == ["lstm", "gru"]
    assert all(v.initial is v.trace for v in views)
    assert all(len(run.history.profiles) == 1 for run in worker.runs)  # recorded as run.trace() records it


def test_the_pool_traces_the_same_weights_the_server_builds():
    worker = opening.new_worker((SMALL,), pool=TrainerPool(1))
    here = Run(SMALL).trace()
    there = worker.snapshot.runs[0].trace
    np.testing.assert_array_equal(there.hidden, here.hidden)
    np.testing.assert_array_equal(there.gates["f"], here.gates["f"])
    np.testing.assert_array_equal(there.grad_norm, here.grad_norm)
    np.testing.assert_array_equal(worker.runs[0].history.profiles[0][1], here.grad_norm)


def test_a_trace_over_the_memory_limit_ends_the_pool_process_with_our_message(no_trace_here):
    big = RunConfig(arch="lstm", seq_len=400, hidden_size=256, batch_size=8)
    with pytest.raises(jobs.JobError, match=r"needed more than its memory limit \(8 MB\)"):
        opening.new_worker((big,), pool=TrainerPool(1), memory_mb=8)


def test_an_uploaded_run_loads_checked_and_traced_in_the_pool(no_trace_here):
    run = Run(SMALL)
    run.train(4)
    worker = opening.uploaded_worker(run.to_bytes(), pool=TrainerPool(1))
    loaded = worker.runs[0]
    assert loaded.step == 4 and loaded.history.loss == run.history.loss
    assert worker.snapshot.runs[0].trace.step == 4 and loaded.history.profiles[-1][0] == 4
    for name, weight in run.model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[name], weight), name


def test_a_hostile_upload_is_refused_in_the_pool_and_never_read_by_the_server(monkeypatch):
    run = Run(SMALL)
    state = state_of(run)
    state["model"]["rnn.weight_ih_l0"] = torch.zeros(1).expand(2**31)  # 8 GiB if materialised
    monkeypatch.setattr(Run, "load", classmethod(lambda cls, source: pytest.fail("the server read the file")))
    with pytest.raises(opening.Refused, match=r"model\.rnn\.weight_ih_l0 must be a float32 tensor of shape"):
        opening.uploaded_worker(saved(state), pool=TrainerPool(1))


def test_an_upload_that_needs_more_than_the_limit_gets_our_message_only():
    big = Run(RunConfig(arch="lstm", seq_len=400, hidden_size=256, batch_size=8))
    with pytest.raises(jobs.JobError) as error:
        opening.uploaded_worker(big.to_bytes(), pool=TrainerPool(1), memory_mb=8)
    # out of memory while Run.load builds the run, or later while it traces: our words either way
    assert str(error.value) in ("run file could not be loaded: its run needs more memory than this process may use",
                                "The computation needed more than its memory limit (8 MB).")


def test_garbage_is_refused_with_run_loads_message():
    with pytest.raises(opening.Refused, match="run file"):
        opening.uploaded_worker(b"PK\x03\x04 <b>not a run</b>", pool=TrainerPool(1))


def test_compare_measures_held_out_figures_in_a_pool_process(monkeypatch):
    # the Compare race's held-out evaluation: computed by a pool process, never in the server
    from explorer import evaluate
    from explorer.ui.slot import Job
    from explorer.ui.worker import Worker

    configs = (RunConfig(task="recall", seq_len=10, hidden_size=8, batch_size=8),
               RunConfig(arch="gru", task="recall", seq_len=10, hidden_size=8, batch_size=8))
    runs = [Run(c) for c in configs]
    for run in runs:
        run.train(5)
    expected = [evaluate.held_out_metric(run) for run in runs]
    monkeypatch.setattr(evaluate, "held_out_metric", lambda *a, **k: pytest.fail("evaluated in the server process"))
    job = Job(Worker(runs), key=(configs, 5), configs=configs)
    assert job.measured(lambda: False) == pytest.approx(expected)  # the same seeded batches, in the pool process
