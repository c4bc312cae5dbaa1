"""The translate task (number words to digits), its encoder-decoder with and without attention, greedy decoding,
the trace and the alignment chart (issue 13, item 1). The preset's verdict: tests/test_presets.py."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer import budget, charts, evaluate
from explorer.config import RunConfig
from explorer.models import build_model
from explorer.run import Run
from explorer.seq2seq import EncoderDecoder
from explorer.tasks import IGNORE, make_task
from explorer.tasks.translate import DIGITS, WORDS, longest_source, parse, spell

torch.set_num_threads(1)


def config(**changes) -> RunConfig:
    return RunConfig(**{**dict(arch="gru", task="translate", seq_len=9, hidden_size=16, batch_size=8, seed=0),
                        **changes})


# -- the grammar and the task ------------------------------------------------------------------------------

@pytest.mark.parametrize("number, words", [
    (0, "zero"), (7, "seven"), (13, "thirteen"), (40, "forty"), (42, "forty two"), (100, "one hundred"),
    (105, "one hundred five"), (342_005, "three hundred forty two thousand five"), (1_000_000, "one million"),
    (2_000_013_000, "two billion thirteen thousand"),
])
def test_spell_writes_english_number_words(number, words):
    assert " ".join(spell(number)) == words
    assert parse(words.split()) == number


def test_parse_inverts_spell_and_refuses_other_word_orders():
    generator = torch.Generator().manual_seed(0)
    for number in torch.randint(0, 10**12, (2000,), generator=generator, dtype=torch.int64).tolist() + list(range(1200)):
        assert parse(spell(number)) == number
    for bad in ("hundred one", "two one", "one thousand thousand", "twenty ten", "zero one", "one hundred hundred"):
        assert parse(bad.split()) is None, bad
    with pytest.raises(ValueError):
        spell(10**12)


def test_sequence_length_is_the_longest_source_and_sets_the_digits():
    assert [longest_source(n) for n in (1, 2, 3, 4, 6, 9, 12)] == [1, 2, 4, 6, 9, 14, 19]
    assert [make_task("translate", T).digits for T in (2, 3, 9, 14, 19, 50)] == [2, 2, 6, 9, 12, 12]
    for T in range(2, 30):  # every number of that many digits fits in T words
        task = make_task("translate", T)
        assert longest_source(task.digits) <= T


def test_a_sample_packs_words_start_symbol_and_digits_with_targets_one_step_ahead():
    task = make_task("translate", 14)
    x, y = task.sample(256, torch.Generator().manual_seed(1))
    S, U = task.source_len, task.target_len
    assert x.shape == (256, S + U, len(WORDS) + 1 + len(DIGITS)) and y.shape == (256, S + U)
    tokens = task.tokens(x)
    lengths = set()
    for row, target in zip(tokens, y.tolist()):
        words = [w for w in row[:S] if w]
        assert row[:S] == [""] * (S - len(words)) + words  # left-padded
        assert row[S] == "="
        number = parse(words)
        digits = str(number)
        lengths.add(len(digits))
        assert "".join(row[S + 1:]) == digits  # the digits fed back, one step late
        assert target[:S] == [IGNORE] * S
        assert [task.classes[k] for k in target[S:S + len(digits) + 1]] == list(digits) + ["end"]
        assert target[S + len(digits) + 1:] == [IGNORE] * (U - len(digits) - 1)
    assert lengths == set(range(1, 10))  # every length of number, up to 9 digits
    x_long, y_long = task.sample_long(64, torch.Generator().manual_seed(2))
    assert ((y_long[:, S:] != IGNORE).sum(1) == 10).all()  # 9 digits and end


def test_sampling_is_seeded_and_leaves_the_global_rng_alone():
    task = make_task("translate", 9)
    state = torch.random.get_rng_state()
    a, b = (task.sample(16, torch.Generator().manual_seed(3)) for _ in range(2))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert torch.equal(torch.random.get_rng_state(), state)


def test_encode_takes_number_words_and_refuses_anything_else_saying_what_it_accepts():
    task = make_task("translate", 9)
    x, y = task.encode("Three hundred forty-two thousand five")
    S = task.source_len
    assert [task.classes[k] for k in y[0, S:] if k != IGNORE] == list("342005") + ["end"]
    assert task.tokens(x)[0][S - 6:S] == "three hundred forty two thousand five".split()
    for bad in ("", "three apples", "hundred three", "one million", "nine hundred ninety nine thousand nine hundred "
                "ninety nine million"):
        with pytest.raises(ValueError) as error:
            task.encode(bad)
        assert task.input_hint in str(error.value)


def test_exact_match_needs_every_digit_and_the_end():
    task = make_task("translate", 4)
    _, y = task.pack([42, 7])
    perfect = torch.nn.functional.one_hot(y.clamp(min=0), task.output_size).float() * 10
    assert task.metric(perfect, y) == 1.0
    one_wrong = perfect.clone()
    one_wrong[0, task.source_len + 2] = 0  # the first number's 'end'
    assert task.metric(one_wrong, y) == 0.5


# -- the model --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("attention", [True, False])
def test_recurrent_archs_are_encoder_decoders_of_one_width(arch, attention):
    run = Run(config(arch=arch, attention=attention, num_layers=2))
    model = run.model
    assert isinstance(model, EncoderDecoder) and (model.align is not None) is attention
    x, y = run.probe, run.probe_targets
    out = model(x)
    S = run.task.source_len
    assert out.shape == (8, x.shape[1], run.task.output_size)
    assert (out[:, :S] == 0).all()  # nothing is written while the source is read
    assert budget.parameters(run.config) == run.num_parameters


def test_attention_adds_only_its_own_weights_to_the_same_encoder_decoder():
    with_, without = Run(config(attention=True)).model, Run(config(attention=False)).model
    H = 16
    assert sum(p.numel() for p in with_.parameters()) - sum(p.numel() for p in without.parameters()) == 2 * H * H + 2 * H  # W_a, U_a and its bias, v


def test_the_decoder_never_reads_a_later_target_digit():
    """Teacher forcing feeds the true digits: the output at target step u must not depend on those after it."""
    run = Run(config(attention=True))
    x = run.probe.clone()
    S = run.task.source_len
    base = run.model(x)
    x[:, S + 3:] = torch.rand_like(x[:, S + 3:])
    changed = run.model(x)
    assert torch.allclose(base[:, :S + 3], changed[:, :S + 3])
    assert not torch.allclose(base[:, S + 3:], changed[:, S + 3:])


def test_attention_ignores_the_padding_before_the_words():
    run = Run(config(attention=True))
    trace = run.trace()
    S = run.task.source_len
    words = run.probe[:, :S].abs().sum(-1) > 0  # (B, S)
    weights = trace.alignment  # (B, U, S)
    assert weights.shape == (8, run.task.target_len, S)
    assert np.allclose(weights.sum(-1), 1.0, atol=1e-5)
    assert (weights[~words.numpy()[:, None, :].repeat(run.task.target_len, 1)] == 0).all()


def test_other_architectures_read_the_packed_sequence_as_one():
    for arch in ("transformer", "minlstm"):
        run = Run(config(arch=arch, hidden_size=8))
        assert not isinstance(run.model, EncoderDecoder)
        run.train(2)
        trace = run.trace()
        assert trace.alignment is None and trace.decoded.shape == (8, run.task.target_len)


@pytest.mark.parametrize("bad, match", [
    (dict(task="adding", attention=True), "attention is for the translate task"),
    (dict(arch="transformer", attention=True), "attention is for the rnn and lstm and gru"),
    (dict(bidirectional=True), "bidirectional must be False for translate"),
])
def test_config_refuses_attention_where_nothing_reads_it(bad, match):
    with pytest.raises(ValueError, match=match):
        config(**bad)


# -- trace and greedy decoding -----------------------------------------------------------------------------

@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("attention", [True, False])
def test_the_trace_reproduces_the_forward_and_records_every_step(arch, attention):
    run = Run(config(arch=arch, attention=attention, num_layers=2, seq_len=6))
    run.train(3)
    trace = run.trace()
    L, D, B, T, H = trace.hidden.shape
    assert (L, D, B, T, H) == (2, 1, 8, run.task.length, 16)
    with torch.no_grad():
        expected = run.model(run.probe)
        encoder, _ = run.model.rnn(run.probe[:, :run.task.source_len])
    np.testing.assert_allclose(trace.predictions, expected.numpy(), atol=1e-5)
    np.testing.assert_allclose(trace.hidden[-1, 0, :, :run.task.source_len], encoder.numpy(), atol=1e-5)
    assert trace.loss == pytest.approx(run.task.loss(expected, run.probe_targets).item(), rel=1e-5)
    assert np.isfinite(trace.grad_norm).all() and (trace.grad_norm[:, 0, -run.task.target_len:] > 0).any()
    assert set(trace.gates) == {"rnn": set(), "lstm": {"i", "f", "g", "o"}, "gru": {"r", "z", "n"}}[arch]
    assert (trace.cell is not None) is (arch == "lstm")
    assert (trace.alignment is not None) is attention


def test_greedy_decoding_feeds_back_its_own_digits_and_stops_at_end():
    run = Run(config(attention=True))
    task = run.task
    S = task.source_len
    decoded = evaluate.greedy_decode(run.model, task, run.probe)
    for b in range(8):  # decoding again, one step at a time by hand
        x = run.probe[b:b + 1].clone()
        x[:, S + 1:] = 0
        for u in range(task.target_len):
            k = int(run.model(x)[0, S + u].argmax())
            assert decoded[b, u] == k
            if k == task.output_size - 1:
                assert (decoded[b, u + 1:] == IGNORE).all()
                break
            if u + 1 < task.target_len:
                x[0, S + u + 1, task.SEPARATOR + 1 + k] = 1.0


def test_greedy_exact_match_equals_the_teacher_forced_one():
    run = Run(config(attention=True, lr=1e-2, batch_size=32))
    run.train(150)  # some right, some wrong
    x, y = run.task.sample(256, torch.Generator().manual_seed(5))
    forced = run.task.metric(run.model(x), y)
    assert 0 < forced < 1
    assert evaluate.greedy_exact_match(run.model, run.task, x, y) == pytest.approx(forced)


# -- the chart -----------------------------------------------------------------------------------------------

def test_the_alignment_chart_shows_target_steps_against_the_words_and_what_was_written():
    run = Run(config(attention=True))
    trace = run.trace()
    S = run.task.source_len
    fig = charts.alignment_chart(trace, example=1)
    (heatmap,) = fig["data"]
    words = [w for w in trace.tokens[1][:S] if w]
    rows = int((trace.targets[1, S:] >= 0).sum())
    assert np.asarray(heatmap["z"]).shape == (rows, len(words))
    assert fig["layout"]["xaxis"]["ticktext"] == words
    assert [t.split(": ")[1][0] for t in fig["layout"]["yaxis"]["ticktext"]][-1] == "e"  # ... then end
    title = fig["layout"]["title"]["text"].replace(" <br>", " ")
    assert title.startswith("Attention alignment: wrote ")
    wrote, target = charts.translation.written(trace, 1)
    assert target.replace(" end", "") == str(parse(words))
    assert f"for {target}" in title
    no_attention = charts.alignment_chart(Run(config()).trace())
    assert not no_attention["data"] and "final state" in str(no_attention["layout"]["annotations"])
    other = charts.alignment_chart(Run(RunConfig(task="adding", seq_len=5, hidden_size=4)).trace())
    assert "Only the translation task" in str(other["layout"]["annotations"])


def test_build_model_without_a_source_length_keeps_the_plain_recurrent_model():
    model = build_model(config(), 43, 11, causal=True)
    assert not isinstance(model, EncoderDecoder)


# -- the Train page ------------------------------------------------------------------------------------------

def test_the_train_page_shows_the_alignment_chart_once_attention_is_on():
    import json

    from tests.apptest import open_page, title_text

    at = open_page("train", arch="gru", task="translate", seq_len=9, hidden_size=16)
    assert at.sidebar.toggle(key="cfg_attention").value is False and not at.sidebar.toggle(key="cfg_attention").disabled
    at.sidebar.toggle(key="cfg_attention").set_value(True).run()
    next(b for b in at.button if b.label == "Step").click().run()
    assert not at.exception and not at.sidebar.error
    titles = [title_text(json.loads(e.proto.spec)) for e in at.get("plotly_chart")]
    assert any(t.startswith("Attention alignment: wrote ") for t in titles), titles
    assert titles.index(next(t for t in titles if t.startswith("Attention alignment"))) == 1  # after Loss
    at.sidebar.selectbox(key="cfg_task").select("adding").run()  # attention means nothing there: off, no error
    assert not at.exception and not at.sidebar.error and at.sidebar.toggle(key="cfg_attention").disabled


def test_alignment_scores_say_how_sharp_and_how_ordered_the_attention_is():
    run = Run(config(attention=True, seq_len=14))
    peak, ordered = evaluate.alignment_scores(run)
    words = run.probe[:, :14].abs().sum((1, 2)).mean().item()
    assert peak < 3 / words  # untrained: spread over the words
    assert 0 <= ordered <= 1
    with pytest.raises(ValueError, match="no attention"):
        evaluate.alignment_scores(Run(config()))
