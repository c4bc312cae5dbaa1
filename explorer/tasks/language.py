"""Language tasks: next-character prediction on a shipped public-domain text, and synthetic sentiment.

Not tokenizers for arbitrary text: each task has a small fixed vocabulary and rejects anything else.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path

import torch

from explorer.tasks.base import IGNORE, HeldOutTail, Task, one_hot, one_hot_tokens

DATA = Path(__file__).resolve().parent.parent / "data"
VOCAB = list(" abcdefghijklmnopqrstuvwxyz.,;:!?'\"-")  # 36 characters


@lru_cache(maxsize=1)
def corpus() -> str:
    """Pride and Prejudice, chapters 1-10: lowercased, whitespace runs made one space, headings
    and characters outside VOCAB (the '_' italics marks) dropped."""
    text = (DATA / "pride_and_prejudice.txt").read_text(encoding="utf-8").lower()
    text = re.sub(r"chapter \d+", " ", text)
    text = "".join(c for c in text if c in VOCAB or c.isspace())
    return re.sub(r"\s+", " ", text).strip()


class Text(HeldOutTail, Task):
    name = "text"
    title = "Next character"
    description = (
        "Characters of Jane Austen's Pride and Prejudice (chapters 1-10, public domain), lowercased, "
        "36 symbols, one-hot. At every step the model must predict the next character. Spelling needs "
        "a few steps of memory, words and punctuation more; the unigram baseline guesses a space "
        "every time. The held-out score is on the last 10% of the text, which training never sees (Karpathy 2015, "
        "'The Unreasonable Effectiveness of Recurrent Neural Networks')."
    )
    input_size = len(VOCAB)
    output_size = len(VOCAB)
    vocab = VOCAB
    classes = ["␣" if c == " " else c for c in VOCAB]
    input_hint = "lowercase letters, spaces and . , ; : ! ? ' \" -, e.g. it is a truth universally acknowledged"
    writes_text = True
    TEST_FRACTION = 0.1

    def __init__(self, seq_len: int) -> None:
        super().__init__(seq_len)
        self.series = self.encode_text(corpus())  # (N,) character ids
        self.test_start = round(len(self.series) * (1 - self.TEST_FRACTION))
        counts = torch.bincount(self.series[: self.test_start], minlength=len(VOCAB)).float()
        self.unigram = counts / counts.sum()  # (V,) character frequencies of the training text
        self.chance = self.unigram.max().item()

    def windows(self, position: torch.Tensor, lo: int):
        """position (B, T+1), < 0 is padding -> one-hot x (B, T, V), y (B, T); targets before lo are context."""
        T = self.seq_len
        chars = torch.where(position >= 0, self.series[position.clamp(min=0)], -1)  # (B, T+1)
        y = torch.where(position[:, 1:] >= lo, chars[:, 1:], IGNORE)  # (B, T)
        return one_hot(chars[:, :T], len(VOCAB)), y  # (B, T, V), (B, T)

    def loss(self, output, y):
        """Cross-entropy in bits per character (nats / ln 2): one unit on the Loss chart, the status line
        and the verdict. A constant factor, so Adam trains the same."""
        return super().loss(output, y) / math.log(2)

    def unigram_entropy_bits(self) -> float:
        """Cross-entropy in bits/char of predicting every character by its frequency alone."""
        p = self.unigram[self.unigram > 0]
        return -(p * torch.log2(p)).sum().item()

    def encode_text(self, text: str) -> torch.Tensor:
        """String of VOCAB characters -> (N,) int64 indices; ValueError on any other character."""
        bad = sorted(set(text) - set(VOCAB))
        if bad:
            raise self.reject(f"Unknown character(s) {' '.join(repr(c) for c in bad)}")
        index = {c: i for i, c in enumerate(VOCAB)}
        return torch.tensor([index[c] for c in text], dtype=torch.long)

    def decode(self, indices) -> str:
        """Indices (a tensor or list) -> string."""
        values = indices.tolist() if isinstance(indices, torch.Tensor) else list(indices)
        return "".join(VOCAB[i] for i in values)

    def tokens(self, x):
        return one_hot_tokens(x, self.classes)

    def encode(self, text):
        self.check_length(len(text))
        ids = self.encode_text(text).unsqueeze(0)  # (1, T)
        y = torch.full_like(ids, IGNORE)
        y[:, :-1] = ids[:, 1:]
        return one_hot(ids, len(VOCAB)), y


PAD = "<pad>"
FILLERS = ["i", "think", "honestly", "overall", "frankly"]
PREFIXES = [[], ["i", "think"], ["honestly"], ["overall"], ["frankly"]]
DETERMINERS = ["the", "this"]
NOUNS = ["movie", "film", "plot", "acting", "story", "ending", "music", "cast"]
VERBS = ["was", "is", "seemed", "felt"]
NEGATIONS = ["not", "never"]
INTENSIFIERS = ["very", "really", "quite", "so"]
POSITIVE = ["good", "great", "fun", "brilliant", "lovely", "excellent", "enjoyable"]
NEGATIVE = ["bad", "boring", "awful", "dull", "terrible", "poor", "weak"]
WORDS = [PAD, *FILLERS, *DETERMINERS, *NOUNS, *VERBS, *NEGATIONS, *INTENSIFIERS, *POSITIVE, *NEGATIVE]  # 40
DROP_ORDER = ("prefix", "intensifier", "determiner", "verb", "noun")  # parts dropped to fit short T


def polarity(words: list[str]) -> int | None:
    """1 positive, 0 negative: the last adjective's polarity, flipped by each negation before it."""
    adjectives = [i for i, w in enumerate(words) if w in POSITIVE or w in NEGATIVE]
    if not adjectives:
        return None
    last = adjectives[-1]
    flips = sum(w in NEGATIONS for w in words[:last])
    return int(words[last] in POSITIVE) ^ (flips % 2)


class Sentiment(Task):
    name = "sentiment"
    title = "Sentiment with negation"
    description = (
        "Short synthetic reviews from 40 words, e.g. 'honestly the plot was not very good', "
        "left-padded so the sentence ends at the last step. At the last step the model must say "
        "positive or negative. About a third contain 'not' or 'never', which flips the adjective "
        "that follows, so counting good and bad words is not enough: the model must carry the "
        "negation forward to the adjective (Socher et al. 2013)."
    )
    input_size = len(WORDS)
    output_size = 2
    chance = 0.5
    classes = ["negative", "positive"]
    vocab = WORDS
    input_hint = "lowercase words separated by spaces from: " + " ".join(WORDS[1:])
    NEGATION_RATE = 1 / 3

    def sample(self, batch_size, generator):
        x, y, _ = self.sample_with_negation(batch_size, generator)
        return x, y

    def sample_with_negation(self, batch_size: int, generator: torch.Generator):
        """x (B, T, 40), y (B, T), and has_negation (B,) bool: which sentences contain a negation."""
        B, T = batch_size, self.seq_len
        draw = {
            "prefix": torch.randint(0, len(PREFIXES), (B,), generator=generator),
            "determiner": torch.randint(0, len(DETERMINERS), (B,), generator=generator),
            "noun": torch.randint(0, len(NOUNS), (B,), generator=generator),
            "verb": torch.randint(0, len(VERBS), (B,), generator=generator),
            "negation": torch.randint(0, len(NEGATIONS), (B,), generator=generator),
            "intensifier": torch.randint(0, len(INTENSIFIERS), (B,), generator=generator),
            "adjective": torch.randint(0, len(POSITIVE), (B,), generator=generator),
        }
        has_negation = torch.rand(B, generator=generator) < self.NEGATION_RATE  # (B,)
        has_intensifier = torch.rand(B, generator=generator) < 0.5
        positive = torch.rand(B, generator=generator) < 0.5
        choices = {k: v.tolist() for k, v in draw.items()}
        sentences = [
            self._sentence({k: v[b] for k, v in choices.items()}, bool(has_negation[b]),
                           bool(has_intensifier[b]), bool(positive[b]), T)
            for b in range(B)
        ]
        x = one_hot(torch.tensor([self._padded(s, T) for s in sentences]), len(WORDS))  # (B, T, 40)
        y = torch.full((B, T), IGNORE)
        y[:, -1] = (positive ^ has_negation).long()
        return x, y, has_negation

    @staticmethod
    def _sentence(choice: dict, negated: bool, intensified: bool, positive: bool, T: int) -> list[str]:
        parts = {
            "prefix": PREFIXES[choice["prefix"]],
            "determiner": [DETERMINERS[choice["determiner"]]],
            "noun": [NOUNS[choice["noun"]]],
            "verb": [VERBS[choice["verb"]]],
            "negation": [NEGATIONS[choice["negation"]]] if negated else [],
            "intensifier": [INTENSIFIERS[choice["intensifier"]]] if intensified else [],
            "adjective": [(POSITIVE if positive else NEGATIVE)[choice["adjective"]]],
        }
        for part in DROP_ORDER:
            if sum(len(p) for p in parts.values()) <= T:
                break
            parts[part] = []
        order = ("prefix", "determiner", "noun", "verb", "negation", "intensifier", "adjective")
        return [w for part in order for w in parts[part]]

    @staticmethod
    def _padded(words: list[str], T: int) -> list[int]:
        return [0] * (T - len(words)) + [WORDS.index(w) for w in words]  # 0: PAD

    def tokens(self, x):
        return one_hot_tokens(x, ["·", *WORDS[1:]])  # PAD shows as a dot

    def encode(self, text):
        words = text.split()
        self.check_length(len(words))
        bad = sorted({w for w in words if w not in WORDS[1:]})
        if bad:
            raise self.reject(f"Unknown word(s) {' '.join(bad)}")
        x = one_hot(torch.tensor([self._padded(words, len(words))]), len(WORDS))  # (1, T, 40)
        y = torch.full((1, len(words)), IGNORE)
        label = polarity(words)
        if label is not None:
            y[0, -1] = label
        return x, y
