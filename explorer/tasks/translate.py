"""A toy translation: English number words to digits, "three hundred forty two" -> 3 4 2 (issue 13, item 1).

The pairs come from a small grammar written here (no data, nothing downloaded). Not the encoder-decoder that
translates (explorer/seq2seq.py). One sequence packs both sides, so every model reads (B, T, I) as usual:

    steps 0 .. S-1       the source words, left-padded with empty steps (S = seq_len, the longest source)
    step  S              '=', the decoder's first input (a start symbol)
    steps S+1 .. S+n     the target digits, each fed in one step after it is due (teacher forcing)

and the targets are the digits at steps S .. S+len-1, then 'end'; later steps are not scored.
"""
from __future__ import annotations

import torch

from explorer.tasks.base import IGNORE, Task, one_hot

ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
        "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
SCALES = ["", "thousand", "million", "billion"]
WORDS = ONES + TENS[2:] + ["hundred"] + SCALES[1:]  # 32 source words
DIGITS = list("0123456789")
END = "end"
MAX_DIGITS = 3 * len(SCALES)  # 12: up to 999 billion ...


def spell(number: int) -> list[str]:
    """English words of 0 <= number < 10**12, without 'and' or hyphens: 342 -> three hundred forty two."""
    if not 0 <= number < 10**MAX_DIGITS:
        raise ValueError(f"spell() takes 0 to {10**MAX_DIGITS - 1}; got {number}")
    if number == 0:
        return ["zero"]
    words: list[str] = []
    for k in range(len(SCALES) - 1, -1, -1):
        group = number // 1000**k % 1000
        if group:
            words += _below_thousand(group) + ([SCALES[k]] if k else [])
    return words


def _below_thousand(n: int) -> list[str]:
    words = [ONES[n // 100], "hundred"] if n >= 100 else []
    n %= 100
    if n >= 20:
        words += [TENS[n // 10]] + ([ONES[n % 10]] if n % 10 else [])
    elif n:
        words += [ONES[n]]
    return words


def longest_source(digits: int) -> int:
    """The most words any number of `digits` digits takes (7..7 in every place: 'seventy seven' is as long as any)."""
    return len(spell(int("7" * digits)))


class Translate(Task):
    name = "translate"
    title = "Translation (number words to digits)"
    description = (
        "An English number in words goes in, e.g. “three hundred forty two thousand five”; after the '=' "
        "the model must write it in digits, 342005, one digit per step, then 'end'. An encoder RNN reads the "
        "words; a decoder RNN writes the digits, fed the true previous digit while training (teacher forcing). "
        "Sequence length is the longest source in words (14 allows 9-digit numbers). With attention the decoder "
        "looks back at the words each step (Bahdanau et al. 2015), and the alignment of digits to words forms "
        "a diagonal band; without it everything must pass through one vector, which long numbers overflow "
        "(Cho et al. 2014). Scored by exact match: every digit and the end right. The lesson Translation with "
        "attention trains both side by side at 14 words (Attention on and off, hidden 64, Adam 0.01)."
    )
    metric_name = "exact match"
    input_size = len(WORDS) + 1 + len(DIGITS)  # words, '=', digits fed back
    output_size = len(DIGITS) + 1  # digits, end
    chance = 0.0  # guessing every digit of a number right is vanishingly unlikely
    classes = DIGITS + [END]
    input_hint = ("a whole number from zero to 999 billion in English words, without 'and' or hyphens, "
                  "e.g. three thousand forty two")
    SEPARATOR = len(WORDS)

    def __init__(self, seq_len: int) -> None:
        super().__init__(seq_len)
        self.source_len = self.seq_len  # S: source steps (the encoder's)
        self.digits = max(n for n in range(1, MAX_DIGITS + 1) if longest_source(n) <= self.seq_len)  # n
        self.target_len = self.digits + 1  # U: decoder steps (digits, then end)
        self.symbols = WORDS + ["="] + DIGITS

    @property
    def length(self) -> int:
        """Steps of a packed sequence: S + U."""
        return self.source_len + self.target_len

    def numbers(self, batch_size: int, generator: torch.Generator, digits: int | None = None) -> list[int]:
        """Random numbers: the count of digits uniform in 1..n (or exactly `digits`), then uniform among those."""
        if digits is None:
            lengths = torch.randint(1, self.digits + 1, (batch_size,), generator=generator).tolist()
        else:
            lengths = [digits] * batch_size
        fractions = torch.rand(batch_size, generator=generator, dtype=torch.float64).tolist()
        out = []
        for n, f in zip(lengths, fractions):
            low = 10 ** (n - 1) if n > 1 else 0
            out.append(min(low + int(f * (10**n - low)), 10**n - 1))
        return out

    def pack(self, numbers: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Numbers -> x (B, S + U, I) one-hot, y (B, S + U) class index with IGNORE."""
        S, T = self.source_len, self.length
        index, y = [], []
        for number in numbers:
            words = [WORDS.index(w) for w in spell(number)]
            if len(words) > S:
                raise ValueError(f"{number} takes {len(words)} words, more than the {S} source steps")
            digits = [int(d) for d in str(number)]
            if len(digits) > self.digits:
                raise ValueError(f"{number} has {len(digits)} digits, more than the {self.digits} this length allows")
            fed = [self.SEPARATOR] + [self.SEPARATOR + 1 + d for d in digits]
            index.append([-1] * (S - len(words)) + words + fed + [-1] * (T - S - len(fed)))
            due = digits + [len(DIGITS)]
            y.append([IGNORE] * S + due + [IGNORE] * (T - S - len(due)))
        index, y = torch.tensor(index).reshape(-1, T), torch.tensor(y, dtype=torch.int64).reshape(-1, T)
        return one_hot(index, self.input_size), y

    def sample(self, batch_size, generator):
        return self.pack(self.numbers(batch_size, generator))

    def sample_long(self, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Only numbers of the most digits this length allows: the long inputs."""
        return self.pack(self.numbers(batch_size, generator, self.digits))

    def tokens(self, x):
        index = x.argmax(-1).tolist()
        active = (x.abs().sum(-1) > 0).tolist()
        return [[self.symbols[i] if on else "" for i, on in zip(row, on_row)] for row, on_row in zip(index, active)]

    def encode(self, text):
        words = text.lower().replace("-", " ").split()
        bad = sorted({w for w in words if w not in WORDS})
        if bad:
            raise self.reject(f"Unknown word(s) {' '.join(repr(w) for w in bad[:5])}")
        self.check_length(len(words))
        number = parse(words)
        if number is None:
            raise self.reject(f"“{' '.join(words)}” is not a number as spell() writes it")
        if len(words) > self.source_len or len(str(number)) > self.digits:
            raise self.reject(f"“{' '.join(words)}” is longer than this sequence length ({self.source_len} words, "
                              f"{self.digits} digits) allows")
        return self.pack([number])

    @torch.no_grad()
    def metric(self, output, y):
        """Exact match: the share of sequences whose every scored step is right. With teacher forcing this is
        also greedy decoding's exact match: until the first mistake greedy decoding is fed the same inputs."""
        mask = y != IGNORE
        right = (output.argmax(-1) == y) | ~mask
        return right.all(dim=1).float().mean().item()


def parse(words: list[str]) -> int | None:
    """The number `words` spell in spell()'s own form, or None: parse(spell(n)) == n for every n."""
    for n in _candidates(words):
        if spell(n) == words:
            return n
    return None


def _candidates(words: list[str]):
    """A value read off the words (every word adds its value within its group); spell() then checks the form."""
    total, group = 0, 0
    for w in words:
        if w in ONES:
            group += ONES.index(w)
        elif w in TENS:
            group += 10 * TENS.index(w)
        elif w == "hundred":
            group *= 100
        else:
            total += group * 1000 ** SCALES.index(w)
            group = 0
    value = total + group
    if 0 <= value < 10**MAX_DIGITS:
        yield value
