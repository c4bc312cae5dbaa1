"""Melody generation on public-domain Irish tunes (O'Neill 1903): note tokens on an eighth-note grid, and ABC out.

Not audio and not an ABC parser: the tunes were cut to tokens once, at development time
(scripts/extract_data.py); this module reads those tokens and writes ABC text for a generated tune.
"""
from __future__ import annotations

from functools import lru_cache

import torch

from explorer.tasks.base import IGNORE, HeldOutTail, Task, one_hot, one_hot_tokens
from explorer.tasks.forecast import DATA

LOW, HIGH = 55, 88  # MIDI G3..E6, the range of every shipped tune
END, REST, HOLD = "|", "r", "-"  # end of a tune; a rest begins; the note (or rest) before goes on one more eighth
VOCAB = [END, REST, HOLD] + [str(m) for m in range(LOW, HIGH + 1)]  # 37 tokens
PITCH_CLASSES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


def note_name(midi: int) -> str:
    """61 -> 'C#4' (scientific pitch notation, sharps)."""
    return f"{PITCH_CLASSES[midi % 12]}{midi // 12 - 1}"


def readable(token: str) -> str:
    return {END: "end", REST: "rest", HOLD: "hold"}.get(token) or note_name(int(token))


@lru_cache(maxsize=1)
def melodies() -> list[tuple[str, list[str]]]:
    """(title, tokens) of each shipped tune, in the book's order."""
    tunes = []
    for line in (DATA / "oneills_melodies.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            _, title, tokens = line.split("\t")
            tunes.append((title, tokens.split()))
    return tunes


def notes(tokens: list[str]) -> list[tuple[int | None, int]]:
    """Tokens -> (MIDI pitch or None for a rest, length in eighths), up to the first END after a note."""
    out: list[tuple[int | None, int]] = []
    for token in tokens:
        if token == END:
            if out:
                break
        elif token == HOLD:
            if out:
                out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((None if token == REST else int(token), 1))
    return out


def abc_pitch(midi: int, sharpened: set[str]) -> str:
    """MIDI -> ABC with explicit sharps (K:C): 60 'C', 61 '^C', 72 'c', 84 "c'", 59 'B,'. `sharpened`: the
    letters sharpened earlier in this bar (updated here); a natural of one of them needs '='."""
    name = PITCH_CLASSES[midi % 12]
    letter = name[0]
    if "#" in name:
        accidental = "^"
        sharpened.add(letter)
    else:
        accidental = "=" if letter in sharpened else ""
        sharpened.discard(letter)
    octave = midi // 12 - 1
    if octave >= 5:
        return accidental + letter.lower() + "'" * (octave - 5)
    return accidental + letter + "," * (4 - octave)


def to_abc(tokens: list[str], title: str = "Generated tune", per_bar: int = 8) -> str:
    """An ABC tune (L:1/8, no metre; a bar line every `per_bar` notes) of the tokens, for any ABC player."""
    bars, bar, sharpened = [], [], set()
    for pitch, length in notes(tokens):
        symbol = "z" if pitch is None else abc_pitch(pitch, sharpened)
        bar.append(symbol + (str(length) if length > 1 else ""))
        if len(bar) == per_bar:
            bars.append(" ".join(bar))
            bar, sharpened = [], set()  # a bar line ends every accidental
    if bar:
        bars.append(" ".join(bar))
    safe_title = "".join(c for c in title if c.isprintable())[:60]
    body = [" | ".join(bars[i : i + 4]) + " |" for i in range(0, len(bars), 4)]
    return "\n".join(["X:1", f"T:{safe_title}", "M:none", "L:1/8", "K:C", *body]) + "\n"


class Music(HeldOutTail, Task):
    name = "music"
    title = "Irish melodies"
    description = (
        "Real data: 400 tunes from O'Neill's Music of Ireland (1903, public domain), as notes on an eighth-note "
        "grid: at each step the next token is a note (one of 34 pitches), 'hold' (the note goes on), a rest, or "
        "the end of the tune. The model must predict the next token; the bar to beat is guessing 'hold' every "
        "time, the commonest token. Keys, scales, rhythm and the repeated phrases of a tune need memory. The "
        "held-out score is on the last 40 tunes. After training, Generate writes a new tune as notes and ABC."
    )
    input_size = len(VOCAB)
    output_size = len(VOCAB)
    vocab = VOCAB
    classes = [readable(t) for t in VOCAB]
    input_hint = f"tokens separated by spaces: MIDI pitches {LOW}-{HIGH}, - (hold), r (rest), | (end), e.g. 62 - 66 69 74 -"
    TEST_TUNES = 40

    def __init__(self, seq_len: int) -> None:
        super().__init__(seq_len)
        tunes = melodies()
        index = {t: i for i, t in enumerate(VOCAB)}
        ids: list[int] = []
        for k, (_, tokens) in enumerate(tunes):
            if k == len(tunes) - self.TEST_TUNES:
                self.test_start = len(ids)
            ids += [index[t] for t in tokens] + [index[END]]
        self.series = torch.tensor(ids, dtype=torch.long)  # (N,)
        counts = torch.bincount(self.series[: self.test_start], minlength=len(VOCAB)).float()
        self.chance = (counts.max() / counts.sum()).item()

    def windows(self, position: torch.Tensor, lo: int):
        """position (B, T+1), < 0 is padding -> one-hot x (B, T, V), y (B, T); targets before lo are context."""
        T = self.seq_len
        ids = torch.where(position >= 0, self.series[position.clamp(min=0)], -1)  # (B, T+1)
        y = torch.where(position[:, 1:] >= lo, ids[:, 1:], IGNORE)  # (B, T)
        return one_hot(ids[:, :T], len(VOCAB)), y

    def encode_text(self, text: str) -> torch.Tensor:
        """Space-separated tokens -> (N,) ids (a prompt of END starts a new tune). ValueError on anything else."""
        tokens = text.split()
        bad = sorted({t for t in tokens if t not in VOCAB})
        if bad:
            raise self.reject(f"Unknown token(s) {' '.join(repr(t) for t in bad[:5])}")
        self.check_length(len(tokens))
        return torch.tensor([VOCAB.index(t) for t in tokens], dtype=torch.long)

    def decode(self, indices) -> str:
        values = indices.tolist() if isinstance(indices, torch.Tensor) else list(indices)
        return " ".join(VOCAB[i] for i in values)

    def tokens(self, x):
        return one_hot_tokens(x, self.classes)

    def encode(self, text):
        ids = self.encode_text(text).unsqueeze(0)  # (1, T)
        y = torch.full_like(ids, IGNORE)
        y[:, :-1] = ids[:, 1:]
        return one_hot(ids, len(VOCAB)), y
