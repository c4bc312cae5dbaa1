"""Long-range memory tasks: adding, copy and recall. Generators and target rules only, no models."""
from __future__ import annotations

import torch

from explorer.tasks.base import IGNORE, Task, one_hot, one_hot_tokens


class Adding(Task):
    name = "adding"
    title = "Adding problem"
    description = (
        "Each step carries a random value in [0, 1] and a marker bit; exactly two steps are marked, "
        "one in the first half of the sequence and one in the second. At the last step the model must "
        "output the sum of the two marked values. It must hold the first value across about T/2 steps "
        "of irrelevant numbers, which plain RNNs fail at as T grows (Hochreiter & Schmidhuber 1997)."
    )
    kind = "regress"
    metric_name = "mse"
    higher_is_better = False
    input_size = 2  # value, marker
    output_size = 1
    chance = 1 / 6  # variance of the sum of two U(0, 1) values
    classes: list[str] = []
    input_hint = "value|marker pairs separated by spaces, value in [0, 1], marker 0 or 1, e.g. 0.3|1 0.8|0 0.5|1"

    def sample(self, batch_size, generator):
        B, T = batch_size, self.seq_len
        values = torch.rand(B, T, generator=generator)  # (B, T)
        half = T // 2
        first = torch.randint(0, half, (B,), generator=generator)
        second = half + torch.randint(0, T - half, (B,), generator=generator)
        marks = torch.zeros(B, T)
        rows = torch.arange(B)
        marks[rows, first] = 1.0
        marks[rows, second] = 1.0
        return torch.stack([values, marks], -1), self._targets(values, marks)  # (B, T, 2), (B, T, 1)

    @staticmethod
    def _targets(values: torch.Tensor, marks: torch.Tensor) -> torch.Tensor:
        y = torch.full((*values.shape, 1), float("nan"))  # (B, T, 1)
        y[:, -1, 0] = (values * marks).sum(1)
        return y

    def tokens(self, x):
        return [[f"{v:.2f}|{m:.0f}" for v, m in row] for row in x.tolist()]

    def encode(self, text):
        pairs = text.split()
        self.check_length(len(pairs))
        steps = [self._pair(p) for p in pairs]
        x = torch.tensor([steps], dtype=torch.float32)  # (1, T, 2)
        return x, self._targets(x[..., 0], x[..., 1])

    def _pair(self, text: str) -> tuple[float, float]:
        value, sep, mark = text.partition("|")
        try:
            v = float(value)
        except ValueError:
            raise self.reject(f"{text!r} has no value before '|'") from None
        if not sep or mark not in ("0", "1"):
            raise self.reject(f"{text!r} needs a marker '|0' or '|1'")
        if not 0.0 <= v <= 1.0:
            raise self.reject(f"{text!r} has a value outside [0, 1]")
        return v, float(mark)


class Copy(Task):
    name = "copy"
    title = "Copy memory"
    description = (
        "The first k steps show symbols from an alphabet of 8 (k is at most 5), then blanks, then a "
        "delimiter; in the last k steps the model must output the k symbols in their order. Every "
        "symbol must be held for about T - k steps while nothing useful arrives, so the gradient "
        "that teaches the model to store it has to travel the whole delay (Arjovsky, Shah & Bengio 2016)."
    )
    input_size = 10  # 8 symbols, blank, delimiter
    output_size = 8
    chance = 1 / 8
    classes = list("abcdefgh")
    alphabet = "abcdefgh_|"  # input symbols by channel
    input_hint = "letters a-h, then blanks _, a delimiter |, then blanks while the model answers, e.g. abc___|___"
    BLANK, DELIMITER = 8, 9

    @staticmethod
    def layout(T: int) -> tuple[int, int]:
        """(k symbols to copy, delimiter step) for a sequence of T steps; answers fill the last k steps."""
        k = min(5, max(1, (T - 1) // 3))
        return k, max(k, T - k - 1)

    def sample(self, batch_size, generator):
        T = self.seq_len
        k, delimiter = self.layout(T)
        symbols = torch.randint(0, 8, (batch_size, k), generator=generator)  # (B, k)
        index = torch.full((batch_size, T), self.BLANK)
        index[:, :k] = symbols
        index[:, delimiter] = self.DELIMITER
        y = torch.full((batch_size, T), IGNORE)
        y[:, T - k:] = symbols
        return one_hot(index, self.input_size), y  # (B, T, 10), (B, T)

    def tokens(self, x):
        return one_hot_tokens(x, list(self.alphabet))

    def encode(self, text):
        index = self.symbols_of(text, self.alphabet)
        T = len(index)
        k = next((i for i, s in enumerate(index) if s >= 8), T)  # leading symbols
        y = torch.full((1, T), IGNORE)
        delimiter = index.index(self.DELIMITER) if self.DELIMITER in index else -1
        if 1 <= k <= T - k and k <= delimiter <= T - k:
            y[0, T - k:] = torch.tensor(index[:k])
        return one_hot(torch.tensor([index]), self.input_size), y


class Recall(Task):
    name = "recall"
    title = "Recall the key"
    description = (
        "One step shows a key, one of 4 letters A-D on its own input channels; every other step shows "
        "a random distractor 1-4 on separate channels; the last step carries a query marker '?', where "
        "the model must name the key. The key comes 1 to T-1 steps before the query (uniformly), so the "
        "model must write it once and keep it through the distractors. Short delays teach the LSTM's "
        "gates to store, which then carries to long ones; a plain RNN loses the key (Hochreiter & "
        "Schmidhuber 1997). With the key always at the first step, no architecture learned at T = 50 from "
        "torch's default init: the short delays are what make the task learnable."
    )
    input_size = 9  # 4 key channels, 4 distractor channels, query
    output_size = 4
    chance = 1 / 4
    classes = list("ABCD")
    alphabet = "ABCD1234?"  # input symbols by channel
    input_hint = "one key A-D, distractors 1-4, and ? at the end, e.g. 3B141?"
    QUERY = 8

    def sample(self, batch_size, generator):
        x, y, _ = self.sample_with_delay(batch_size, generator)
        return x, y

    def sample_with_delay(self, batch_size: int, generator: torch.Generator, delay: int | None = None):
        """x (B, T, 9), y (B, T), delay (B,): steps from the key to the query.

        delay None draws it uniformly from 1..T-1; an int fixes it (T-1 puts every key at step 0).
        """
        T = self.seq_len
        if delay is None:
            delay = 1 + torch.randint(0, T - 1, (batch_size,), generator=generator)  # (B,)
        elif not 1 <= delay <= T - 1:
            raise ValueError(f"delay must be in 1..{T - 1}, got {delay}")
        delay = torch.as_tensor(delay).expand(batch_size)
        key = torch.randint(0, 4, (batch_size,), generator=generator)  # (B,)
        index = 4 + torch.randint(0, 4, (batch_size, T), generator=generator)  # (B, T) distractors
        index[torch.arange(batch_size), T - 1 - delay] = key
        index[:, -1] = self.QUERY
        y = torch.full((batch_size, T), IGNORE)
        y[:, -1] = key
        return one_hot(index, self.input_size), y, delay.clone()  # (B, T, 9), (B, T), (B,)

    def tokens(self, x):
        return one_hot_tokens(x, list(self.alphabet))

    def encode(self, text):
        index = self.symbols_of(text, self.alphabet)
        keys = [s for s in index if s < 4]
        y = torch.full((1, len(index)), IGNORE)
        if len(keys) == 1 and index[-1] == self.QUERY:
            y[0, -1] = keys[0]
        return one_hot(torch.tensor([index]), self.input_size), y
