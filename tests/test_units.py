"""Units that mean something: the features computed in code, the correlation finder, the charts and the
Inspect page's Units section (AppTest)."""
import numpy as np
import pytest

from explorer import Run, RunConfig, charts
from explorer import units
from tests.apptest import open_page, title_text
from tests.test_inspect_page import titles


def test_text_features_follow_quotes_words_and_sentences():
    text = 'he said "no, i am" (so) it.'
    f = units.text_features(text)
    assert [text[k] for k in np.flatnonzero(f["inside quotes"] == 1)] == list('"no, i am"')
    assert f["position in word"][text.index("said"):text.index("said") + 4].tolist() == [0, 1, 2, 3]
    assert np.isnan(f["position in word"][text.index(",")])
    assert f["after a space"][text.index("said")] == 1 and f["after a space"][text.index("aid")] == 0
    assert f["vowel (1) or consonant (0)"][:2].tolist() == [0, 1]
    assert [text[k] for k in np.flatnonzero(f["inside brackets"] == 1)] == list("(so)")
    assert f["position in sentence"][-1] == len(text) - 1
    assert "inside brackets" not in units.text_features("no brackets here")


def test_correlations_find_the_unit_that_copies_a_feature():
    rng = np.random.default_rng(0)
    feature = rng.normal(size=500)
    states = rng.normal(size=(500, 6))
    states[:, 4] = -2 * feature + 0.1 * rng.normal(size=500)
    r, used = units.correlations(feature, states)
    assert used == 500 and np.argmax(np.abs(r)) == 4 and r[4] < -0.99
    feature[:100] = np.nan  # undefined steps are left out
    assert units.correlations(feature, states)[1] == 400
    assert units.correlations(np.ones(10), states[:10])[0].tolist() == [0.0] * 6  # a constant feature


def test_memory_features_hold_the_key_from_its_step_on():
    run = Run(RunConfig(arch="lstm", task="recall", seq_len=10, hidden_size=4))
    x, y = run.probe, run.probe_targets
    f = units.memory_features("recall", x.numpy())
    key_step = x[0, :, :4].sum(-1).argmax().item()
    key = y[0, -1].item()
    stored = f[f"key stored is {'ABCD'[key]}"][0]
    assert np.isnan(stored[:key_step]).all() and (stored[key_step:] == 1).all()
    adding = units.memory_features("adding", Run(RunConfig(task="adding", seq_len=10)).probe.numpy())
    assert set(adding) == {"first marked value", "sum of marked values so far", "marks seen"}
    with pytest.raises(ValueError, match="find units"):
        units.memory_features("parity", x.numpy())


def test_find_units_names_a_unit_per_feature_with_its_correlation():
    run = Run(RunConfig(arch="lstm", task="text", seq_len=32, hidden_size=16, seed=3))
    report = units.find_units(run, windows=8)
    assert set(report.best) == {"inside quotes", "position in word", "position in sentence", "after a space",
                                "vowel (1) or consonant (0)"}
    assert report.missing and "brackets" in report.missing[0]
    for feature, best in report.best.items():
        assert [abs(u.r) for u in best] == sorted((abs(u.r) for u in best), reverse=True)
        assert best[0].state in ("h", "c") and 0 <= best[0].unit < 16
        # the number shown is the unit's correlation, recomputed here from the states
        f = units.text_features("".join(report.tokens))[feature]
        states = units.states_of(run, *units._held_out_text(run, 8)[1:])[(best[0].state, 0, 0)]
        r, _ = units.correlations(units.text_features(units._held_out_text(run, 8)[0])[feature], states)
        assert r[best[0].unit] == pytest.approx(best[0].r)
    assert report.step == 0 and report.at_init["after a space"] == pytest.approx(abs(report.best["after a space"][0].r))


def test_find_units_refuses_a_task_without_features():
    with pytest.raises(ValueError, match="find units works on"):
        units.find_units(Run(RunConfig(task="parity", seq_len=8, hidden_size=4)))


def test_unit_text_colours_every_character_on_a_fixed_range():
    tokens = list("it is a truth universally acknowledged, that a single man")
    fig = charts.unit_text(tokens, np.linspace(-2, 2, len(tokens)), "The sequence coloured by h_t unit 3")
    heat = fig.data[0]
    assert (heat.zmin, heat.zmax) == (-1.0, 1.0)
    assert np.asarray(heat.z).shape == (2, 32) and heat.text[0][2] == "␣"
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    with pytest.raises(ValueError):
        charts.unit_text(tokens, np.zeros(3), "x")


def test_next_guesses_lists_the_likeliest_characters_first():
    classes = list("abc")
    probs = np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])
    fig = charts.next_guesses(["x", "y"], probs, classes, k=3)
    heat = fig.data[0]
    assert np.asarray(heat.z)[:, 0].tolist() == [0.7, 0.2, 0.1]
    assert heat.text[0][1] == "a<br>50%"
    assert title_text(fig.to_plotly_json() if hasattr(fig, "to_plotly_json") else fig).startswith("Next-character guesses")


def test_inspect_page_shows_units_and_guesses_on_the_text_task():
    at = open_page("inspect", arch="lstm", task="text", seq_len=16, hidden_size=8)
    assert any(t.startswith("The sequence coloured by h_t unit 0") for t in titles(at))
    assert any(t.startswith("Next-character guesses, top 5") for t in titles(at))
    at.number_input(key="units_unit").set_value(5).run()
    at.selectbox(key="units_state").select("c").run()
    assert any(t.startswith("The sequence coloured by tanh c_t unit 5") for t in titles(at))
    at.button(key="units-find").click().run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["feature"])[:2] == ["inside quotes", "position in word"]
    assert all(-1 <= float(r) <= 1 for r in table["r"])
    assert any(t.startswith("Held-out text coloured by") for t in titles(at))


@pytest.mark.slow
def test_the_text_lesson_trains_units_that_track_spaces_and_word_position():
    """The issue's "done when": on a model trained within the text lesson's budget, find units names a unit per
    feature with its correlation. Swept over seeds 0-3 (ATEN_CPU_CAPABILITY=default too): after a space, trained
    |r| 0.53-0.61 against 0.24-0.26 untrained; position in word 0.57-0.69 against 0.38-0.46. Inside quotes stays
    near the untrained level (0.11-0.15 against 0.10-0.13) at this budget: not asserted."""
    from explorer.presets import PRESETS

    lesson = PRESETS["text_generation"]
    run = Run(lesson.configs[0])
    run.train(lesson.steps)
    report = units.find_units(run)
    assert len(report.best) == 5 and all(best and -1 <= best[0].r <= 1 for best in report.best.values())
    assert abs(report.best["after a space"][0].r) > report.at_init["after a space"] + 0.2
    assert abs(report.best["position in word"][0].r) > report.at_init["position in word"] + 0.05
