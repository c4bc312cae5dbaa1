"""Held-out measurements of a trained Run: loss, forecasts, sentiment with negation, and text samples.

Not training and not charts. Each uses a generator of its own, so measuring never moves the
training data stream.
"""
from __future__ import annotations

import re

import torch

EVAL_SEED = 104_729  # offset for measurement generators, apart from training and probe seeds


def _generator(run, salt: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(run.config.seed + EVAL_SEED + salt)


def _test_batches(run, batches: int, batch_size: int):
    generator, task = _generator(run), run.task
    sample = getattr(task, "sample_test", task.sample)
    return [sample(batch_size, generator) for _ in range(batches)]


@torch.no_grad()
def held_out_metric(run, batches: int = 4, batch_size: int = 64) -> float:
    """Task metric on fresh (held-out where the task has a test range) batches."""
    values = [run.task.metric(run.model(x), y) for x, y in _test_batches(run, batches, batch_size)]
    return sum(values) / len(values)


@torch.no_grad()
def held_out_loss(run, batches: int = 4, batch_size: int = 64) -> float:
    values = [run.task.loss(run.model(x), y).item() for x, y in _test_batches(run, batches, batch_size)]
    return sum(values) / len(values)


@torch.no_grad()
def metric_at_length(run, seq_len: int, examples: int = 512) -> float:
    """Task metric on fresh sequences of another length than the run trained on (the same task at seq_len)."""
    from explorer.tasks import make_task

    task = make_task(run.config.task, seq_len)
    x, y = task.sample(examples, _generator(run, salt=seq_len))
    return task.metric(run.model(x), y)


@torch.no_grad()
def forecast_scores(run, batches: int = 4, batch_size: int = 64) -> tuple[float, float]:
    """-> (model MSE, MSE of repeating the last value) on held-out windows of a forecasting task."""
    if not hasattr(run.task, "baseline_mse"):
        raise ValueError(f"task {run.task.name!r} is not a forecasting task")
    pairs = [(run.task.metric(run.model(x), y), run.task.baseline_mse(x, y)) for x, y in _test_batches(run, batches, batch_size)]
    return sum(p[0] for p in pairs) / len(pairs), sum(p[1] for p in pairs) / len(pairs)


@torch.no_grad()
def sentiment_scores(run, batch_size: int = 512) -> tuple[float, float]:
    """-> (accuracy overall, accuracy on sentences with a negation) on fresh sentences."""
    if not hasattr(run.task, "sample_with_negation"):
        raise ValueError(f"task {run.task.name!r} is not the sentiment task")
    x, y, negated = run.task.sample_with_negation(batch_size, _generator(run))
    correct = (run.model(x)[:, -1].argmax(-1) == y[:, -1]).float()  # (B,) scored at the last step
    return correct.mean().item(), correct[negated].mean().item()


@torch.no_grad()
def generate(run, prompt: str, n: int, temperature: float = 1.0, seed: int = 0) -> str:
    """Sample n characters after `prompt` from a model trained on the text task (seeded)."""
    task = run.task
    if not hasattr(task, "encode_text"):
        raise ValueError(f"generate() needs the text task; this run's task is {run.config.task!r}")
    if not (0 < temperature <= 10):
        raise ValueError(f"temperature must be in (0, 10]; got {temperature!r}")
    if not isinstance(n, int) or not 0 <= n <= 10_000:
        raise ValueError(f"n must be an integer from 0 to 10000; got {n!r}")
    ids = task.encode_text(prompt).tolist() or [task.vocab.index(" ")]  # raises ValueError on unknown characters
    generator = torch.Generator().manual_seed(seed)
    V, context = len(task.vocab), run.config.seq_len
    out = []
    for _ in range(n):
        window = torch.tensor(ids[-context:])
        x = torch.nn.functional.one_hot(window, V).float()[None]  # (1, T, V)
        logits = run.model(x)[0, -1] / temperature  # (V,)
        nxt = torch.multinomial(torch.softmax(logits, -1), 1, generator=generator).item()
        ids.append(nxt)
        out.append(nxt)
    return task.decode(out)


def known_word_share(run, sample: str) -> float:
    """Share of the sampled words (letters only) that occur in the training text."""
    from explorer.tasks.language import corpus

    vocabulary = set(re.findall(r"[a-z]+", corpus()))
    words = re.findall(r"[a-z]+", sample)
    return sum(w in vocabulary for w in words) / max(1, len(words))
