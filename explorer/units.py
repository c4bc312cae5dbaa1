"""Units that mean something: simple features of the input computed in code, and the hidden or cell units
whose value tracks each one best (Karpathy, Johnson & Fei-Fei 2015, "Visualizing and Understanding Recurrent
Networks", section 4.2: cells that count line position, track quotes and brackets).

Pure torch + numpy on a Run. Not the page that shows the result (explorer/ui/units_ui.py) and not the chart
that colours the text (explorer/charts/units.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from explorer.run import Run
from explorer.trace import run_direction, trace_model

VOWELS = set("aeiou")
LETTERS = set("abcdefghijklmnopqrstuvwxyz")
SENTENCE_ENDS = set(".!?")
BRACKETS = {"(": ")", "[": "]", "{": "}"}
TEXT_WINDOWS = 128  # held-out windows of seq_len characters the finder reads (8,192 characters at T = 64: the whole tail)
MEMORY_EXAMPLES = 256  # fresh sequences the finder reads on a memory task
SHOWN_CHARS = 256  # characters of the held-out text kept for colouring by the units found
TOP = 3  # units listed per feature


def text_features(text: str) -> dict[str, np.ndarray]:
    """Features of each character of `text` (N,) as floats, NaN where a feature says nothing.

    inside quotes: 1 from an opening '"' up to its closing one (the quote marks themselves included);
    position in word: 0 at a word's first letter, 1 at the next, ... (NaN outside words);
    position in sentence: characters since the last . ! or ? (the text has no line breaks: the line's stand-in);
    after a space: 1 when the character before is a space;
    vowel (1) / consonant (0): letters only;
    inside brackets: 1 between ( and ), [ and ], { and } (only when the text has any).
    """
    n = len(text)
    quote, word, sentence, after, vowel, bracket = (np.full(n, np.nan) for _ in range(6))
    inside, run, since, depth = False, -1, 0, 0
    closers = set(BRACKETS.values())
    for k, c in enumerate(text):
        if c == '"':
            inside = not inside
            quote[k] = 1.0
        else:
            quote[k] = float(inside)
        run = run + 1 if c in LETTERS else -1
        if run >= 0:
            word[k] = run
            vowel[k] = float(c in VOWELS)
        sentence[k] = since
        since = 0 if c in SENTENCE_ENDS else since + 1
        after[k] = float(k > 0 and text[k - 1] == " ")
        if c in BRACKETS:
            depth += 1
        bracket[k] = float(depth > 0)
        if c in closers:
            depth = max(0, depth - 1)
    features = {"inside quotes": quote, "position in word": word, "position in sentence": sentence,
                "after a space": after, "vowel (1) or consonant (0)": vowel}
    if any(c in BRACKETS for c in text):
        features["inside brackets"] = bracket
    return features


def memory_features(task_name: str, x: np.ndarray) -> dict[str, np.ndarray]:
    """What a memory task's model must hold, per step of x (B, T, I): name -> (B, T), NaN before it is known.

    recall: "key stored is A" ... "D": 1 from the key's step on when the key is that letter, else 0;
    adding: the first marked value (from its mark on), the sum of the marked values so far, the marks seen;
    copy: "holds a" ... "h": 1 from the last symbol shown on when that symbol is among the ones to copy.
    """
    B, T, _ = x.shape
    if task_name == "recall":
        keys = x[..., :4]  # (B, T, 4)
        seen = np.cumsum(keys.sum(-1), axis=1) > 0  # (B, T)
        key = keys.sum(1).argmax(-1)  # (B,)
        return {f"key stored is {'ABCD'[k]}": np.where(seen, (key == k)[:, None].astype(float), np.nan)
                for k in range(4)}
    if task_name == "adding":
        values, marks = x[..., 0], x[..., 1]  # (B, T)
        count = np.cumsum(marks, axis=1)
        first = (values * (marks * (count == 1))).sum(1)  # (B,)
        return {"first marked value": np.where(count >= 1, first[:, None], np.nan),
                "sum of marked values so far": np.cumsum(values * marks, axis=1),
                "marks seen": count}
    if task_name == "copy":
        symbols = x[..., :8]  # (B, T, 8)
        shown = symbols.sum(-1) > 0  # (B, T)
        last = T - 1 - np.argmax(shown[:, ::-1], axis=1)  # (B,) the last symbol's step
        after = np.arange(T)[None] >= last[:, None]  # (B, T)
        held = symbols.sum(1) > 0  # (B, 8)
        return {f"holds {'abcdefgh'[k]}": np.where(after, held[:, k:k + 1].astype(float), np.nan) for k in range(8)}
    raise ValueError(f"find units knows the text task and the memory tasks recall, adding and copy; not {task_name!r}")


FINDER_TASKS = ("text", "recall", "adding", "copy")


def correlations(feature: np.ndarray, states: np.ndarray) -> tuple[np.ndarray, int]:
    """Pearson r of one feature (N,) with every column of states (N, U) over the steps where the feature is
    defined and the state finite; r = 0 for a constant column. Returns (r (U,), steps used)."""
    keep = np.isfinite(feature) & np.isfinite(states).all(axis=1)
    f, s = feature[keep], states[keep].astype(float)
    if keep.sum() < 3 or f.std() == 0:
        return np.zeros(states.shape[1]), int(keep.sum())
    f = (f - f.mean()) / f.std()
    s = s - s.mean(axis=0)
    sd = s.std(axis=0)
    r = np.where(sd > 0, (f[:, None] * s).mean(axis=0) / np.where(sd > 0, sd, 1), 0.0)
    return np.clip(r, -1, 1), int(keep.sum())


@dataclass
class Unit:
    """One unit: which state ("h" or "c"), layer, direction, index, and its correlation r with a feature."""

    state: str
    layer: int
    direction: int
    unit: int
    r: float

    def label(self, layers: int = 1, directions: int = 1) -> str:
        where = ([f"layer {self.layer}"] if layers > 1 else []) + (["backward" if self.direction else "forward"]
                                                                    if directions > 1 else [])
        return f"{self.state}_t unit {self.unit}" + (f" ({', '.join(where)})" if where else "")


@dataclass
class UnitReport:
    """What find_units() found: per feature, the TOP units by |r| (best first) and the steps it was measured on."""

    task: str
    step: int  # training steps of the model measured
    steps_used: dict[str, int]  # feature -> steps (characters) where it is defined
    best: dict[str, list[Unit]]  # feature -> units, best first
    shape: tuple[int, int]  # (L, D)
    at_init: dict[str, float] = field(default_factory=dict)  # feature -> best |r| of the untrained weights
    tokens: list[str] = field(default_factory=list)  # the first SHOWN_CHARS characters measured (text task)
    shown: dict[str, np.ndarray] = field(default_factory=dict)  # feature -> (len(tokens),) its best unit there
    missing: list[str] = field(default_factory=list)  # features the task's text cannot have, and why


def states_of(run: Run, x: torch.Tensor, y: torch.Tensor) -> dict[tuple[str, int, int], np.ndarray]:
    """(state, layer, direction) -> (B*T, H) values of h_t and c_t (LSTM) on the inputs x (B, T, I)."""
    rnn = getattr(run.model, "rnn", None)
    if isinstance(rnn, torch.nn.RNNBase):  # the trace's loop without its backward pass
        D = 2 if rnn.bidirectional else 1
        hidden, cell, layer_input = [], [], x
        with torch.no_grad():
            for layer in range(rnn.num_layers):
                runs = [run_direction(rnn, run.config.arch, layer_input, layer, d) for d in range(D)]
                hidden.append([torch.stack(r[0], 1).numpy() for r in runs])  # D x (B, T, H)
                if run.config.arch == "lstm":
                    cell.append([torch.stack(r[1], 1).numpy() for r in runs])
                layer_input = torch.cat([torch.stack(r[0], 1) for r in runs], dim=-1)  # (B, T, D*H)
        fields = {"hidden": np.stack([np.stack(h) for h in hidden]),
                  "cell": np.stack([np.stack(c) for c in cell]) if cell else None}
    else:
        fields = trace_model(run.model, x, y, run.task.loss)
    out = {}
    for name in ("hidden", "cell"):
        values = fields[name]  # (L, D, B, T, H)
        if values is None:
            continue
        L, D, B, T, H = values.shape
        for layer in range(L):
            for d in range(D):
                out[("h" if name == "hidden" else "c", layer, d)] = values[layer, d].reshape(B * T, H)
    return out


def _held_out_text(run: Run, windows: int) -> tuple[str, torch.Tensor, torch.Tensor]:
    """Consecutive windows of the text task's held-out tail: (their text, x (B, T, V), y (B, T))."""
    task, T = run.task, run.config.seq_len
    B = min(windows, (len(task.series) - task.test_start - 1) // T)
    ids = task.series[task.test_start: task.test_start + B * T + 1]
    position = torch.arange(B * T).reshape(B, T)  # (B, T)
    position = torch.cat([position, position[:, -1:] + 1], dim=1) + task.test_start  # (B, T+1)
    x, y = task.windows(position, task.test_start)
    return task.decode(ids[:B * T]), x, y


def _ranked(run: Run, x, y, features: dict[str, np.ndarray]):
    """-> (feature -> TOP units by |r|, feature -> steps used, the states) of run on x."""
    states = states_of(run, x, y)
    best, used = {}, {}
    for name, feature in features.items():
        ranked = []
        for (state, layer, d), values in states.items():
            r, used[name] = correlations(feature, values)
            ranked += [Unit(state, layer, d, int(u), float(r[u])) for u in np.argsort(-np.abs(r))[:TOP]]
        best[name] = sorted(ranked, key=lambda unit: -abs(unit.r))[:TOP]
    return best, used, states


def find_units(run: Run, windows: int = TEXT_WINDOWS, examples: int = MEMORY_EXAMPLES, seed: int = 0) -> UnitReport:
    """Rank every h_t and c_t unit of the run by |Pearson r| with each feature, on held-out text (the text task,
    fed in windows of seq_len, as in training) or on fresh sequences (memory tasks, drawn with `seed`).

    Also measures the same run's weights at initialisation (the config's seed, untrained): features of the
    current input (a vowel, a space) show in the units of any network that reads it, trained or not, so only
    a correlation well above the untrained one was learned."""
    task = run.config.task
    if task not in FINDER_TASKS:
        raise ValueError(f"find units works on the tasks {', '.join(FINDER_TASKS)}; this run's task is {task!r}")
    missing = []
    if task == "text":
        text, x, y = _held_out_text(run, windows)
        features = text_features(text)
        if "inside brackets" not in features:
            missing.append("inside brackets: this text has no brackets (its 36 characters have none)")
    else:
        x, y = run.task.sample(examples, torch.Generator().manual_seed(seed))
        features = {k: v.reshape(-1) for k, v in memory_features(task, x.numpy()).items()}
    best, used, states = _ranked(run, x, y, features)
    at_init = {name: abs(units[0].r) for name, units in _ranked(Run(run.config), x, y, features)[0].items()}
    layers = 1 + max(k[1] for k in states)
    directions = 1 + max(k[2] for k in states)
    report = UnitReport(task, run.step, used, best, (layers, directions), at_init=at_init, missing=missing)
    if task == "text":
        n = min(SHOWN_CHARS, len(text))
        report.tokens = list(text[:n])
        report.shown = {name: states[(u[0].state, u[0].layer, u[0].direction)][:n, u[0].unit]
                        for name, u in best.items()}
    return report


def look_for_units(state: bytes) -> UnitReport:
    """find_units() of the run saved in `state`: what a pool process computes for the Inspect page."""
    return find_units(Run.load(state))
