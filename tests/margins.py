"""Worst case of every learning claim over many seeds: the margins that docs/presets.md records.

    python -m tests.margins [--claims presets|tasks|all] [--seeds 1-8] [--threads 1] [--only NAME ...] [--figures]

Trains each preset exactly as the app does (explorer.presets.train_preset) and each task claim of
tests/test_tasks.py on every seed, and prints, per rule, the worst figure over the seeds (with the
seed it came from) against the rule's bound, and per preset the CPU and wall seconds of the slowest
seed. A claim holds with margin when even its worst seed passes. Not a test: it prints figures.
"""
from __future__ import annotations

import argparse
import time

import torch

from explorer.presets import PRESETS, train_preset
from explorer.verdicts import Rule, fmt


def seeds(text: str) -> list[int]:
    low, _, high = text.partition("-")
    return list(range(int(low), int(high or low) + 1))


def worst(rule: Rule, values: dict[int, float]) -> tuple[int, float]:
    """The seed whose figure comes closest to breaking the rule (or breaks it)."""
    key = (lambda s: -values[s]) if rule.op in ("<", "<=") else (lambda s: values[s])
    seed = min(values, key=key)
    return seed, values[seed]


def report(name: str, rules: tuple[Rule, ...], figures: dict[int, dict[str, float]], extra: str = "") -> None:
    for rule in rules:
        values = {seed: f[rule.figure] for seed, f in figures.items()}
        seed, value = worst(rule, values)
        passed = sum(rule.holds(f) for f in figures.values())
        print(f"| {name} | {rule.figure} {rule.op} {fmt(rule.bound)} | {fmt(value)} (seed {seed}) "
              f"| {passed}/{len(figures)} |{extra}", flush=True)
        name, extra = "", ""  # the preset's name and times once, on its first rule


def sweep_presets(names: list[str], seed_list: list[int], every_figure: bool = False) -> None:
    print("| preset | rule | worst | seeds passing | slowest seed: CPU s / wall s |")
    print("| --- | --- | --- | --- | --- |")
    for name in names:
        preset, figures, cpu, wall = PRESETS[name], {}, [], []
        for seed in seed_list:
            c0, w0 = time.process_time(), time.perf_counter()
            runs = train_preset(preset.with_seed(seed))
            figures[seed] = preset.measure(runs)
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
        report(f"`{name}`", preset.rules, figures, f" {max(cpu):.1f} / {max(wall):.1f} |")
        if every_figure:  # the figures no rule bounds too, seed by seed
            for seed, f in figures.items():
                print(f"  {name} seed {seed}: " + "; ".join(f"{k} {fmt(v)}" for k, v in f.items()), flush=True)


def sweep_tasks(names: list[str], seed_list: list[int]) -> None:
    from tests.test_real_data import CLAIMS as REAL_DATA_CLAIMS
    from tests.test_tasks import CLAIMS

    CLAIMS = {**CLAIMS, **REAL_DATA_CLAIMS}

    print("| claim (tests/test_tasks.py) | rule | worst | seeds passing |")
    print("| --- | --- | --- | --- |")
    for name in names or list(CLAIMS):
        claim = CLAIMS[name]
        report(claim.name, claim.rules, {seed: claim.measure(seed) for seed in seed_list})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", choices=("presets", "tasks", "all"), default="all")
    parser.add_argument("--seeds", default="1-8", help="a range such as 1-8")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--only", nargs="*", default=[], help="preset or claim names")
    parser.add_argument("--figures", action="store_true", help="also print every figure of every seed")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"seeds {args.seeds}")
    seed_list = seeds(args.seeds)
    if args.claims in ("presets", "all"):
        sweep_presets([n for n in PRESETS if not args.only or n in args.only], seed_list, args.figures)
    tasks = [n for n in args.only if n not in PRESETS]
    if args.claims in ("tasks", "all") and (tasks or not args.only):
        sweep_tasks(tasks, seed_list)


if __name__ == "__main__":
    main()
