"""The training process's loop, run in this process: which runs a snapshot carries traces of."""
from __future__ import annotations

import multiprocessing
import threading
import time

import torch

from explorer import Run, RunConfig
from explorer.trainer import PACES, _train, in_turn

torch.set_num_threads(1)


def test_in_turn_picks_the_longest_untraced_first_as_many_as_fit():
    costs, traced_at = [0.01, 0.01, 0.01, 0.01], [4.0, 1.0, 3.0, 2.0]
    assert in_turn(costs, traced_at, 0.025) == [1, 3]
    assert in_turn(costs, traced_at, 0.05) == [1, 3, 2, 0]
    assert in_turn(costs, traced_at, 0.005) == []  # not even one fits: wait
    assert in_turn([0.0] * 3, [0.0] * 3, 0.0) == [0, 1, 2]  # before the first traces, all of them


def test_runs_whose_traces_do_not_all_fit_a_fifth_of_the_time_are_traced_in_turn(monkeypatch):
    """Four runs whose traces each take 30 ms, published every 20 ms: tracing all four each time would spend
    far over a fifth of the time, so each snapshot traces some of them, the longest untraced first."""
    def slow_trace(self, *args, **kwargs):
        time.sleep(0.03)
        return self.step  # stands for the trace: which step it is of

    monkeypatch.setattr(Run, "trace", slow_trace)
    runs = [Run(RunConfig(arch="gru", seq_len=10, hidden_size=8, batch_size=8, seed=seed)) for seed in range(4)]
    parent, child = multiprocessing.Pipe()
    loop = threading.Thread(target=_train, args=(child, runs, 10**6, 0.02, PACES["normal"]))
    loop.start()
    snapshots = []
    try:
        while len(snapshots) < 13:
            note = parent.recv()
            snapshots.append([view["trace"] for view in note["runs"]])
    finally:
        parent.send("stop")
        loop.join(timeout=30)
    assert not loop.is_alive()
    first, later = snapshots[0], snapshots[1:]
    assert None not in first  # the first snapshot: every run's first trace
    assert all(any(t is not None for t in traces) for traces in later)  # each moves at least one run's look inside
    # and they did not wait to trace all four (a stall of the machine's may let all four fit once or twice)
    assert sum(None in traces for traces in later) >= len(later) - 2
    traced = [[k for k, t in enumerate(traces) if t is not None] for traces in later]
    order = [k for ks in traced for k in ks]
    for k in range(4):  # in turn: no run traced twice before every other was traced once
        assert order.count(k) >= 2
    for start in range(len(order) - 3):
        window = order[start:start + 4]
        assert len(set(window)) == 4, order
