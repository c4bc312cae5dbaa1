"""What one visitor's run costs, measured: `python -m explorer.bench --budget`. Prints figures; not a test.

`python -m explorer.bench_budget --arch lstm`: one architecture. For each config, in a fresh process
forked from the training forkserver (so torch is imported and
its code pages are shared, as in the app's workers): a tiny run of the same architecture first
(it faults in the code and the allocator's first pools), then the peak resident memory that the run
adds over that warm baseline while it is built and takes two training steps, while it traces the probe
batch, and while Inspect looks at one sequence (trace, one step's saliency row, the step Jacobians of
layer 0 in every direction); and the CPU time of the faster of two steps. Peaks are the kernel's VmHWM,
reset before each phase (/proc/self/clear_refs), minus the RSS before the run was built.
explorer/budget.py's estimate is printed beside each figure: it must stay above the measurement.
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import time

from explorer import budget
from explorer.config import ARCHITECTURES, BIDIRECTIONAL_ARCHS, LIMITS, RunConfig
from explorer.trainer import limit_memory


def _status(field: str) -> float:
    """A /proc/self/status figure in MB."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith(field))


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # VmHWM := VmRSS


PHASES = ("step", "trace", "inspect")


def _phase(config: RunConfig, phase: str) -> tuple[float, float]:
    """(peak MB over the warm baseline, CPU seconds) of one phase of a fresh run (runs in the child)."""
    import torch

    from explorer import inspection as ins
    from explorer.run import Run

    torch.set_num_threads(1)
    work = {"step": lambda r: min(_cpu(r.train_step) for _ in range(2)),
            "trace": lambda r: _cpu(r.trace), "inspect": lambda r: _cpu(_inspect, ins, r)}[phase]
    tiny = Run(RunConfig(arch=config.arch, task=config.task, seq_len=4, hidden_size=config.num_heads,
                         num_heads=config.num_heads, batch_size=2))
    work(tiny)
    del tiny
    limit_memory(LIMITS.worker_memory_mb)  # the worker's hard limit: a config that fits must run under it
    _reset_peak()
    base = _status("VmRSS:")
    try:
        seconds = work(Run(config))
    except MemoryError:  # over the worker's hard limit: the figure is "too much"
        return math.inf, math.inf
    return _status("VmHWM:") - base, seconds


def _cpu(fn, *args) -> float:
    """CPU seconds of fn(*args) in this single-threaded process: what it costs a core, whatever else runs."""
    start = time.process_time()
    fn(*args)
    return time.process_time() - start


def _inspect(ins, run) -> None:
    """What the Inspect page computes on opening: the trace, the saliency row at the last step, the Jacobians."""
    insp = ins.Inspection(ins.frozen(run), run.probe[:1], run.probe_targets[:1])
    insp.saliency_row(insp.T - 1)
    if run.config.arch != "transformer":
        for direction in range(2 if run.config.bidirectional else 1):
            insp.jacobian_norms(0, direction)


def measure(configs: list[RunConfig], phases: tuple[str, ...] = PHASES) -> list[dict]:
    """Each config in its own process (peaks do not carry over), one after another."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["explorer.preload"])
    rows = []
    for config in configs:
        figures = {}
        for phase in phases:  # each in a fresh process: an allocator keeps what a phase freed
            with context.Pool(1, maxtasksperchild=1) as pool:
                figures[phase + "_mb"], figures[phase + "_s"] = pool.apply(_phase, (config, phase))
        rows.append(dict(config=config, figures=figures, estimate=budget.estimate(config)))
    return rows


def corners(arch: str, limits=LIMITS) -> list[RunConfig]:
    """The largest configs the budget allows for `arch`: hidden size at its cap, then the length and batch as
    far as the budget goes; the length at its cap, then hidden size and batch; the most layers (bidirectional
    where it applies) at T=200, then hidden size and batch; the batch at its cap, then length and hidden size.
    The transformer with 8 heads and with 1 (its trace keeps heads x T x T attention weights)."""
    recurrent = arch != "transformer"
    backwards = arch in BIDIRECTIONAL_ARCHS
    shapes = (({"hidden_size": limits.max_hidden_size}, ("seq_len", "batch_size")),
              ({"seq_len": limits.max_seq_len}, ("hidden_size", "batch_size")),
              ({"num_layers": limits.max_num_layers, "bidirectional": backwards, "seq_len": 200},
               ("hidden_size", "batch_size")),
              ({"batch_size": limits.max_batch_size}, ("seq_len", "hidden_size")))
    if arch == "ssm":  # its state holds state_size numbers per channel
        shapes += (({"state_size": limits.max_state_size}, ("hidden_size", "batch_size")),)
    out = []
    for heads in ((8, 1) if not recurrent else (2,)):
        for fixed, order in shapes:
            config = budget.largest(RunConfig(arch=arch, num_heads=heads), fixed, limits, order)
            if config is not None and config not in out:
                out.append(config)
    return out


def _short(config: RunConfig) -> str:
    d = "x2" if config.bidirectional else ""
    heads = f" nh={config.num_heads}" if config.arch == "transformer" else ""
    return f"{config.arch} H={config.hidden_size} T={config.seq_len} L={config.num_layers}{d} B={config.batch_size}{heads}"


def main(archs: list[str] | None = None, as_json: bool = False) -> None:
    configs = [c for arch in (archs or ARCHITECTURES) for c in corners(arch)]
    rows = measure(configs)
    if as_json:
        print(json.dumps([dict(config=r["config"].to_dict(), figures=r["figures"], estimate=r["estimate"]._asdict())
                          for r in rows]))
        return
    limit = LIMITS
    print(f"budget: {limit.visitor_memory_mb} MB per visitor, {limit.step_seconds:g} s per step; MB measured / estimated")
    print(f"{'config':<44} {'step MB':>13} {'trace MB':>13} {'inspect MB':>13} {'step s':>11} {'inspect s':>9}")
    for r in rows:
        f, e = r["figures"], r["estimate"]
        print(f"{_short(r['config']):<44} {f['step_mb']:>6.0f}/{e.step_mb:<6.0f} {f['trace_mb']:>6.0f}/{e.trace_mb:<6.0f} "
              f"{f['inspect_mb']:>6.0f}/{e.inspect_mb:<6.0f} {f['step_s']:>5.2f}/{e.step_s:<5.2f} {f['inspect_s']:>9.2f}")


def parse(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="*", default=None, choices=ARCHITECTURES)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    main(args.arch, args.json)


if __name__ == "__main__":
    parse()
