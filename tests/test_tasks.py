"""Tests of the toy tasks: shapes, seeding, target rules, chance levels, encode(), learnability.

Not tests of explorer's models: the learnability checks train a plain nn.LSTM written here.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

import pytest
import torch
from torch import nn

from explorer.tasks import IGNORE, TASKS, Task, make_task
from explorer.tasks.forecast import sunspot_counts
from explorer.verdicts import Rule
from explorer.tasks.language import NEGATIONS, WORDS, corpus, polarity

NAMES = ["adding", "copy", "recall", "parity", "sine", "sunspots", "text", "sentiment", "lookahead",
         "selective_copy", "induction", "csv", "ecg", "stocks", "music"]


def batch(task: Task, seed: int = 0, size: int = 16):
    return task.sample(size, torch.Generator().manual_seed(seed))


def scored(y: torch.Tensor) -> torch.Tensor:
    """Mask of the steps a target scores: (B, T) for class targets, (B, T, O) for values."""
    return y != IGNORE if y.dtype == torch.int64 else ~torch.isnan(y)


# -- registry and declared contract ------------------------------------------------------


SEQ2SEQ_NAMES = ["translate"]  # source and target packed in one sequence longer than seq_len: tests/test_translate.py


def test_registry_lists_the_tasks_in_order():
    assert list(TASKS) == NAMES + SEQ2SEQ_NAMES
    assert all(TASKS[name].name == name for name in NAMES + SEQ2SEQ_NAMES)


def test_make_task_rejects_unknown_names_and_short_sequences():
    with pytest.raises(ValueError, match="unknown task"):
        make_task("chess", 10)
    with pytest.raises(ValueError, match="seq_len"):
        make_task("adding", 1)


@pytest.mark.parametrize("name", NAMES)
def test_task_declares_its_contract(name):
    task = make_task(name, 20)
    assert task.title and task.description and task.input_hint
    assert task.kind in ("classify", "regress")
    if task.kind == "classify":
        assert (task.metric_name, task.higher_is_better) == ("accuracy", True)
        assert len(task.classes) == task.output_size and all(isinstance(c, str) for c in task.classes)
        assert 0 < task.chance < 1
    else:
        assert (task.metric_name, task.higher_is_better) == ("mse", False)
        assert task.classes == [] and task.chance > 0
    assert task.causal is (name != "lookahead")


# -- shapes, dtypes, seeding ---------------------------------------------------------------


@pytest.mark.parametrize("seq_len", [2, 10, 50, 1000])
@pytest.mark.parametrize("name", NAMES)
def test_sample_shapes_and_dtypes(name, seq_len):
    task = make_task(name, seq_len)
    for x, y in (batch(task, size=3), task.sample_test(3, torch.Generator().manual_seed(1))):
        assert x.shape == (3, seq_len, task.input_size) and x.dtype == torch.float32
        assert torch.isfinite(x).all()
        if task.kind == "classify":
            assert y.shape == (3, seq_len) and y.dtype == torch.int64
            assert ((y == IGNORE) | ((y >= 0) & (y < task.output_size))).all()
        else:
            assert y.shape == (3, seq_len, task.output_size) and y.dtype == torch.float32
        assert scored(y).reshape(3, -1).any(1).all(), "every sequence scores at least one step"
        tokens = task.tokens(x)
        assert len(tokens) == 3 and all(len(row) == seq_len for row in tokens)
        assert all(isinstance(s, str) and len(s) <= 12 for row in tokens for s in row)


@pytest.mark.parametrize("name", NAMES)
def test_sampling_depends_only_on_the_generator(name):
    task = make_task(name, 30)
    global_state = torch.random.get_rng_state()
    x1, y1 = batch(task, seed=3)
    x2, y2 = batch(task, seed=3)
    x3, _ = batch(task, seed=4)
    assert torch.equal(x1, x2) and torch.equal(scored(y1), scored(y2))
    assert torch.equal(y1[scored(y1)], y2[scored(y2)])
    assert not torch.equal(x1, x3)
    assert torch.equal(torch.random.get_rng_state(), global_state), "the global torch RNG was used"


# -- target rules --------------------------------------------------------------------------


def test_adding_target_is_the_sum_of_the_two_marked_values():
    task = make_task("adding", 20)
    x, y = batch(task, size=64)
    marks = x[..., 1]
    assert (marks.sum(1) == 2).all()
    assert (marks[:, :10].sum(1) == 1).all() and (marks[:, 10:].sum(1) == 1).all()
    assert torch.allclose(y[:, -1, 0], (x[..., 0] * marks).sum(1))
    assert torch.isnan(y[:, :-1]).all()


def test_adding_marks_both_steps_of_a_two_step_sequence():
    x, y = batch(make_task("adding", 2))
    assert (x[..., 1] == 1).all()
    assert torch.allclose(y[:, -1, 0], x[..., 0].sum(1))


@pytest.mark.parametrize("seq_len", [2, 3, 7, 20, 100])
def test_copy_outputs_the_first_symbols_in_the_last_steps(seq_len):
    task = make_task("copy", seq_len)
    x, y = batch(task)
    k = min(5, max(1, (seq_len - 1) // 3))
    symbols = x.argmax(-1)  # (B, T)
    assert torch.equal(y[:, -k:], symbols[:, :k])
    assert (y[:, :-k] == IGNORE).all()
    assert ((symbols == 9).sum(1) == 1).all(), "one delimiter"


def test_recall_target_is_the_one_key_before_the_query():
    task = make_task("recall", 30)
    x, y, delay = task.sample_with_delay(256, torch.Generator().manual_seed(0))
    index = x.argmax(-1)  # (B, T)
    is_key = index < 4
    assert (is_key.sum(1) == 1).all() and (index[:, -1] == 8).all()
    key_step = is_key.float().argmax(1)
    assert torch.equal(delay, 29 - key_step)
    assert torch.equal(y[:, -1], index[torch.arange(256), key_step])
    assert (y[:, :-1] == IGNORE).all()
    assert delay.min() == 1 and delay.max() == 29, "delays cover 1..T-1"


def test_recall_can_fix_the_delay_to_put_every_key_at_step_0():
    task = make_task("recall", 50)
    x, y, delay = task.sample_with_delay(32, torch.Generator().manual_seed(0), delay=49)
    assert (x[:, 0, :4].sum(1) == 1).all() and (delay == 49).all()
    assert torch.equal(y[:, -1], x[:, 0, :4].argmax(-1))
    with pytest.raises(ValueError):
        task.sample_with_delay(4, torch.Generator(), delay=50)


def test_parity_target_is_the_running_xor():
    x, y = batch(make_task("parity", 40))
    bits = x[..., 0].long()
    running = torch.zeros_like(bits[:, 0])
    for t in range(40):
        running = running ^ bits[:, t]
        assert torch.equal(y[:, t], running)


def test_lookahead_target_is_the_next_input():
    x, y = batch(make_task("lookahead", 25))
    symbols = x.argmax(-1)
    assert torch.equal(y[:, :-1], symbols[:, 1:])
    assert (y[:, -1] == IGNORE).all()


@pytest.mark.parametrize("name", ["sine", "sunspots"])
def test_forecast_target_is_the_next_input_and_baseline_repeats_the_last(name):
    task = make_task(name, 30)
    x, y = batch(task, size=32)
    mask = scored(y)[:, :-1, 0]  # (B, T-1)
    assert torch.allclose(y[:, :-1, 0][mask], x[:, 1:, 0][mask])
    assert torch.isnan(y[:, :4]).all(), "warm-up steps are not scored"
    naive = ((x - y)[scored(y)] ** 2).mean().item()
    assert task.baseline_mse(x, y) == pytest.approx(naive)
    assert task.baseline_mse(x, y) < task.chance


def test_sunspot_windows_keep_train_and_test_years_apart():
    task = make_task("sunspots", 20)
    counts = sunspot_counts()
    assert task.test_start == 247  # 1947
    for sample, years in ((task.sample, counts[1:247]), (task.sample_test, counts[247:])):
        _, y = sample(64, torch.Generator().manual_seed(0))
        values = task.denormalize(y[scored(y)])
        distance = (values[:, None] - years[None, :]).abs().min(1).values
        assert (distance < 1e-3).all()


def test_sunspots_longer_than_the_series_pad_and_score_only_real_years():
    task = make_task("sunspots", 1000)
    x, y = batch(task, size=2)
    assert torch.equal(x[0], x[1]), "only one window fits the 247 training years"
    assert (x[:, :754] == 0).all(), "left padding before 1700"
    assert scored(y).sum(1).squeeze(-1).tolist() == [247, 247]
    assert torch.isfinite(task.denormalize(y[scored(y)])).all()


def test_text_targets_are_the_next_characters_and_test_windows_are_held_out():
    task = make_task("text", 60)
    x, y = batch(task, size=8)
    chars = x.argmax(-1)
    assert torch.equal(y[:, :-1], chars[:, 1:])
    held_out = corpus()[task.test_start:]
    xt, yt = task.sample_test(8, torch.Generator().manual_seed(0))
    for row in yt:
        assert task.decode(row) in held_out
    assert 30 <= len(task.vocab) <= 45 and task.input_size == task.output_size == len(task.vocab)


def test_text_decode_inverts_encode_text_and_rejects_unknown_characters():
    task = make_task("text", 10)
    line = "it is a truth universally acknowledged, that \"a single man\" -- wants; a wife!?"
    assert task.decode(task.encode_text(line)) == line
    with pytest.raises(ValueError):
        task.encode_text("Caps and digits 42")


def test_text_loss_is_in_bits_per_character():
    task = make_task("text", 10)
    x, y = batch(task)
    uniform = torch.zeros(*y.shape, len(task.vocab))  # equal logits: log2 36 bits for every character
    assert task.loss(uniform, y).item() == pytest.approx(math.log2(len(task.vocab)), rel=1e-6)


def test_text_chance_is_the_most_common_character_and_entropy_is_in_bits():
    task = make_task("text", 10)
    train = task.series[: task.test_start]
    assert task.chance == pytest.approx((train == task.vocab.index(" ")).float().mean().item())
    assert 3.5 < task.unigram_entropy_bits() < math.log2(len(task.vocab))


@pytest.mark.parametrize("seq_len", [2, 4, 8, 50])
def test_sentiment_labels_follow_the_polarity_rule_and_sentences_end_at_the_last_step(seq_len):
    task = make_task("sentiment", seq_len)
    x, y, negated = task.sample_with_negation(256, torch.Generator().manual_seed(0))
    for tokens, label, neg in zip(task.tokens(x), y[:, -1].tolist(), negated.tolist()):
        padding = tokens.count("·")
        words = tokens[padding:]
        assert tokens[:padding] == ["·"] * padding and "·" not in words
        assert polarity(words) == label
        assert any(w in NEGATIONS for w in words) == neg
    assert (y[:, :-1] == IGNORE).all()
    assert 0.25 < negated.float().mean().item() < 0.42
    assert len(WORDS) == task.input_size == 40


def test_sentiment_negation_flips_the_label():
    task = make_task("sentiment", 10)
    label = {s: task.encode(s)[1][0, -1].item() for s in (
        "the movie was good", "the movie was not good", "the plot was never very bad", "honestly the cast was awful")}
    assert list(label.values()) == [1, 0, 1, 0]


# -- chance levels -------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_chance_is_what_an_input_blind_predictor_scores(name):
    task = make_task(name, 30)
    _, y = batch(task, size=4096)
    targets = y[scored(y)]
    if task.kind == "regress":
        mse_of_mean = ((targets - targets.mean()) ** 2).mean().item()
        assert mse_of_mean == pytest.approx(task.chance, rel=0.1)
    else:
        majority = torch.bincount(targets, minlength=task.output_size).max().item() / len(targets)
        assert majority == pytest.approx(task.chance, abs=0.03)


# -- encode --------------------------------------------------------------------------------

VALID = {
    "adding": ("0.3|1 0.8|0 0.5|1", [math.nan, math.nan, 0.8]),
    "copy": ("abc___|___", [IGNORE] * 7 + [0, 1, 2]),
    "recall": ("3B141?", [IGNORE] * 5 + [1]),
    "parity": ("0110100", [0, 1, 0, 0, 1, 1, 1]),
    "sine": ("0 0.5 1", [0.5, 1.0, math.nan]),
    "sunspots": ("5 11 16", None),
    "text": ("it is", [20, 0, 9, 19, IGNORE]),
    "sentiment": ("the movie was not very good", [IGNORE] * 5 + [0]),
    "lookahead": ("0312", [3, 1, 2, IGNORE]),
    "selective_copy": (".a..b|__", [IGNORE] * 6 + [0, 1]),
    "induction": ("ab#cda#", [IGNORE] * 6 + [2]),
    "csv": ("5 11 16", None),
    "ecg": ("5 11 16", None),
    "stocks": ("5 11 16", None),
    "music": ("62 - 66", [2, 14, IGNORE]),  # ids: '-' is 2, MIDI 66 is 3 + 66 - 55
}
INVALID = {
    "adding": ["0.3|2", "abc", "1.5|1"],
    "copy": ["xyz", "ab|9"],
    "recall": ["E1?", "a1?"],
    "parity": ["012", "0 1 x"],
    "sine": ["1 two", "1 nan"],
    "sunspots": ["-5 3", "five"],
    "text": ["Hello", "it is 42"],
    "sentiment": ["the movie was splendid", "The movie"],
    "lookahead": ["0145", "01a"],
    "selective_copy": ["xa|_", ".A|_"],
    "induction": ["ab#c?#", "AB#"],
    "csv": ["1 two", "1 nan"],
    "ecg": ["1 two", "1 inf"],
    "stocks": ["0.1 x", "nan"],
    "music": ["C D E", "62 99", "62 -- 64"],
}


@pytest.mark.parametrize("name", NAMES)
def test_encode_parses_a_valid_sequence_with_the_task_rule(name):
    task = make_task(name, 10)
    text, expected = VALID[name]
    x, y = task.encode(text)
    T = x.shape[1]
    assert x.shape == (1, T, task.input_size) and x.dtype == torch.float32
    if task.kind == "classify":
        assert y.tolist() == [expected]
    elif expected is not None:
        assert torch.allclose(y[0, :, 0], torch.tensor(expected), equal_nan=True)
    else:
        assert task.denormalize(y[0, :2, 0]).tolist() == pytest.approx([11.0, 16.0])
        assert math.isnan(y[0, 2, 0])


@pytest.mark.parametrize("name", ["copy", "recall", "parity", "lookahead", "selective_copy", "induction"])
def test_encode_then_tokens_gives_back_the_typed_symbols(name):
    task = make_task(name, 10)
    text = VALID[name][0]
    assert "".join(task.tokens(task.encode(text)[0])[0]) == text


OVERLONG_UNIT = {"adding": "0.5|0 ", "copy": "a", "recall": "1", "parity": "0", "sine": "0 ",
                 "sunspots": "5 ", "text": "a", "sentiment": "good ", "lookahead": "0",
                 "selective_copy": ".", "induction": "a", "csv": "1 ", "ecg": "0.5 ", "stocks": "0.01 ",
                 "music": "62 "}


@pytest.mark.parametrize("name", NAMES)
def test_encode_rejects_bad_empty_and_overlong_input_saying_what_it_accepts(name):
    task = make_task(name, 10)
    task.encode(OVERLONG_UNIT[name] * 1000)
    for bad in [*INVALID[name], "", OVERLONG_UNIT[name] * 1001]:
        with pytest.raises(ValueError) as err:
            task.encode(bad)
        assert task.input_hint in str(err.value)


# -- learnability ----------------------------------------------------------------------------
# Each claim is a measure of one seed and the rules its figures obey. They hold on any seed with a margin:
# `python -m tests.margins --claims tasks` sweeps seeds 0-7 with one and two torch threads, and
# docs/presets.md records the worst case of each figure. CI checks TEST_SEED.

TEST_SEED = 0


class Net(nn.Module):
    """nn.LSTM (or nn.RNN) + a linear readout at every step."""

    def __init__(self, task: Task, hidden: int, bidirectional: bool = False, cell=nn.LSTM, forget_bias: float = 0.0):
        super().__init__()
        self.rnn = cell(task.input_size, hidden, batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), task.output_size)
        if forget_bias:  # torch's chunk order i, f, g, o: the second quarter of b_ih is the forget gate's
            with torch.no_grad():
                for name, bias in self.rnn.named_parameters():
                    if name.startswith("bias_ih"):
                        bias[hidden:2 * hidden] += forget_bias

    def forward(self, x):  # (B, T, I) -> (B, T, O)
        return self.head(self.rnn(x)[0])


def trained(task: Task, steps: int, seed: int, hidden: int = 32, lr: float = 1e-2, batch_size: int = 32,
            **net_options) -> Net:
    """Adam with the global gradient norm clipped at 1."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    net = Net(task, hidden, **net_options)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(steps):
        x, y = task.sample(batch_size, generator)
        loss = task.loss(net(x), y)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
    return net


@torch.no_grad()
def held_out_metric(task: Task, net: Net, seed: int) -> float:
    x, y = task.sample_test(512, torch.Generator().manual_seed(12345 + seed))
    return task.metric(net(x), y)


LEARNABLE = {  # name: (seq_len, steps, hidden, bar: the held-out metric to beat)
    "adding": (10, 300, 32, 0.06),  # chance 0.167
    "copy": (10, 400, 64, 0.8),  # chance 0.125
    "recall": (10, 600, 32, 0.9),  # chance 0.25
    "parity": (10, 300, 32, 0.95),  # chance 0.5
    "sine": (20, 300, 32, 0.1),  # chance 1.01
    "sunspots": (20, 300, 32, 0.45),  # chance 0.995
    "text": (20, 300, 64, 0.35),  # chance 0.18
    "sentiment": (12, 300, 32, 0.95),  # chance 0.5
}


def learns(name: str) -> Claim:
    """A small LSTM learns the task well above chance (and a forecaster beats repeating the last value)."""
    seq_len, steps, hidden, bar = LEARNABLE[name]
    task = make_task(name, seq_len)
    figure = f"held-out {task.metric_name}"
    classify = task.kind == "classify"
    assert (bar > task.chance + 0.15) if classify else (bar < 0.5 * task.chance), "the bar must be well past chance"

    def measure(seed: int) -> dict[str, float]:
        net = trained(task, steps, seed, hidden)
        figures = {figure: held_out_metric(task, net, seed)}
        if hasattr(task, "baseline_mse"):
            x, y = task.sample_test(512, torch.Generator().manual_seed(12345 + seed))
            with torch.no_grad():
                figures["MSE / MSE of repeating the last value"] = task.metric(net(x), y) / task.baseline_mse(x, y)
        return figures

    rules = (Rule(figure, ">" if classify else "<", bar),)
    if hasattr(task, "baseline_mse"):
        rules += (Rule("MSE / MSE of repeating the last value", "<", 0.8),)
    return Claim(f"a small LSTM learns {name}", measure, rules)


def negation_measure(seed: int) -> dict[str, float]:
    task = make_task("sentiment", 12)
    net = trained(task, 300, seed)
    x, y, negated = task.sample_with_negation(1024, torch.Generator().manual_seed(12345 + seed))
    with torch.no_grad():
        correct = net(x)[:, -1].argmax(-1) == y[:, -1]
    return {"accuracy on negated sentences": correct[negated].float().mean().item()}


def lookahead_measure(seed: int) -> dict[str, float]:
    task = make_task("lookahead", 10)
    return {"held-out accuracy, one-way": held_out_metric(task, trained(task, 300, seed), seed),
            "bidirectional": held_out_metric(task, trained(task, 300, seed, bidirectional=True), seed)}


def recall50_measure(seed: int) -> dict[str, float]:
    """The key at step 0 of 50 (an LSTM with its forget gate biased open) against keys 25+ back (a tanh RNN)."""
    task = make_task("recall", 50)
    setup = dict(hidden=64, lr=2e-2, batch_size=64)  # the vanishing_gradients preset's
    lstm = trained(task, 400, seed, forget_bias=5.0, **setup)
    rnn = trained(task, 400, seed, cell=nn.RNN, **setup)
    generator = torch.Generator().manual_seed(12345 + seed)
    with torch.no_grad():
        x, y, _ = task.sample_with_delay(512, generator, delay=49)
        lstm_accuracy = task.metric(lstm(x), y)
        far = [task.sample_with_delay(32, generator, delay=d) for d in range(25, 50)]
        rnn_accuracy = sum(task.metric(rnn(x), y) for x, y, _ in far) / len(far)
    return {"accuracy with the key 49 steps back, LSTM": lstm_accuracy, "25-49 steps back, RNN": rnn_accuracy}


@dataclass(frozen=True)
class Claim:
    name: str
    measure: Callable[[int], dict[str, float]]  # seed -> figures
    rules: tuple[Rule, ...]

    def check(self, seed: int) -> None:
        figures = self.measure(seed)
        failed = [f"{rule.figure} {figures[rule.figure]:.3g} ({rule})" for rule in self.rules if not rule.holds(figures)]
        assert not failed, f"{self.name}, seed {seed}: " + "; ".join(failed)


def _claims() -> list[Claim]:
    chance = make_task("lookahead", 10).chance
    return [*(learns(name) for name in LEARNABLE),
            Claim("a small LSTM handles negated sentences", negation_measure,
                  (Rule("accuracy on negated sentences", ">", 0.9),)),
            Claim("lookahead needs a bidirectional model", lookahead_measure,
                  (Rule("held-out accuracy, one-way", "<", chance + 0.07), Rule("bidirectional", ">", 0.9))),
            Claim("recall at 50 steps: an LSTM keeps the key and a plain RNN loses it", recall50_measure,
                  (Rule("accuracy with the key 49 steps back, LSTM", ">", 0.9),
                   Rule("25-49 steps back, RNN", "<", 0.4)))]


CLAIMS = {claim.name: claim for claim in _claims()}


@pytest.mark.parametrize("name", list(CLAIMS))
def test_learning_claim_holds(name):
    CLAIMS[name].check(TEST_SEED)


def test_selective_copy_asks_for_the_coloured_tokens_in_order_wherever_they_sit():
    task = make_task("selective_copy", 30)
    x, y = batch(task, size=64)
    index = x.argmax(-1)  # (B, T)
    for row, target in zip(index, y):
        colours = [int(s) for s in row[:25] if s < 8]
        assert len(colours) == 4 and int(row[25]) == task.DELIMITER
        assert target[-4:].tolist() == colours and (target[:-4] == IGNORE).all()
    starts = {tuple(int(t) for t in (row < 8).nonzero()[:, 0]) for row in index}
    assert len(starts) > 32  # the places vary: that is what makes the copying selective


def test_induction_asks_for_the_letter_after_the_first_marker():
    task = make_task("induction", 20)
    x, y = batch(task, size=64)
    index = x.argmax(-1)  # (B, T)
    for row, target in zip(index, y):
        marks = (row == task.MARKER).nonzero()[:, 0].tolist()
        assert len(marks) == 2 and marks[1] == 19
        assert int(target[-1]) == int(row[marks[0] + 1]) and (target[:-1] == IGNORE).all()


def test_config_offers_exactly_the_registered_tasks():
    """config.TASK_NAMES (what RunConfig accepts and the sidebar lists) and the registry name the same tasks."""
    from explorer.budget import TASK_SIZES
    from explorer.config import TASK_NAMES
    assert TASK_NAMES == tuple(TASKS)
    assert set(TASK_SIZES) == set(TASK_NAMES)


@pytest.mark.parametrize("name", NAMES + SEQ2SEQ_NAMES)
def test_the_description_under_the_task_box_names_no_code(name):
    """A student reads it under the Task box: no method calls like sample_test() and no identifiers like baseline_mse."""
    text = TASKS[name].description
    assert not re.search(r"\w\(\)|\b[a-z]{2,}_[a-z]{2,}", text), text
