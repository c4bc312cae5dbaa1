"""Step-by-step labelling tasks: running parity (needs the past) and lookahead (needs the future)."""
from __future__ import annotations

import torch

from explorer.tasks.base import IGNORE, Task, one_hot, one_hot_tokens


class Parity(Task):
    name = "parity"
    title = "Running parity"
    description = (
        "Random bits go in; at every step the model must say whether it has seen an even or odd "
        "number of ones so far (y_t = x_0 xor ... xor x_t). One bit of state is enough, but it must "
        "flip exactly on each 1 and never drift: a small error compounds along the sequence. "
        "The XOR problem made sequential (Elman 1990)."
    )
    input_size = 1
    output_size = 2
    chance = 0.5
    classes = ["even", "odd"]
    input_hint = "bits 0/1, e.g. 0110100"

    def sample(self, batch_size, generator):
        bits = torch.randint(0, 2, (batch_size, self.seq_len), generator=generator)  # (B, T)
        return bits.float().unsqueeze(-1), bits.cumsum(1) % 2  # (B, T, 1), (B, T)

    def tokens(self, x):
        return [[f"{v:.0f}" for v in row] for row in x[..., 0].tolist()]

    def encode(self, text):
        bits = torch.tensor([self.symbols_of(text, "01")])  # (1, T)
        return bits.float().unsqueeze(-1), bits.cumsum(1) % 2


class Lookahead(Task):
    name = "lookahead"
    title = "Look ahead"
    description = (
        "Random digits 0-3 go in; at step t the model must output the digit that comes next, "
        "x_(t+1) (the last step is not scored). The answer is not yet seen when a left-to-right RNN "
        "must give it, so a unidirectional model stays at chance (1/4), while a bidirectional one, "
        "whose backward direction has already read step t+1, solves it (Schuster & Paliwal 1997)."
    )
    causal = False
    input_size = 4
    output_size = 4
    chance = 1 / 4
    classes = list("0123")
    input_hint = "digits 0-3, e.g. 0312201"

    def sample(self, batch_size, generator):
        digits = torch.randint(0, 4, (batch_size, self.seq_len), generator=generator)  # (B, T)
        return one_hot(digits, 4), self._targets(digits)  # (B, T, 4), (B, T)

    @staticmethod
    def _targets(digits: torch.Tensor) -> torch.Tensor:
        y = torch.full_like(digits, IGNORE)
        y[:, :-1] = digits[:, 1:]
        return y

    def tokens(self, x):
        return one_hot_tokens(x, self.classes)

    def encode(self, text):
        digits = torch.tensor([self.symbols_of(text, "0123")])  # (1, T)
        return one_hot(digits, 4), self._targets(digits)
