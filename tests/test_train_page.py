"""AppTest: the app shell and the Train page, for every architecture, without a browser."""
import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from explorer.ui import state
from tests.apptest import APP, open_page, title_text

TITLES = {
    "rnn": ["Loss", "Parameter gradients", "Gradient norm over time", "Gradient flow", "Hidden state", "Prediction"],
    "lstm": ["Gates", "Cell state"],
    "gru": ["Gates"],
    "transformer": ["Attention"],
}


def open_train(arch="lstm"):
    return open_page("train", arch=arch)


def chart_titles(at) -> list[str]:
    titles = []
    for element in at.get("plotly_chart"):
        spec = json.loads(element.proto.spec)
        titles.append(title_text(spec))
    return titles


def status(at) -> str:
    return " ".join(m.value for m in at.markdown if "step" in m.value)


def test_home_page_runs_and_offers_presets():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert any("RNN Explorer" in t.value for t in at.title)
    assert len(at.button) >= 9  # one per preset
    assert at.sidebar.selectbox(key="cfg_arch").value == "lstm"


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru", "transformer"])
def test_train_page_shows_the_charts_of_each_architecture(arch):
    at = open_train(arch)
    step = next(b for b in at.button if b.label == "Step")
    step.click().run()
    assert not at.exception, at.exception
    assert "step 1" in status(at)
    titles = chart_titles(at)
    for word in TITLES["rnn"] + TITLES.get(arch, []):
        if arch == "transformer" and word == "Cell state":
            continue
        assert any(t.startswith(word) for t in titles), (word, titles)
    if arch in ("rnn", "transformer"):
        assert not any(t.startswith("Gates") for t in titles)
    if arch == "gru":
        gates = next(t for t in titles if t.startswith("Gates"))
        assert "r, z, n" in gates


def test_changing_the_sidebar_builds_a_new_run():
    at = open_train("lstm")
    next(b for b in at.button if b.label == "Step").click().run()
    assert "step 1" in status(at)
    at.sidebar.selectbox(key="cfg_arch").select("gru").run()
    assert not at.exception
    assert "step 0" in status(at)
    assert any(t.startswith("Gates (GRU") for t in chart_titles(at))


def test_an_ssm_state_size_in_the_sidebar_does_not_stop_a_switch_to_another_arch():
    at = open_page("train", arch="ssm", seq_len=20, hidden_size=16)
    at.sidebar.select_slider(key="cfg_state_size").set_value(8).run()
    at.sidebar.selectbox(key="cfg_arch").select("gru").run()
    assert not at.exception and not at.sidebar.error  # the disabled State size keeps 8; the GRU's config has 16
    assert any(t.startswith("Gates (GRU") for t in chart_titles(at))
    at.sidebar.selectbox(key="cfg_arch").select("ssm").run()
    assert not at.sidebar.error and at.sidebar.select_slider(key="cfg_state_size").value == 8


def test_reset_gives_the_same_initial_weights_again():
    at = open_train("rnn")
    before = chart_titles(at), [e.proto.spec for e in at.get("plotly_chart")]
    for _ in range(3):
        next(b for b in at.button if b.label == "Step").click().run()
    assert "step 3" in status(at)
    next(b for b in at.button if b.label == "Reset").click().run()
    assert "step 0" in status(at)
    hidden = [e.proto.spec for e in at.get("plotly_chart") if "Hidden state" in e.proto.spec]
    assert hidden and hidden[0] in before[1]  # identical initial hidden states


def test_bad_url_values_show_a_notice_and_keep_the_rest():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["arch"] = "gru"
    at.query_params["hidden_size"] = "lots"
    at.query_params["seq_len"] = "99999"
    at.run()
    assert not at.exception
    assert at.sidebar.selectbox(key="cfg_arch").value == "gru"
    notices = " ".join(w.value for w in at.warning).replace("\\", "")  # shown as plain text: markdown escaped
    assert "hidden_size" in notices and "seq_len" in notices


def test_divergence_is_shown_not_crashed():
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in dict(arch="rnn", nonlinearity="relu", init="identity", lr="10", optimizer="sgd").items():
        at.query_params[key] = value
    at.run()
    at.switch_page("pages/train.py")
    at.run()
    next(b for b in at.button if b.label == "Train").click().run()
    for _ in range(100):  # the worker trains in a thread: look again until it has stopped
        if any("Diverged at step" in e.value for e in at.error):
            break
        time.sleep(0.1)
        at.run()
    assert not at.exception
    assert any("Diverged at step" in e.value and "learning rate" in e.value for e in at.error)
    assert any(t.startswith("Gradient norm over time") for t in chart_titles(at))  # still drawn


@pytest.mark.parametrize("lecture", [False, True])
def test_the_sentiment_lesson_shows_a_review_with_the_word_its_narration_names(lecture):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["preset"] = "sentiment"
    if lecture:
        at.query_params["lecture"] = "1"
    at.run()
    at.switch_page("pages/train.py")  # where the link's st.switch_page went
    at.run()
    assert not at.exception, at.exception
    next(b for b in at.button if b.label == "Pause").click().run()
    if not lecture:
        assert next(s for s in at.selectbox if s.label == "Probe example").value != 0  # review 0 has no "not"
    spec = next(json.loads(e.proto.spec) for e in at.get("plotly_chart")
                if title_text(json.loads(e.proto.spec)).startswith("Hidden state"))
    assert "not" in spec["layout"]["xaxis"]["ticktext"]  # the word the narration points at, on the time axis


def test_lecture_mode_from_a_link_survives_a_page_switch():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["lecture"] = "1"
    at.run()
    at.switch_page("pages/train.py")
    at.run()
    assert not at.exception
    assert at.sidebar.toggle(key="lecture").value is True
    assert not any(s.label == "Probe example" for s in at.selectbox)  # secondary controls hidden
    heights = [json.loads(e.proto.spec)["layout"]["height"] for e in at.get("plotly_chart")]
    assert heights and min(heights) > 380  # charts enlarged for the projector


def test_pace_comes_from_the_link_and_a_bad_one_gives_the_notice():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["pace"] = "slow"
    at.run()
    at.switch_page("pages/train.py")
    at.run()
    assert not at.exception
    assert at.get("button_group")[0].value == ["slow"] or "slow" in str(at.get("button_group")[0].value)
    bad = AppTest.from_file(APP, default_timeout=60)
    bad.query_params["pace"] = "ludicrous"
    bad.run()
    assert not bad.exception
    assert any("pace" in w.value and "not a valid value" in w.value for w in bad.warning)


def test_training_goes_on_in_the_same_process_across_a_page_switch():
    at = open_train("gru")
    next(b for b in at.button if b.label == "Train").click().run()
    slot = at.session_state[state.SESSION].slot
    worker = slot.worker
    process = worker._process
    assert worker.training

    def step():
        return worker.snapshot.runs[0].step

    deadline = time.monotonic() + 60
    while step() < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    before = step()
    at.switch_page("pages/inspect.py").run()
    assert not at.exception, at.exception
    assert worker.training and slot.worker is worker
    at.switch_page("pages/train.py").run()
    assert not at.exception, at.exception
    assert at.session_state[state.SESSION].slot.worker is worker and worker._process is process and process.is_alive()
    deadline = time.monotonic() + 30
    while step() <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert step() > before and worker.training
    next(b for b in at.button if b.label == "Pause").click().run()
    assert not worker.training


def test_truncated_bptt_from_the_sidebar_reaches_the_run_and_its_chart():
    at = open_train("gru")
    at.sidebar.toggle(key="cfg_bptt_on").set_value(True).run()
    at.sidebar.number_input(key="cfg_bptt").set_value(7).run()
    assert not at.exception and not at.sidebar.error
    assert at.session_state[state.SESSION].config.bptt == 7
    grad = next(json.loads(e.proto.spec) for e in at.get("plotly_chart") if "Gradient norm over time" in e.proto.spec)
    cuts = [s["x0"] for s in grad["layout"].get("shapes", []) if s.get("line", {}).get("dash") == "dot"]
    assert cuts == [t - 0.5 for t in range(7, 50, 7)]  # the default T = 50
    at.sidebar.toggle(key="cfg_bidirectional").set_value(True).run()  # truncation cuts a one-way loop only
    assert not at.exception and not at.sidebar.error
    assert at.sidebar.toggle(key="cfg_bptt_on").disabled and at.session_state[state.SESSION].config.bptt is None
    at.sidebar.toggle(key="cfg_bidirectional").set_value(False).run()
    at.sidebar.selectbox(key="cfg_arch").select("transformer").run()  # no state to cut
    assert not at.sidebar.error and at.session_state[state.SESSION].config.bptt is None
    at.sidebar.selectbox(key="cfg_arch").select("lstm").run()  # back: the toggle kept its place, and k
    assert at.session_state[state.SESSION].config.bptt == 7
