"""Held-out measurements of a trained Run: loss, forecasts (closed-loop too), sentiment with negation, and text samples.

Not training and not charts. Each uses a generator of its own, so measuring never moves the
training data stream.
"""
from __future__ import annotations

import re

import numpy as np
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


def held_out_metrics(states: list[bytes]) -> list[float]:
    """held_out_metric of each run saved in `states` (Run.to_bytes): what a pool process computes for the
    Compare page, so a heavy race's evaluation never runs in the server."""
    from explorer.run import Run  # here: run imports this module

    return [held_out_metric(Run.load(state)) for state in states]


@torch.no_grad()
def held_out_loss(run, batches: int = 4, batch_size: int = 64) -> float:
    values = [run.task.loss(run.model(x), y).item() for x, y in _test_batches(run, batches, batch_size)]
    return sum(values) / len(values)


@torch.no_grad()
def adding_end_errors(run, examples: int = 1024) -> np.ndarray:
    """|prediction - target| at the last step of `examples` fresh adding-problem sequences: (examples,)."""
    x, y = run.task.sample(examples, _generator(run, salt=1))
    return (run.model(x)[:, -1, 0] - y[:, -1, 0]).abs().numpy()


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


HORIZONS = (1, 4, 16, 32)  # k of the k-step-ahead forecasts (d2l, "Sequence Models", shows 1, 4, 16, 64)
MIN_PROMPT = 16  # true values every forecast has seen before it is scored in free_running_mse()


def _is_causal(model) -> bool:
    """The output at t reads inputs up to t only: one-way recurrent models, masked Transformers, scans."""
    rnn = getattr(model, "rnn", None)
    return not getattr(rnn, "bidirectional", False) and getattr(model, "causal", True)


@torch.no_grad()
def free_running(model, inputs: torch.Tensor, horizons: tuple[int, ...] = HORIZONS) -> torch.Tensor:
    """k-step-ahead forecasts: after a prompt of true values the model is fed its own outputs (closed loop).

    inputs (B, T, I): a series whose next value is the target at each step (the forecasting tasks), so
    the model's output at t is its forecast of inputs[:, t + 1]. Returns (len(horizons), B, T, I): entry
    [i, b, t] forecasts the value after step t having read the true inputs 0..t-k+1 only (k = horizons[i]);
    the inputs t-k+2..t it reads are its own earlier outputs. NaN where t < k - 1 (no true value to start
    from). k = 1 is model(inputs), the teacher-forced one-step forecast. Needs a causal model whose output
    has the input's size.
    """
    if inputs.dim() != 3:
        raise ValueError(f"inputs must be (B, T, I); got shape {tuple(inputs.shape)}")
    if not horizons or any(not isinstance(k, int) or k < 1 for k in horizons):
        raise ValueError(f"horizons must be positive integers; got {horizons!r}")
    if not _is_causal(model):
        raise ValueError("free-running forecasts need a one-way (causal) model: a bidirectional one reads the future")
    if isinstance(getattr(model, "rnn", None), torch.nn.RNNBase):
        return _free_running_recurrent(model, inputs, horizons)
    return _free_running_any(model, inputs, horizons)


def _empty(inputs: torch.Tensor, horizons) -> torch.Tensor:
    return torch.full((len(horizons), *inputs.shape), float("nan"))  # (K, B, T, I)


def _check_fed(forecast: torch.Tensor, I: int) -> None:
    if forecast.shape[-1] != I:
        raise ValueError(f"free-running feeds outputs back as inputs: output size {forecast.shape[-1]} != input size {I}")


def _free_running_any(model, inputs: torch.Tensor, horizons) -> torch.Tensor:
    """Any causal model: one sequence per (example, prompt end p), re-run whole after each fed-back output."""
    B, T, I = inputs.shape
    out = _empty(inputs, horizons)
    rows = torch.arange(B * T)  # row = b * T + p: example b, last true input p
    example, prompt_end = rows // T, rows % T
    known = torch.arange(T)[None, :] <= prompt_end[:, None]  # (B*T, T): the prompt
    x = torch.where(known[..., None], inputs[example], torch.zeros(()))  # (B*T, T, I); the truth after it never enters
    for j in range(1, max(horizons) + 1):  # j-step forecasts sit at output index t = p + j - 1
        live = prompt_end + j - 1 < T
        x, example, prompt_end = x[live], example[live], prompt_end[live]
        if not len(x):
            break
        t = prompt_end + j - 1
        forecast = model(x)[torch.arange(len(x)), t]  # (n, O)
        _check_fed(forecast, I)
        if j in horizons:
            out[horizons.index(j), example, t] = forecast
        fed = t + 1 < T
        x[fed.nonzero()[:, 0], t[fed] + 1] = forecast[fed]  # the next input is the model's own output
    return out


def _free_running_recurrent(model, inputs: torch.Tensor, horizons) -> torch.Tensor:
    """torch RNN/LSTM/GRU + head: the state after each prompt is kept, so feeding back costs one step, not a re-run."""
    B, T, I = inputs.shape
    rnn, head = model.rnn, model.head
    out = _empty(inputs, horizons)
    state, states, tops = None, [], []
    for t in range(T):  # the true inputs, one fused step at a time: the state after every prompt end p
        top, state = rnn(inputs[:, t : t + 1], state)  # (B, 1, H); h (L, B, H) [and c]
        states.append(state)
        tops.append(top[:, 0])
    lstm = isinstance(rnn, torch.nn.LSTM)
    stack = lambda i: torch.stack([s[i] if lstm else s for s in states], 2).flatten(1, 2)  # (L, B*T, H), row b*T+p
    state = (stack(0), stack(1)) if lstm else stack(0)
    forecast = head(torch.stack(tops, 1).flatten(0, 1))  # (B*T, O): the one-step forecast after each p
    _check_fed(forecast, I)
    t = torch.arange(B * T) % T  # output index of the current forecast: p + j - 1
    for j in range(1, max(horizons) + 1):
        if j in horizons:
            valid = t < T
            out[horizons.index(j)].view(B * T, I)[(torch.arange(B * T) // T * T + t)[valid]] = forecast[valid]
        if j == max(horizons):
            break
        top, state = rnn(forecast[:, None], state)  # feed the model's own output
        forecast, t = head(top[:, 0]), t + 1
    return out


def free_running_mse(model, inputs: torch.Tensor, targets: torch.Tensor, horizons: tuple[int, ...] = HORIZONS,
                     min_prompt: int = MIN_PROMPT) -> dict[int, float]:
    """MSE of each k-step-ahead forecast, all on the same scored steps: those every horizon reaches after at
    least min_prompt true values (t >= min_prompt + max(horizons) - 1), so only k differs between them."""
    forecasts = free_running(model, inputs, horizons)  # (K, B, T, I)
    first = min_prompt + max(horizons) - 1
    mask = ~torch.isnan(targets)  # (B, T, O)
    mask[:, :first] = False
    if not mask.any():
        raise ValueError(f"no scored step at t >= {first}: the sequences are too short for these horizons")
    return {k: torch.mean((forecasts[i][mask] - targets[mask]) ** 2).item() for i, k in enumerate(horizons)}


def free_running_scores(run, batch_size: int = 64) -> dict[int, float]:
    """Held-out MSE of each k-step-ahead forecast (free_running_mse): on fresh sequences, or where the task has
    one long series with held-out years (sunspots), on that series scored in those years."""
    task = run.task
    if not hasattr(task, "baseline_mse"):
        raise ValueError(f"task {task.name!r} is not a forecasting task")
    whole = getattr(task, "test_series", None)
    x, y = whole() if whole else _test_batches(run, 1, batch_size)[0]
    return free_running_mse(run.model, x, y)


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


# -- translation (issue 13, item 1) -------------------------------------------------------------------------
@torch.no_grad()
def greedy_decode(model, task, x: torch.Tensor) -> torch.Tensor:
    """The translate task's greedy decoding: at each target step the model is fed its own previous output (the
    most likely class), not the true digit. x (B, S + U, I) packed (the true digits in it are dropped).
    -> (B, U) the class written at each target step, -100 after 'end'. Any causal model: re-run once per step."""
    S, U, end = task.source_len, task.target_len, task.output_size - 1
    x = x.clone()
    x[:, S + 1:] = 0  # only the source and the start symbol '='
    out = torch.full((x.shape[0], U), -100)
    done = torch.zeros(x.shape[0], dtype=torch.bool)
    for u in range(U):
        k = model(x)[:, S + u].argmax(-1)  # (B,)
        out[~done, u] = k[~done]
        done |= k == end
        if u + 1 < U:
            rows = (~done).nonzero()[:, 0]
            x[rows, S + u + 1, task.SEPARATOR + 1 + k[rows]] = 1.0  # the digit just written, as the next input
    return out


def greedy_exact_match(model, task, x: torch.Tensor, y: torch.Tensor) -> float:
    """Share of sequences greedy decoding writes exactly: every digit, then 'end'."""
    S, U = task.source_len, task.target_len
    return (greedy_decode(model, task, x) == y[:, S:S + U]).all(dim=1).float().mean().item()


def translate_scores(run, examples: int = 512) -> tuple[float, float]:
    """-> greedy exact match on fresh numbers of every length, and on long ones only (the most digits allowed)."""
    task = run.task
    if not hasattr(task, "sample_long"):
        raise ValueError(f"task {task.name!r} is not the translate task")
    generator = _generator(run)
    every = greedy_exact_match(run.model, task, *task.sample(examples, generator))
    long = greedy_exact_match(run.model, task, *task.sample_long(examples, generator))
    return every, long



@torch.no_grad()
def alignment_scores(run, examples: int = 512) -> tuple[float, float]:
    """How sharp and how diagonal the attention's alignment is, on fresh numbers fed their true digits:
    -> (the mean weight of each target step's most attended word: 1/words when spread evenly, 1 when all on
    one; the share of target steps after the first whose most attended word is not left of the previous
    step's: a band running down from top left). Only the steps the task scores (digits and 'end')."""
    task = run.task
    x, y = task.sample(examples, _generator(run, salt=1))
    S = task.source_len
    weights = run.model.alignment(x)  # (B, U, S)
    scored = y[:, S:] != -100  # (B, U)
    peak, where = weights.max(-1)  # (B, U)
    ordered = (where[:, 1:] >= where[:, :-1])[scored[:, 1:]]
    return peak[scored].mean().item(), ordered.float().mean().item()
