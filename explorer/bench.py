"""Benchmarks that print figures (not tests): `python -m explorer.bench [--json] [--ui]`.

train_ratio: Run.train steps/s over a plain hand-written PyTorch loop's steps/s, with the same
torch.nn module, task batches and optimizer, measured interleaved in one process (median of rounds).
trace_over_step: trace() time over one training step's time.
--ui drives headless Chromium against a local server (see explorer/bench_ui.py).
--budget measures the largest configs the per-visitor budget allows (see explorer/bench_budget.py).
--scan [--sweep]: the SSM's training step against the one it replaced (see explorer/bench_scan.py).
--visitors N [--replicas R] [--soak S] [--heavy K]: N visitors training at once in headless Chromium, through
deploy/local.sh's nginx in front of R replicas (see explorer/bench_visitors.py).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from explorer.config import RunConfig
from explorer.models import build_model
from explorer.run import Run, _optimizer
from explorer.tasks import make_task

CONFIGS = {
    "rnn": RunConfig(arch="rnn", seq_len=100, hidden_size=64, batch_size=64),
    "lstm": RunConfig(arch="lstm", seq_len=100, hidden_size=64, batch_size=64),
    "gru": RunConfig(arch="gru", seq_len=100, hidden_size=64, batch_size=64),
    "transformer": RunConfig(arch="transformer", seq_len=100, hidden_size=64, batch_size=64),
    "mingru": RunConfig(arch="mingru", seq_len=100, hidden_size=64, batch_size=64),
    "minlstm": RunConfig(arch="minlstm", seq_len=100, hidden_size=64, batch_size=64),
    "ssm": RunConfig(arch="ssm", seq_len=100, hidden_size=64, batch_size=16, state_size=16),  # batch 64: over the visitor budget
    "small lstm": RunConfig(arch="lstm", seq_len=10, hidden_size=8, batch_size=8),
}


class PlainLoop:
    """What a person would write by hand: sample, forward, loss, backward, step."""

    def __init__(self, config: RunConfig) -> None:
        self.task = make_task(config.task, config.seq_len)
        torch.manual_seed(config.seed)
        self.model = build_model(config, self.task.input_size, self.task.output_size, self.task.causal)
        self.optimizer = _optimizer(config, self.model.parameters())
        self.generator = torch.Generator().manual_seed(config.seed)
        self.batch_size = config.batch_size

    def train(self, steps: int) -> None:
        for _ in range(steps):
            x, y = self.task.sample(self.batch_size, self.generator)
            loss = self.task.loss(self.model(x), y)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()


def _timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def measure(config: RunConfig, rounds: int = 9, chunk_s: float = 0.25) -> dict:
    """Interleave equal chunks of Run.train and the plain loop (median of the per-round ratios,
    so a burst of load elsewhere spoils one round, not the figure); then time trace() against one step."""
    run, plain = Run(config), PlainLoop(config)
    run.train(3), plain.train(3)  # warm up
    chunk = max(1, round(chunk_s / (_timed(plain.train, 3) / 3)))
    ratios, ours, theirs = [], 0.0, 0.0
    for _ in range(rounds):
        a, b = _timed(run.train, chunk), _timed(plain.train, chunk)
        ratios.append(b / a)
        ours, theirs = ours + a, theirs + b
    step_s = ours / (rounds * chunk)
    trace_s = min(_timed(run.trace) for _ in range(3))
    return {
        "run_steps_per_s": rounds * chunk / ours, "plain_steps_per_s": rounds * chunk / theirs,
        "train_ratio": statistics.median(ratios), "trace_s": trace_s, "step_s": step_s,
        "trace_over_step": trace_s / step_s,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--ui", action="store_true", help="benchmark the Train page in headless Chromium")
    parser.add_argument("--scene", nargs="*", default=None, help="with --ui: train, preset, race, laptop (default: all)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--presets", action="store_true", help="time every preset headless and in the app")
    parser.add_argument("--only", nargs="*", default=None, help="with --presets: these presets only")
    parser.add_argument("--budget", action="store_true",
                        help="peak memory and step time of the largest configs the budget allows")
    parser.add_argument("--scan", action="store_true", help="the SSM's step against the one it replaced")
    parser.add_argument("--sweep", action="store_true", help="with --scan: the Compare sweep's SSM seconds too")
    parser.add_argument("--visitors", type=int, default=0, help="load test: this many visitors train at once")
    parser.add_argument("--replicas", type=int, default=None, help="with --visitors: replicas behind nginx (deploy/local.sh)")
    parser.add_argument("--soak", type=float, default=None, help="with --visitors: seconds each visitor watches training")
    parser.add_argument("--heavy", type=int, default=0, help="with --visitors: this many of them train at the caps")
    args = parser.parse_args(argv)
    if args.visitors:
        from explorer.bench_visitors import SOAK_S, main as visitors_main

        visitors_main(args.visitors, args.replicas, args.soak if args.soak is not None else SOAK_S, args.heavy, args.json)
        return
    if args.scan:
        from explorer.bench_scan import main as scan_main

        scan_main(args.threads, sweep=args.sweep)
        return
    if args.budget:
        from explorer.bench_budget import main as budget_main

        budget_main(as_json=args.json)
        return
    if args.presets:
        from explorer.bench_presets import main as presets_main

        presets_main(args.only)
        return
    if args.ui:
        from explorer.bench_ui import main as ui_main

        ui_main(as_json=args.json, **({"scenes": tuple(args.scene)} if args.scene else {}))
        return
    torch.set_num_threads(args.threads)
    rows = {name: measure(config) for name, config in CONFIGS.items()}
    summary = {
        "train_ratio": min(r["train_ratio"] for r in rows.values()),
        "trace_over_step": max(r["trace_over_step"] for r in rows.values()),
        "threads": args.threads, "configs": rows,
    }
    if args.json:
        print(json.dumps(summary))
        return
    print(f"{'config':<12} {'Run steps/s':>12} {'plain steps/s':>14} {'ratio':>7} {'trace ms':>9} {'trace/step':>11}")
    for name, r in rows.items():
        print(f"{name:<12} {r['run_steps_per_s']:>12.1f} {r['plain_steps_per_s']:>14.1f} {r['train_ratio']:>7.3f} "
              f"{r['trace_s'] * 1e3:>9.1f} {r['trace_over_step']:>11.2f}")
    print(f"train_ratio (lowest) {summary['train_ratio']:.3f}  goal >= 0.95")
    print(f"trace_over_step (highest) {summary['trace_over_step']:.2f}  goal <= 3")


if __name__ == "__main__":
    main()
