"""Shared links: every RunConfig field round-trips through query parameters; bad values become notices."""
from explorer.config import LIMITS, RunConfig
from explorer.urlstate import config_from_params, lecture_from_params, params_from_config


def test_every_field_round_trips():
    config = RunConfig(arch="rnn", task="parity", seq_len=77, hidden_size=24, num_layers=2, bidirectional=True,
                       nonlinearity="relu", init="identity", optimizer="sgd", lr=0.0123, batch_size=16,
                       clip_grad_norm=2.5, seed=42)
    restored, notices = config_from_params(params_from_config(config))
    assert restored == config and notices == []
    lstm = RunConfig(arch="lstm", forget_bias=2.0)
    assert config_from_params(params_from_config(lstm))[0] == lstm


def test_defaults_make_an_empty_link():
    assert params_from_config(RunConfig()) == {}


def test_out_of_range_values_are_clamped_with_a_notice():
    config, notices = config_from_params({"seq_len": "999999", "lr": "1e9"})
    assert config.seq_len == LIMITS.max_seq_len and config.lr == LIMITS.max_lr
    assert len(notices) == 2 and "seq_len" in notices[0]


def test_malformed_and_unknown_values_are_ignored_with_a_notice():
    config, notices = config_from_params({"arch": "mamba", "hidden_size": "lots", "bidirectional": "maybe",
                                          "evil": "<script>", "lr": "nan"})
    assert config == RunConfig()
    assert len(notices) == 5


def test_inconsistent_values_keep_the_rest():
    config, notices = config_from_params({"arch": "transformer", "hidden_size": "30", "num_heads": "4", "seed": "3"})
    assert config.arch == "transformer" and config.hidden_size == 30 and config.seed == 3
    assert config.num_heads == RunConfig().num_heads
    assert any("num_heads" in n for n in notices)


def test_preset_and_lecture_are_not_config_fields():
    config, notices = config_from_params({"preset": "lstm_memory", "lecture": "1"})
    assert config == RunConfig() and notices == []


def test_lecture_takes_one_or_zero_and_a_bad_value_gets_a_notice():
    assert lecture_from_params({"lecture": "1"}) == (True, []) and lecture_from_params({"lecture": "true"}) == (True, [])
    assert lecture_from_params({"lecture": "0"}) == (False, []) and lecture_from_params({}) == (False, [])
    on, notices = lecture_from_params({"lecture": "banana"})
    assert on is False and notices == ["Ignored lecture='banana': not a valid value (1 or 0)."]


def test_the_field_table_describes_every_field_and_its_limits_bind():
    """One table drives validation, links and widgets: every RunConfig field has an entry, and each number's
    bounds are what RunConfig accepts (the edges pass, one step beyond is refused) and what a link clamps to."""
    import dataclasses
    import math

    import pytest

    from explorer.config import FIELD_TABLE
    assert list(FIELD_TABLE) == [f.name for f in dataclasses.fields(RunConfig)]
    base = RunConfig(arch="lstm", hidden_size=8, seq_len=10, batch_size=4)
    for name, field in FIELD_TABLE.items():
        if field.kind not in (int, float) or name in ("hidden_size", "seq_len", "batch_size", "state_size"):
            continue  # those three (and the ssm's N) also meet the per-visitor budget at their caps
        low, high = field.bounds()
        for edge in (low, high):
            assert getattr(base.replace(**{name: edge}), name) == edge
        outside = low - 1 if field.kind is int else -math.inf if low <= 0 else low / 2
        with pytest.raises(ValueError, match=name):
            base.replace(**{name: outside})
        clamped, notices = config_from_params({name: str(high * 2 if high > 0 else high + 1)}, base)
        assert getattr(clamped, name) == high and notices


def test_bptt_round_trips_and_bad_values_are_refused_with_a_notice():
    """Truncated BPTT in a link: k round-trips, none is full BPTT; a malformed k, or k beside an architecture or a
    bidirectional model that cannot take it, is refused with a notice naming bptt and the rest of the link kept."""
    lstm = RunConfig(arch="lstm", bptt=7)
    assert params_from_config(lstm)["bptt"] == "7"
    assert config_from_params(params_from_config(lstm)) == (lstm, [])
    assert config_from_params({"bptt": "none"}) == (RunConfig(), [])
    for text in ("seven", "2.5", "1e400"):
        config, notices = config_from_params({"bptt": text, "seed": "4"})
        assert config == RunConfig(seed=4) and len(notices) == 1 and "bptt" in notices[0]
    config, notices = config_from_params({"bptt": "0"})
    assert config.bptt == 1 and "bptt" in notices[0]  # out of range: clamped, as every number is, and said
    for params in ({"arch": "transformer", "bptt": "5"}, {"arch": "gru", "bidirectional": "1", "bptt": "5"}):
        config, notices = config_from_params({**params, "seed": "4"})
        assert config.bptt is None and config.seed == 4 and config.arch == params["arch"]
        assert any("bptt" in n for n in notices)
