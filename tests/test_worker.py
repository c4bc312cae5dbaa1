"""The live-training worker: a process that trains, publishes, pauses at once, and stops on budget,
divergence, idleness and close; a crash in it becomes a message."""
import os
import signal
import time

import torch

from explorer import Run, RunConfig
from explorer.config import LIMITS
from explorer.ui import worker as worker_module
from explorer.ui.pool import TrainerPool
from explorer.ui.worker import Worker

torch.set_num_threads(1)


def small(**kw):
    return RunConfig(**{**dict(arch="gru", seq_len=10, hidden_size=8, batch_size=8), **kw})


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def shown_step(worker) -> int:
    return worker.snapshot.runs[0].step


def test_the_process_trains_and_publishes_snapshots_with_traces():
    worker = Worker([Run(small())], pool=TrainerPool(2), publish_every=0.05)
    first = worker.snapshot
    assert worker.start()
    assert wait_for(lambda: worker.snapshot.version > first.version + 5 and shown_step(worker) > 20)
    snap = worker.snapshot
    assert snap.state == "training" and snap.steps_per_s > 0
    assert snap.runs[0].trace.step == snap.runs[0].step  # the newest trace is of the shown step
    assert worker._process.pid != os.getpid()
    worker.close()


def _traced_share(worker, seconds: float, needed: bool | None) -> tuple[int, int]:
    """(steps the snapshots showed, traces among them) over `seconds`, saying `needed` at each look (a feed's poll)."""
    steps, traced, start = set(), set(), time.monotonic()
    while len(steps) < 20 or time.monotonic() - start < seconds:
        if needed is not None:
            worker.needs_trace("feed", needed)
        view = worker.snapshot.runs[0]
        steps.add(view.step)
        traced.add(view.trace.step)  # the newest trace, kept while the snapshots carry none
        time.sleep(0.02)
        assert time.monotonic() - start < 60
    return len(steps), len(traced & steps)


def test_while_no_chart_in_view_needs_the_trace_the_process_traces_about_once_a_second():
    from explorer.trainer import UNTRACED_EVERY_S
    worker = Worker([Run(small())], pool=TrainerPool(2), publish_every=0.05)
    worker.start()
    assert wait_for(lambda: shown_step(worker) > 5)
    worker.needs_trace("feed", False)  # the browser shows the loss alone
    time.sleep(0.3)  # the word reaches the process
    start = time.monotonic()
    steps, traced = _traced_share(worker, 3.0, False)
    assert 1 <= traced <= 2 + (time.monotonic() - start) / UNTRACED_EVERY_S < steps / 2  # the snapshots went on
    worker.needs_trace("other", True)  # another chart came into view (or another column's feed shows one)
    assert wait_for(lambda: worker.snapshot.runs[0].trace.step == shown_step(worker), timeout=10)
    steps, traced = _traced_share(worker, 1.0, None)
    assert traced >= 0.8 * steps
    worker.needs_trace("other", False)
    time.sleep(0.3)
    steps, traced = _traced_share(worker, 2.0, False)
    assert traced < steps / 2
    time.sleep(worker_module.UNTRACED_S + 0.5)  # nobody said more (the page is drawn by reruns now): it lapsed
    steps, traced = _traced_share(worker, 1.0, None)
    assert traced >= 0.8 * steps
    worker.close()


def test_pause_stops_at_once_and_hands_the_weights_back():
    worker = Worker([Run(small())], pool=TrainerPool(2), publish_every=0.05)
    worker.start()
    assert wait_for(lambda: shown_step(worker) > 20)
    worker.pause()
    assert not worker.training
    snap = worker.snapshot
    assert snap.state == "paused"
    assert worker.runs[0].step == snap.runs[0].step == snap.runs[0].trace.step  # the page's copy caught up
    time.sleep(0.3)
    assert worker.snapshot.runs[0].step == snap.runs[0].step


def test_a_pause_or_step_that_does_not_wait_is_settled_before_the_page_reads_the_runs():
    """The Train page's buttons send Pause and Step from callbacks, before its run, and settle() where it reads."""
    worker = Worker([Run(small())], pool=TrainerPool(2), publish_every=0.05)
    worker.start()
    assert wait_for(lambda: shown_step(worker) > 20)
    worker.pause(wait=False)
    assert worker.snapshot.state == "paused"  # at once: the charts stop with the click
    worker.settle()
    assert not worker.training
    snap = worker.snapshot
    assert worker.runs[0].step == snap.runs[0].step == snap.runs[0].trace.step  # the final state is in
    worker.step(wait=False)
    worker.settle()
    assert not worker.training
    assert worker.runs[0].step == worker.snapshot.runs[0].trace.step == snap.runs[0].step + 1
    worker.settle()  # nothing under way: at once
    worker.close()


def test_resume_goes_on_from_where_it_paused_and_matches_headless_training():
    worker = Worker([Run(small())], budget=1000, pool=TrainerPool(2))
    worker.start()
    assert wait_for(lambda: shown_step(worker) >= 10)
    worker.pause()
    paused_at = worker.runs[0].step
    worker.start()
    assert wait_for(lambda: worker.snapshot.state == "done")
    assert worker.runs[0].step == 1000 and paused_at < 1000
    headless = Run(small())
    headless.train(1000)
    assert worker.runs[0].history.loss == headless.history.loss  # the same run, process or not


def test_budget_ends_training_with_done():
    worker = Worker([Run(small()), Run(small(arch="lstm"))], budget=30, pool=TrainerPool(2))
    worker.start()
    assert wait_for(lambda: worker.snapshot.state == "done")
    assert [run.step for run in worker.runs] == [30, 30]  # round robin keeps the runs aligned
    assert worker.finished and worker.pool.active == 0


def test_divergence_stops_the_worker_with_the_message():
    run = Run(small(arch="rnn", nonlinearity="relu", init="identity", lr=10.0, optimizer="sgd", seq_len=50))
    worker = Worker([run], pool=TrainerPool(2))
    worker.start()
    assert wait_for(lambda: worker.snapshot.state == "done")
    assert worker.snapshot.runs[0].status == "diverged"
    assert "Diverged at step" in worker.snapshot.message


def test_idle_worker_pauses_itself():
    worker = Worker([Run(small())], pool=TrainerPool(2), idle_stop_s=0.5)
    worker.start()
    assert wait_for(lambda: not worker.training, timeout=10)
    assert "no page watching" in worker.snapshot.message
    assert worker.pool.active == 0


def test_a_full_pool_queues_the_visitor_who_starts_when_a_slot_frees():
    """Issue 15: a queue, not a refusal; the first in the queue starts by itself, and closing leaves the queue."""
    pool = TrainerPool(1)
    first, second, third = (Worker([Run(small())], pool=pool) for _ in range(3))
    assert first.start()
    assert not second.start() and not third.start()
    assert second.snapshot.state == "queued" and "busy" in second.snapshot.message
    assert (second.queue_place, third.queue_place) == (1, 2)
    third.close()  # the tab closed: out of the queue
    assert third.queue_place is None
    first.pause()
    assert wait_for(lambda: second.training) and second.snapshot.state == "training"  # started by itself
    assert pool.active == 1 and third.snapshot.state == "stopped"
    second.close()
    assert wait_for(lambda: pool.active == 0)


def test_close_ends_the_process_at_once_and_frees_the_slot():
    pool = TrainerPool(1)
    worker = Worker([Run(small())], pool=pool)
    worker.start()
    process = worker._process
    worker.close()
    assert not worker.training and pool.active == 0
    assert not process.is_alive()
    assert worker.snapshot.state == "stopped"


def test_a_crashed_process_gives_a_message_and_the_page_goes_on():
    worker = Worker([Run(small())], pool=TrainerPool(1))
    worker.start()
    assert wait_for(lambda: shown_step(worker) > 5)
    os.kill(worker._process.pid, signal.SIGKILL)  # as a segfault or the kernel's OOM killer would
    assert wait_for(lambda: not worker.training)
    snap = worker.snapshot
    assert snap.state == "done" and "ended unexpectedly" in snap.message
    assert worker.pool.active == 0
    worker.step()  # the run the page holds still works
    assert worker.snapshot.runs[0].step == 1


def test_the_memory_limit_stops_a_run_that_needs_more_with_a_message():
    big = RunConfig(arch="lstm", seq_len=200, hidden_size=128, batch_size=32)
    worker = Worker([Run(big)], pool=TrainerPool(1), memory_mb=1)
    worker.start()
    assert wait_for(lambda: not worker.training)
    assert worker.snapshot.state == "done" and "Training stopped" in worker.snapshot.message


def test_step_advances_one_step_and_traces():
    worker = Worker([Run(small())], pool=TrainerPool(1))
    worker.step()
    snap = worker.snapshot
    assert snap.runs[0].step == 1 and snap.runs[0].trace.step == 1
    assert snap.runs[0].initial.step == 0


def test_step_trains_in_a_process_not_in_the_page(monkeypatch):
    worker = Worker([Run(small())], pool=TrainerPool(1))

    def in_the_page(self):
        raise AssertionError("Step trained in the page's process")

    monkeypatch.setattr(Run, "train_step", in_the_page)  # the training process has its own Run
    worker.step()
    assert wait_for(lambda: worker.snapshot.state == "paused")
    assert worker.runs[0].step == worker.snapshot.runs[0].step == 1 and worker.pool.active == 0
    assert worker._process.pid != os.getpid()


def test_a_pause_that_ends_a_long_step_says_the_run_went_back(monkeypatch):
    monkeypatch.setattr(worker_module, "PAUSE_WAIT_S", 0.05)  # any step is longer than that
    worker = Worker([Run(small(arch="lstm", seq_len=200, hidden_size=256, batch_size=64))],
                    pool=TrainerPool(1), publish_every=0.0)
    worker.start()
    assert wait_for(lambda: shown_step(worker) >= 2)
    version = worker.snapshot.version
    assert wait_for(lambda: worker.snapshot.version > version, timeout=60)  # a step has just begun
    shown = shown_step(worker)
    worker.pause()  # its second wait, for the ended process, is cut short too: wait here instead
    assert wait_for(lambda: not worker.training)
    snap = worker.snapshot
    assert snap.state == "paused" and "back at step 0, where Train was pressed" in snap.message, snap.message
    assert f"the {shown} steps since are lost" in snap.message
    assert worker.runs[0].step == snap.runs[0].step == 0  # the page's copy and its charts agree
    assert worker.start()  # and it trains on from there
    assert wait_for(lambda: shown_step(worker) >= 1, timeout=60)
    worker.close()


def test_slow_pace_traces_every_step():
    worker = Worker([Run(small())], pool=TrainerPool(1), pace="slow")
    seen = set()
    worker.start()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        step = worker.snapshot.runs[0].trace.step
        seen.add(step)
        worker.shown(step)  # as the page does once the browser has drawn it
        time.sleep(0.01)
    worker.pause()
    last = worker.runs[0].step
    assert 10 <= last <= 3 * 20 + 5  # at most about 20 steps a second
    assert set(range(1, last)) <= seen  # every step was traced and published


def test_training_processes_run_nicer_than_the_server_once_they_would_fill_every_core():
    """Issue 15: the server sends every visitor's frames; once training processes would fill every core they yield
    the CPU to it. Issue 10: one visitor's run, which leaves a core free, trains at the server's own priority."""
    nice = lambda pid: int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[16])
    server = nice(os.getpid())
    pool = TrainerPool(2, crowded_nice=LIMITS.trainer_nice, cores=2 * torch.get_num_threads())  # two fill them
    first, second = Worker([Run(small())], pool=pool), Worker([Run(small())], pool=pool)
    first.start()
    assert wait_for(lambda: shown_step(first) > 0)
    assert nice(first._process.pid) == server
    second.start()
    assert wait_for(lambda: shown_step(second) > 0)
    crowded = min(19, server + LIMITS.trainer_nice)
    assert nice(first._process.pid) == nice(second._process.pid) == crowded
    second.close()
    # back at the server's own niceness where lowering one is allowed (privileged); else it stays nicer
    assert nice(first._process.pid) == (server if os.geteuid() == 0 else crowded)
    first.close()
    assert not pool._tracked
