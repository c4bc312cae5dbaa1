"""The comparison logic: parameter counts equal torch's, matching lands within the stated tolerance,
steps to threshold reads a history as stated, and the classic table's verdicts follow the numbers."""
from __future__ import annotations

import numpy as np
import pytest

from explorer import Run, RunConfig, budget, compare
from explorer.compare import Measured, step_times_ms, steps_to_threshold
from explorer.ui import classic_table
from explorer.ui.classic_table import memory_verdict, speed_verdict
from explorer.config import ARCHITECTURES, LIMITS

ARCHS = ("rnn", "lstm", "gru", "transformer")
RECURRENT_TOLERANCE = {8: 0.10, 16: 0.05}  # matched recurrent parameter counts, by the LSTM's hidden size (and up)
TRANSFORMER_TOLERANCE = {8: 0.35, 16: 0.20}  # hidden size moves in steps of num_heads, ~24 H parameters a step


# -- parameters -------------------------------------------------------------------------------

@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("task, layers, bidirectional", [("recall", 1, False), ("adding", 2, True), ("text", 3, False)])
def test_parameter_count_equals_torch(arch, task, layers, bidirectional):
    config = RunConfig(arch=arch, task=task, seq_len=12, hidden_size=10, num_layers=layers,
                       bidirectional=bidirectional and arch != "transformer")
    assert compare.parameters_of(config) == Run(config).num_parameters


@pytest.mark.parametrize("hidden", [8, 16, 32, 64])
@pytest.mark.parametrize("task", ["recall", "adding"])
def test_matched_parameter_counts_are_close_to_the_lstm(hidden, task):
    base = RunConfig(task=task, hidden_size=hidden, num_heads=2)
    matched, target = compare.matched_configs(base, ARCHS, match=True)
    by_arch = {m.config.arch: m for m in matched}
    assert by_arch["lstm"].parameters == target and by_arch["lstm"].config.hidden_size == hidden
    for arch in ("rnn", "gru"):
        assert abs(by_arch[arch].gap) <= RECURRENT_TOLERANCE[min(hidden, 16)], (arch, by_arch[arch])
    assert abs(by_arch["transformer"].gap) <= TRANSFORMER_TOLERANCE[min(hidden, 16)]
    assert by_arch["transformer"].config.hidden_size % base.num_heads == 0
    for m in matched:  # the reported count and gap are the real ones
        assert m.parameters == compare.parameters_of(m.config)
        assert m.gap == pytest.approx(m.parameters / target - 1)


def test_matching_picks_the_closest_hidden_size():
    base = RunConfig(task="recall", hidden_size=32)
    (rnn,), target = compare.matched_configs(base, ("rnn",), match=True)
    sizes = compare.task_sizes("recall", base.seq_len)
    neighbours = [compare.parameters_of(rnn.config.replace(hidden_size=h), sizes)
                  for h in (rnn.config.hidden_size - 1, rnn.config.hidden_size + 1)]
    assert all(abs(n - target) >= abs(rnn.parameters - target) for n in neighbours)


def test_unmatched_keeps_the_sidebar_hidden_size():
    base = RunConfig(task="recall", hidden_size=33, num_heads=2)
    matched, _ = compare.matched_configs(base, ARCHS, match=False)
    sizes = {m.config.arch: m.config.hidden_size for m in matched}
    assert sizes == {"rnn": 33, "lstm": 33, "gru": 33, "transformer": 32}  # a multiple of the heads
    assert all(m.gap == 0 for m in matched)


def test_configs_keep_task_length_and_seed_and_drop_settings_that_do_not_apply():
    base = RunConfig(arch="lstm", task="copy", seq_len=40, seed=7, forget_bias=2.0, bidirectional=True,
                     nonlinearity="relu", init="orthogonal")
    matched, _ = compare.matched_configs(base, ARCHS, match=True)
    c = {m.config.arch: m.config for m in matched}
    assert all((x.task, x.seq_len, x.seed) == ("copy", 40, 7) for x in c.values())
    assert c["lstm"].forget_bias == 2.0 and c["gru"].forget_bias is None and c["rnn"].forget_bias is None
    assert c["rnn"].nonlinearity == "relu" and c["gru"].nonlinearity == "tanh"
    assert c["transformer"].bidirectional is False and c["gru"].bidirectional is True


def test_unknown_or_empty_architectures_are_refused():
    with pytest.raises(ValueError, match="archs"):
        compare.matched_configs(RunConfig(), ("lstm", "mamba"), match=True)
    with pytest.raises(ValueError, match="archs"):
        compare.matched_configs(RunConfig(), (), match=True)


def test_the_sweep_says_how_long_it_takes_and_covers_the_scan_models():
    assert compare.SWEEP_ARCHS == ARCHITECTURES and set(compare.SWEEP_SECONDS) == set(ARCHITECTURES)
    assert compare.sweep_minutes(("rnn", "lstm")) == "under a minute"
    assert compare.sweep_minutes(ARCHITECTURES).startswith("about ") and "minutes" in compare.sweep_minutes(ARCHITECTURES)
    configs = compare.sweep_configs(("mingru", "minlstm", "ssm"), "copy", seed=0, match=True)
    assert {(c.arch, c.state_size, c.selective) for c in configs} >= {("ssm", 16, True), ("mingru", 16, True)}


def test_sweep_configs_cover_every_architecture_and_length():
    configs = compare.sweep_configs(("rnn", "lstm"), "recall", seed=3, match=True)
    assert [(c.arch, c.seq_len) for c in configs] == [(a, T) for a in ("rnn", "lstm") for T in compare.SWEEP_LENGTHS]
    assert all(c.seed == 3 and c.task == "recall" for c in configs)
    assert {c.forget_bias for c in configs if c.arch == "lstm"} == {1.0}
    assert {c.forget_bias for c in configs if c.arch == "rnn"} == {None}
    with pytest.raises(ValueError, match="sweep task"):
        compare.sweep_configs(("rnn",), "adding", seed=0, match=True)


# -- measurements -----------------------------------------------------------------------------

def _series(metric):
    steps = np.arange(1, len(metric) + 1)
    return steps, np.asarray(metric, dtype=float), steps * 0.01  # wall: 10 ms per step


def test_steps_to_threshold_waits_for_a_sustained_average():
    steps, metric, wall = _series([0.1] * 10 + [0.95] * 10)
    # a window of 5 averages >= 0.9 only once it holds five 0.95s: indices 10..14, so step 15
    assert steps_to_threshold(steps, metric, wall, 0.9) == (15, pytest.approx(0.15))


def test_one_lucky_batch_does_not_reach_the_threshold():
    steps, metric, wall = _series([0.1] * 5 + [1.0] + [0.1] * 5)
    assert steps_to_threshold(steps, metric, wall, 0.9) == (None, None)


def test_steps_to_threshold_for_an_error_metric_goes_down():
    steps, metric, wall = _series(np.linspace(1.0, 0.0, 21))  # mse falling by 0.05 per step
    step, _ = steps_to_threshold(steps, metric, wall, 0.2, higher_is_better=False)
    # window ending at index k averages metric[k-4..k] = 1 - 0.05 (k - 2) <= 0.2 first at k = 18
    assert step == 19
    assert steps_to_threshold(steps, metric, wall, -1.0, higher_is_better=False) == (None, None)


def test_steps_to_threshold_on_short_and_empty_histories():
    assert steps_to_threshold([], [], [], 0.9) == (None, None)
    assert steps_to_threshold([4, 8], [0.95, 0.95], [0.1, 0.2], 0.9) == (8, 0.2)  # window shrinks to 2


def test_longest_solved_stops_at_the_first_failure():
    assert compare.longest_solved({10: 1.0, 25: 0.95, 50: 0.4, 100: 0.92}) == 25
    assert compare.longest_solved({10: 0.5, 25: 1.0}) == 0
    assert compare.longest_solved({100: 0.9, 10: 0.99, 50: 0.91}) == 100  # order of the dict does not matter


def test_default_threshold():
    assert compare.default_threshold("accuracy", 0.25, True) == 0.9
    assert compare.default_threshold("mse", 1 / 6, False) == pytest.approx(0.017)


# -- the classic table, checked ---------------------------------------------------------------

def test_memory_verdict_agrees_when_the_sweep_orders_as_the_table_does():
    longest = {"rnn": 10, "lstm": 50, "gru": 50, "transformer": 100}
    assert memory_verdict("rnn", longest).startswith("Agrees: solved up to T=10")
    assert memory_verdict("lstm", longest).startswith("Agrees")
    assert "shorter than Transformer (T=100)" in memory_verdict("gru", longest)
    assert memory_verdict("transformer", longest).startswith("Agrees")


def test_memory_verdict_disagrees_when_the_rnn_outlasts_the_lstm():
    longest = {"rnn": 50, "lstm": 25}
    assert memory_verdict("rnn", longest) == "Disagrees: solved up to T=50; longer than LSTM (T=25)."
    assert memory_verdict("lstm", longest) == "Disagrees: solved up to T=25; shorter than RNN (T=50)."
    assert memory_verdict("lstm", {"rnn": 25, "lstm": 25}).startswith("Disagrees: solved up to T=25; no longer than RNN")


def test_memory_ties_at_the_ends_of_the_sweep_cannot_tell():
    top = max(compare.SWEEP_LENGTHS)
    assert memory_verdict("transformer", {"gru": top, "transformer": top}).startswith("Can't tell")
    assert memory_verdict("lstm", {"rnn": 0, "lstm": 0}).startswith("Can't tell: solved no length tried")
    assert memory_verdict("lstm", {"rnn": 10}) == "Not measured: run the length sweep."


def test_memory_between_equally_rated_architectures_is_a_note_not_a_verdict():
    text = memory_verdict("lstm", {"rnn": 10, "lstm": 25, "gru": 100})
    assert text.startswith("Agrees") and "shorter than GRU (T=100), which the table rates the same" in text


def _measured(ms: dict[str, float], seconds: dict[str, float | None] | None = None) -> dict[str, Measured]:
    seconds = seconds or {}
    return {a: Measured(a, 100, v, 10 if seconds.get(a) else None, seconds.get(a)) for a, v in ms.items()}


def test_speed_verdict_reports_a_gru_slower_than_the_lstm():
    m = _measured({"lstm": 2.0, "gru": 5.8})
    assert speed_verdict("gru", m, "accuracy 0.9") == "Disagrees: per step slower than LSTM (5.8 vs 2.0 ms)."
    assert speed_verdict("lstm", m, "accuracy 0.9") == "Disagrees: per step faster than GRU (2.0 vs 5.8 ms)."


def test_speed_verdict_weighs_time_per_step_and_time_to_threshold():
    m = _measured({"lstm": 2.0, "gru": 3.0}, {"lstm": 4.0, "gru": 1.5})
    assert speed_verdict("gru", m, "accuracy 0.9") == ("Partly: per step slower than LSTM (3.0 vs 2.0 ms); "
                                                       "reached accuracy 0.9 sooner than LSTM (1.5 vs 4.0 s).")
    m = _measured({"lstm": 2.0, "rnn": 1.0}, {"rnn": 3.0})
    assert speed_verdict("rnn", m, "accuracy 0.9") == ("Agrees: per step faster than LSTM (1.0 vs 2.0 ms); "
                                                       "reached accuracy 0.9, LSTM did not.")


def test_timings_within_the_tolerance_are_too_close_to_call():
    m = _measured({"lstm": 2.0, "gru": 2.1})
    assert speed_verdict("gru", m, "accuracy 0.9").startswith("Can't tell: per step about as fast as LSTM")


def test_transformer_speed_says_large_data_is_not_tested():
    text = speed_verdict("transformer", _measured({"lstm": 2.0, "transformer": 1.0}), "accuracy 0.9")
    assert text.startswith("Agrees") and "“with large data” is not tested here" in text


def test_speed_without_the_lstm_cannot_tell():
    assert speed_verdict("gru", _measured({"rnn": 1.0, "gru": 2.0}), "x").startswith("Can't tell")
    assert speed_verdict("gru", {}, "x") == "Not measured: run the comparison."


def test_claims_table_has_one_row_per_architecture_with_measurements_and_claims():
    measured = [Measured("rnn", 4687, 3.11, None, None, 10), Measured("lstm", 4641, 1.99, 300, 1.2, 50),
                Measured("transformer", 4231)]
    rows = classic_table.claims_table(measured, "accuracy 0.9")
    assert [r["Architecture"] for r in rows] == ["RNN", "LSTM", "Transformer"]
    assert all(tuple(r) == classic_table.COLUMNS for r in rows)
    rnn, lstm, transformer = rows
    assert (rnn["Parameters"], rnn["Wall time per step"], rnn["Steps to threshold"]) == ("4,687", "3.11 ms", "not reached")
    assert lstm["Steps to threshold"] == "300 (1.2 s)" and lstm["Longest length solved"] == "T=50"
    assert (rnn["Classic: long-term memory"], lstm["Classic: training speed"]) == ("weak", "slow")
    assert lstm["This machine: memory"].startswith("Agrees") and lstm["This machine: speed"].startswith("Disagrees")
    assert transformer["Wall time per step"] == "—" and transformer["Longest length solved"] == "—"
    assert transformer["This machine: speed"] == "Not measured: run the comparison."


def test_step_times_are_the_median_interval_and_its_spread():
    steps = list(range(1, 12))
    wall = np.cumsum([0.002] * 5 + [0.050] + [0.002] * 5)  # one slow step among 2 ms ones
    median, spread = step_times_ms(steps, wall)
    assert median == pytest.approx(2.0) and spread == pytest.approx(0.0, abs=1e-9)
    thinned = step_times_ms([2, 4, 6, 8, 10, 12], [0.004, 0.008, 0.012, 0.016, 0.020, 0.024])
    assert thinned[0] == pytest.approx(2.0)  # a stride of 2 steps per recorded point
    assert step_times_ms([1, 2, 3], [0.1, 0.2, 0.3]) is None


def test_a_speed_difference_within_the_noise_is_not_a_verdict():
    noisy = {"gru": Measured("gru", 100, 2.6, ms_spread=0.5), "lstm": Measured("lstm", 100, 2.0, ms_spread=0.3)}
    text = speed_verdict("gru", noisy, "accuracy 0.9")
    assert text.startswith("Can't tell: per step about as fast as LSTM") and "within noise" in text
    steady = {"gru": Measured("gru", 100, 2.6, ms_spread=0.1), "lstm": Measured("lstm", 100, 2.0, ms_spread=0.1)}
    assert speed_verdict("gru", steady, "accuracy 0.9").startswith("Disagrees: per step slower than LSTM")


def test_matched_configs_stay_within_the_caps_and_say_why_a_match_falls_short():
    """Issue 18.5: /compare?hidden_size=16&seq_len=1000&batch_size=512 crashed building sizes beyond the cap."""
    matched = {m.config.arch: m for m in compare.matched_configs(RunConfig(hidden_size=256, seq_len=100, batch_size=32),
                                                                  ARCHS, match=True)[0]}
    assert matched["rnn"].config.hidden_size == 512 and "at most 512" in matched["rnn"].capped
    assert matched["lstm"].capped == "" and matched["lstm"].config.hidden_size == 256
    long = RunConfig(hidden_size=16, seq_len=1000, batch_size=32)  # within the budget for the LSTM
    with pytest.raises(ValueError, match="Transformer cannot take part at this setup.*Lower"):
        compare.matched_configs(long, ARCHS, match=True)  # too slow at any size: says so, builds nothing
    with pytest.raises(ValueError, match="Transformer cannot take part at hidden 16"):
        compare.matched_configs(long, ARCHS, match=False)
    recurrent = compare.matched_configs(long, ("rnn", "lstm", "gru"), match=True)[0]
    assert all(budget.over(m.config, LIMITS) == "" for m in recurrent)
    small = compare.matched_configs(RunConfig(hidden_size=16), ARCHS, match=True)[0]
    assert not any(m.capped for m in small)


def test_the_sweep_says_why_it_leaves_out_issue_13s_tasks():
    for task in ("translate", "csv", "ecg", "stocks", "music"):
        assert task not in compare.SWEEP_TASKS and compare.why_not_swept(task).endswith(".")
    assert "attention" in compare.why_not_swept("translate")
    assert compare.why_not_swept("recall") == "" == compare.why_not_swept("copy")
