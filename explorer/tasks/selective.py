"""Tasks that need a model to choose what to keep by content: selective copying and induction heads.
Generators and target rules only, no models (Gu & Dao 2023, arXiv:2312.00752, section 3.1 and 4.1)."""
from __future__ import annotations

import torch

from explorer.tasks.base import IGNORE, Task, one_hot, one_hot_tokens


class SelectiveCopy(Task):
    name = "selective_copy"
    title = "Selective copying"
    description = (
        "k = 4 coloured tokens (letters a-h) sit at random places among noise '.'; after the delimiter '|' the "
        "model must output them in order, one per step. Plain copying has the tokens at fixed places, which a "
        "time-invariant model (a fixed convolution over time) can solve; here where to look depends on the "
        "content, so the model must select what to keep (Gu & Dao 2023, Mamba's selective copying)."
    )
    K = 4  # tokens to copy (fewer when T < 9: one per answer step that fits)
    input_size = 11  # 8 colours, noise, delimiter, blank (answer steps)
    output_size = 8
    chance = 1 / 8
    classes = list("abcdefgh")
    alphabet = "abcdefgh.|_"
    input_hint = "letters a-h among noise '.', then '|' and one blank '_' per letter, e.g. .a..b.c..d|____"
    NOISE, DELIMITER, BLANK = 8, 9, 10

    def sample(self, batch_size, generator):
        T = self.seq_len
        k = min(self.K, max(1, (T - 1) // 2))
        span = T - k - 1 if T > 2 else 1  # steps before the delimiter (T = 2: 'a_', no room for one)
        places = torch.rand(batch_size, span, generator=generator).argsort(dim=1)[:, :k].sort(dim=1).values  # (B, k)
        symbols = torch.randint(0, 8, (batch_size, k), generator=generator)  # (B, k)
        index = torch.full((batch_size, T), self.NOISE)
        index.scatter_(1, places, symbols)
        index[:, span:] = self.BLANK
        if T > 2:
            index[:, span] = self.DELIMITER
        y = torch.full((batch_size, T), IGNORE)
        y[:, T - k:] = symbols
        return one_hot(index, self.input_size), y  # (B, T, 11), (B, T)

    def tokens(self, x):
        return one_hot_tokens(x, list(self.alphabet))

    def encode(self, text):
        index = self.symbols_of(text, self.alphabet)
        T = len(index)
        y = torch.full((1, T), IGNORE)
        if self.DELIMITER in index:
            cut = index.index(self.DELIMITER)
            symbols = [s for s in index[:cut] if s < 8]
            answers = T - cut - 1
            if symbols and answers == len(symbols):
                y[0, T - answers:] = torch.tensor(symbols)
        return one_hot(torch.tensor([index]), self.input_size), y


class Induction(Task):
    name = "induction"
    title = "Induction heads"
    description = (
        "Random letters a-h, with the marker '#' twice: once somewhere inside, followed by a letter, and once "
        "at the last step, where the model must name the letter that followed the first '#'. A model that "
        "learns the rule (find the earlier '#', copy what came next) solves any length; one that learns where "
        "things were at the training length does not (Olsson et al. 2022; Gu & Dao 2023)."
    )
    V = 8  # letters
    input_size = 9  # letters, marker
    output_size = 8
    chance = 1 / 8
    classes = list("abcdefgh")
    alphabet = "abcdefgh#"
    input_hint = "letters a-h with '#' once inside followed by a letter, and '#' at the end, e.g. abh#cfdga#"
    MARKER = 8

    def sample(self, batch_size, generator):
        T = self.seq_len
        index = torch.randint(0, self.V, (batch_size, T), generator=generator)  # (B, T)
        first = torch.randint(0, max(1, T - 2), (batch_size,), generator=generator)  # the marker; its letter at first + 1
        rows = torch.arange(batch_size)
        index[rows, first] = self.MARKER
        if T > 2:  # at T = 2 the sequence is just '#' and its letter
            index[:, -1] = self.MARKER
        y = torch.full((batch_size, T), IGNORE)
        y[:, -1] = index[rows, first + 1]
        return one_hot(index, self.input_size), y  # (B, T, 9), (B, T)

    def tokens(self, x):
        return one_hot_tokens(x, list(self.alphabet))

    def encode(self, text):
        index = self.symbols_of(text, self.alphabet)
        y = torch.full((1, len(index)), IGNORE)
        marks = [t for t, s in enumerate(index) if s == self.MARKER]
        if len(marks) == 2 and marks[1] == len(index) - 1 and marks[0] + 1 < marks[1]:
            y[0, -1] = index[marks[0] + 1]
        return one_hot(torch.tensor([index]), self.input_size), y
