"""The live-training worker: starts, pauses at once, stops on budget, divergence, idleness and close."""
import time

import torch

from explorer import Run, RunConfig
from explorer.ui.worker import TrainerPool, Worker

torch.set_num_threads(1)


def small(**kw):
    return RunConfig(**{**dict(arch="gru", seq_len=10, hidden_size=8, batch_size=8), **kw})


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_pause_stops_training():
    worker = Worker([Run(small())], pool=TrainerPool(2), publish_every=0.05)
    assert worker.start()
    assert wait_for(lambda: worker.runs[0].step > 20)
    worker.pause()
    assert not worker.training
    stopped_at = worker.runs[0].step
    time.sleep(0.3)
    assert worker.runs[0].step == stopped_at
    assert worker.snapshot.state == "paused" and worker.snapshot.runs[0].step == stopped_at


def test_snapshots_are_published_while_training_and_are_copies():
    worker = Worker([Run(small())], pool=TrainerPool(2), publish_every=0.05)
    first = worker.snapshot
    worker.start()
    assert wait_for(lambda: worker.snapshot.version > first.version + 3)
    snap = worker.snapshot
    length = len(snap.runs[0].history)
    time.sleep(0.2)
    assert len(snap.runs[0].history) == length  # a published snapshot never changes under the page
    worker.pause()
    assert worker.snapshot.runs[0].trace.step == worker.runs[0].step  # a fresh trace after stopping


def test_budget_ends_training_with_done():
    worker = Worker([Run(small()), Run(small(arch="lstm"))], budget=30, pool=TrainerPool(2))
    worker.start()
    assert wait_for(lambda: worker.snapshot.state == "done")
    assert [run.step for run in worker.runs] == [30, 30]  # round robin keeps the runs aligned


def test_divergence_stops_the_worker_with_the_message():
    run = Run(small(arch="rnn", nonlinearity="relu", init="identity", lr=10.0, optimizer="sgd", seq_len=50))
    worker = Worker([run], pool=TrainerPool(2))
    worker.start()
    assert wait_for(lambda: worker.snapshot.state == "done")
    assert worker.snapshot.runs[0].status == "diverged"
    assert "Diverged at step" in worker.snapshot.message


def test_idle_worker_pauses_itself():
    worker = Worker([Run(small())], pool=TrainerPool(2), idle_stop_s=0.3)
    worker.start()
    assert wait_for(lambda: not worker.training, timeout=5)
    assert "no page watching" in worker.snapshot.message


def test_a_full_pool_tells_the_visitor_to_wait():
    pool = TrainerPool(1)
    first = Worker([Run(small())], pool=pool)
    second = Worker([Run(small())], pool=pool)
    assert first.start()
    assert not second.start()
    assert second.snapshot.state == "busy" and "busy" in second.snapshot.message
    first.pause()
    assert second.start()  # the slot came back
    second.close()
    assert pool.active == 0


def test_close_stops_the_thread_and_frees_the_slot():
    pool = TrainerPool(1)
    worker = Worker([Run(small())], pool=pool)
    worker.start()
    worker.close()
    assert not worker.training and pool.active == 0


def test_step_advances_one_step_and_traces():
    worker = Worker([Run(small())], pool=TrainerPool(1))
    worker.step()
    snap = worker.snapshot
    assert snap.runs[0].step == 1 and snap.runs[0].trace.step == 1
    assert snap.runs[0].initial.step == 0
