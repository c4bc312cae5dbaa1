"""Worst case of every learning claim over many seeds: the margins that docs/presets.md records.

    python -m tests.margins [--claims presets|tasks|all] [--seeds 1-8] [--threads 1] [--only NAME ...] [--figures]
                            [--set FIELD=VALUE ...] [--steps N] [--lr-changes STEP:LR ...]

Trains each preset exactly as the app does (explorer.presets.train_preset) and each task claim of
tests/test_tasks.py on every seed, and prints, per rule, the worst figure over the seeds (with the
seed it came from) against the rule's bound, and per preset the CPU and wall seconds of the slowest
seed. A claim holds with margin when even its worst seed passes. Not a test: it prints figures.
--set, --steps and --lr-changes try another setup of a preset (every run's config gets FIELD=VALUE; the
budget N steps; the learning rate LR after STEP steps) before it is written into explorer/presets.py.
"""
from __future__ import annotations

import argparse
import ast
import dataclasses
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


def overrides(pairs: list[str]) -> dict[str, object]:
    """["lr=5e-3", "clip_grad_norm=None"] -> {"lr": 0.005, "clip_grad_norm": None} (values as Python literals)."""
    fields = {}
    for pair in pairs:
        name, _, text = pair.partition("=")
        try:
            fields[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            fields[name] = text  # a bare word: a string such as adam
    return fields


def variant(name: str, fields: dict[str, object], steps: int | None, lr_changes: list[str] | None = None):
    """The preset with every run's config changed by `fields` and, if given, another budget and schedule
    (["350:3e-3", ...]; "none" for none)."""
    preset = PRESETS[name]
    configs = tuple(c.replace(**fields) for c in preset.configs) if fields else preset.configs
    schedule = preset.lr_changes if lr_changes is None else tuple(
        (int(step), float(lr)) for step, _, lr in (pair.partition(":") for pair in lr_changes if pair != "none"))
    return dataclasses.replace(preset, configs=configs, steps=steps or preset.steps, lr_changes=schedule)


def sweep_presets(names: list[str], seed_list: list[int], every_figure: bool = False,
                  fields: dict[str, object] | None = None, steps: int | None = None,
                  lr_changes: list[str] | None = None) -> None:
    print("| preset | rule | worst | seeds passing | slowest seed: CPU s / wall s |")
    print("| --- | --- | --- | --- | --- |")
    for name in names:
        preset, figures, cpu, wall = variant(name, fields or {}, steps, lr_changes), {}, [], []
        for seed in seed_list:
            c0, w0 = time.process_time(), time.perf_counter()
            runs = train_preset(preset.with_seed(seed))
            figures[seed] = preset.measure(runs)
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
            if every_figure:  # the figures no rule bounds too, seed by seed, as they come
                print(f"  {name} seed {seed}: " + "; ".join(f"{k} {fmt(v)}" for k, v in figures[seed].items())
                      + f" ({cpu[-1]:.1f} s CPU)", flush=True)
        report(f"`{name}`", preset.rules, figures, f" {max(cpu):.1f} / {max(wall):.1f} |")


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
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE", help="change every run's config")
    parser.add_argument("--steps", type=int, help="another training budget for the presets")
    parser.add_argument("--lr-changes", nargs="*", metavar="STEP:LR", help="another learning-rate schedule ('none': none)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"seeds {args.seeds}" + (f", {' '.join(args.set)}" if args.set else "") + (f", {args.steps} steps" if args.steps else "")
          + (f", lr changes {' '.join(args.lr_changes)}" if args.lr_changes is not None else ""))
    seed_list = seeds(args.seeds)
    if args.claims in ("presets", "all"):
        sweep_presets([n for n in PRESETS if not args.only or n in args.only], seed_list, args.figures, overrides(args.set), args.steps, args.lr_changes)
    tasks = [n for n in args.only if n not in PRESETS]
    if args.claims in ("tasks", "all") and (tasks or not args.only):
        sweep_tasks(tasks, seed_list)


if __name__ == "__main__":
    main()
