"""AppTest: the Inspect page for every architecture, the user's own sequence, the time slider and Play."""
import json

import pytest
from streamlit.testing.v1 import AppTest

from explorer.tasks import TASKS
from explorer.ui import inspect_page as page, state
from tests.apptest import APP, open_page, title_text

def open_inspect(arch="lstm", task="parity", seq_len=12, hidden_size=4, bidirectional=False, num_layers=1):
    return open_page("inspect", arch=arch, task=task, seq_len=seq_len, hidden_size=hidden_size,
                     num_layers=num_layers, bidirectional=bidirectional)


def chart_specs(at) -> list[dict]:
    return [json.loads(element.proto.spec) for element in at.get("plotly_chart")]


def titles(at) -> list[str]:
    return [title_text(spec) for spec in chart_specs(at)]


def has(at, prefix: str) -> int:
    return sum(t.startswith(prefix) for t in titles(at))


def header(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**t = "))


def type_sequence(at, text: str):
    at.selectbox(key=page.SOURCE).select(page.OWN).run()
    at.text_input(key=page.TEXT).input(text).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("arch,strips", [("rnn", "Hidden state h_t at t=0"), ("lstm", "Gates, c_t, h_t at t=0"),
                                         ("gru", "Gates and h_t at t=0"), ("transformer", "Hidden state (block output)")])
def test_inspect_page_shows_each_architecture(arch, strips):
    at = open_inspect(arch)
    assert at.title[0].value == "Inspect"
    assert has(at, strips) == 1
    assert has(at, "Hidden state trajectory (t=0)") == 1
    assert has(at, "Saliency of the output at t=0") == 1
    assert header(at).startswith("**t = 0** · input x_t = ")
    if arch == "transformer":
        assert has(at, "Attention of query t=0") == 1
        assert has(at, "Recurrent weights") == 0
        assert any("no recurrent weights" in i.value for i in at.info)
    else:
        assert has(at, "Recurrent weights: eigenvalues of W_hh") == 1
        assert has(at, "Recurrent weights: ||d") == 1
        assert len(at.latex) == {"rnn": 1, "lstm": 6, "gru": 4}[arch]
    for spec in chart_specs(at):  # every chart labels its axes
        layout = spec["layout"]
        axes = [v for k, v in layout.items() if k.startswith("xaxis")] or [layout["scene"]["xaxis"]]
        assert any(a.get("title", {}).get("text") for a in axes), title_text({"layout": layout})


def test_small_hidden_size_prints_the_numbers():
    at = open_inspect("gru", hidden_size=4)
    assert len(at.table) == 1
    assert at.table[0].value.shape == (4, 4)  # units x (r, z, n, h_t)


def test_bidirectional_shows_both_directions_at_the_same_step():
    at = open_inspect("lstm", task="lookahead", bidirectional=True)
    for direction in ("forward", "reverse"):
        assert has(at, f"Gates, c_t, h_t at t=0 ({direction})") == 1
        assert has(at, "Hidden state trajectory") and any(t.endswith(direction) for t in titles(at))
        assert any(t.startswith("Recurrent weights: eigenvalues") and direction in t for t in titles(at))
    jacobian = next(s for s in chart_specs(at) if title_text(s).startswith("Recurrent weights: ||d"))
    assert len(jacobian["data"]) == 4  # norm and bound, per direction
    assert len(at.latex) == 12


def test_own_sequence_is_accepted():
    at = type_sequence(open_inspect("lstm"), "0110")
    assert not at.error
    assert at.slider(key=page.STEP).max == 3
    saliency = next(s for s in chart_specs(at) if title_text(s).startswith("Saliency"))
    assert saliency["layout"]["xaxis"]["ticktext"] == ["0", "1", "1", "0"]  # the typed bits, one per input step
    assert at.text_input(key=page.TEXT).placeholder == TASKS["parity"].input_hint


def test_bad_sequence_is_refused_and_the_last_good_one_stays():
    at = type_sequence(open_inspect("gru"), "0110")
    at.text_input(key=page.TEXT).input("01x").run()
    assert not at.exception
    assert len(at.error) == 1
    message = at.error[0].value
    assert "Unknown symbol(s) 'x'" in message and TASKS["parity"].input_hint in message
    assert at.text_input(key=page.TEXT).value == "01x"  # never silently changed
    assert at.slider(key=page.STEP).max == 3  # still the view of "0110"
    assert any("0110" in c.value for c in at.caption)


def test_numbers_task_accepts_numbers_and_refuses_words():
    at = type_sequence(open_inspect("rnn", task="sine"), "0 0.5 0.87 1")
    assert not at.error and at.slider(key=page.STEP).max == 3
    at.text_input(key=page.TEXT).input("0 0.5 banana").run()
    assert "'banana' is not a number" in at.error[0].value


def test_time_slider_moves_every_view_to_step_t():
    at = open_inspect("lstm")
    at.slider(key=page.STEP).set_value(5).run()
    assert not at.exception
    assert header(at).startswith("**t = 5**")
    assert has(at, "Gates, c_t, h_t at t=5") == 1
    assert has(at, "Hidden state trajectory (t=5)") == 1
    assert has(at, "Saliency of the output at t=5") == 1
    assert "t = 5" in next(m.value for m in at.markdown if m.value.startswith("**The equations"))


def test_play_advances_t_and_stop_holds_it():
    at = open_inspect("gru")
    at.button(key="inspect-play").click().run()
    assert at.session_state[state.SESSION].playback.playing is True
    assert at.slider(key=page.STEP).value == 1  # the first tick drew step 1
    at.button(key="inspect-stop").click().run()
    assert at.session_state[state.SESSION].playback.playing is False
    assert at.slider(key=page.STEP).value == 1


def test_play_stops_at_the_last_step_and_restarts_from_zero():
    at = open_inspect("rnn", seq_len=6)
    at.slider(key=page.STEP).set_value(4).run()
    at.button(key="inspect-play").click().run()
    assert at.slider(key=page.STEP).value == 5
    assert at.session_state[state.SESSION].playback.playing is False  # reached the end
    at.button(key="inspect-play").click().run()
    assert at.slider(key=page.STEP).value == 1  # from the start again


def test_upper_layer_and_other_unit():
    at = open_inspect("gru", num_layers=2)
    at.selectbox(key=page.LAYER).select(1).run()
    at.selectbox(key=page.UNIT).select(3).run()
    assert not at.exception
    assert has(at, "Gates and h_t at t=0 (layer 1)") == 1
    assert "unit 3" in next(m.value for m in at.markdown if m.value.startswith("**The equations"))


def test_inspect_shows_the_weights_the_train_page_left():
    at = open_inspect("gru")
    assert any("weights from training step 0" in m.value for m in at.markdown)
    at.switch_page("pages/train.py")
    at.run()
    at.button(key="step-button").click().run()
    at.switch_page("pages/inspect.py")
    at.run()
    assert not at.exception, at.exception
    assert any("weights from training step 1 " in m.value for m in at.markdown)


def test_trajectory_in_3d():
    at = open_inspect("lstm", bidirectional=True, task="lookahead")
    at.radio(key=page.DIMS).set_value(3).run()
    assert not at.exception, at.exception
    trajectories = [s for s in chart_specs(at) if title_text(s).startswith("Hidden state trajectory")]
    assert len(trajectories) == 2 and all(s["data"][0]["type"] == "scatter3d" for s in trajectories)
    assert trajectories[0]["layout"]["scene"]["xaxis"]["title"]["text"].startswith("PC 1")


def test_a_preset_with_several_runs_offers_each_run_while_they_train():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["preset"] = "gru_vs_lstm"
    at.run()  # the link opens the lesson: training starts in the background
    try:
        at.switch_page("pages/inspect.py")
        at.run()
        assert not at.exception, at.exception
        runs = at.selectbox(key=page.RUN)
        assert len(runs.options) == 2
        first = titles(at)
        runs.select(1).run()
        assert not at.exception, at.exception
        assert titles(at) != first  # the other architecture's gates
    finally:
        at.switch_page("pages/train.py")
        at.run()
        at.button(key="pause-button").click().run()  # no training thread outlives the test


@pytest.mark.parametrize("arch", ["lstm", "transformer"])
def test_a_one_step_sequence_has_no_slider_but_a_view(arch):
    at = type_sequence(open_inspect(arch), "1")
    assert not at.error
    assert not [s for s in at.slider if s.key == page.STEP]
    assert header(at).startswith("**t = 0**")
    assert has(at, "Hidden state trajectory (t=0)") == 1


def hint_example(task) -> str:
    """The example the task's own hint gives (sentiment lists its words: take three)."""
    hint = task.input_hint
    return hint.split("e.g. ", 1)[1] if "e.g. " in hint else " ".join(hint.split(": ", 1)[1].split()[:3])


@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_task_accepts_the_example_in_its_hint(task):
    at = type_sequence(open_inspect("gru", task=task, seq_len=8), hint_example(TASKS[task]))
    assert not at.error, at.error[0].value
    assert has(at, "Saliency of the output at t=0") == 1


def test_too_long_and_empty_sequences_say_what_is_accepted():
    at = type_sequence(open_inspect("rnn"), "01" * 501)
    assert "more than the limit of 1000" in at.error[0].value
    at.text_input(key=page.TEXT).input("   ").run()
    assert not at.error and any(TASKS["parity"].input_hint in i.value for i in at.info)


def test_play_keeps_its_pace_by_the_clock_whatever_a_frame_costs():
    from explorer.ui.inspect_page import play_position

    # 2 steps a second from t=3: after 2.6 s t is 8 however few frames were drawn in between
    assert play_position(3, 100.0, 2.0, 102.6, 40) == 8
    assert play_position(3, 100.0, 8.0, 100.5, 40) == 7
    assert play_position(3, 100.0, 2.0, 200.0, 40) == 40  # and stops at the last step
