"""AppTest: the Learn page (equations, live charts, lessons) and the Compare page (race, sweep, table)."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from explorer.presets import PRESETS
from tests.apptest import title_text

APP = str(Path(__file__).resolve().parents[1] / "app.py")
WAIT_S = 90  # a tiny race finishes in seconds; this bounds a slow, shared CI machine


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    """One torch thread: the app's default (all cores) crawls when other work shares the CPU."""
    monkeypatch.setenv("RNNX_TORCH_THREADS", "1")
    torch.set_num_threads(1)


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def chart_titles(at) -> list[str]:
    return [title_text(json.loads(e.proto.spec)) for e in at.get("plotly_chart")]


def infos(at) -> str:
    return " ".join(i.value for i in at.info)


def rerun_until(at, done, what: str, timeout_s: float = WAIT_S) -> None:
    """The workers train in threads: rerun the script (as the page's timer would) until `done(at)`."""
    deadline = time.monotonic() + timeout_s
    while not done(at):
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not seen after {timeout_s:.0f} s; info: {infos(at)!r}")
        time.sleep(0.3)
        at.run()
        assert not at.exception, at.exception


def race_progress(at) -> str:
    """The race's progress: its status line while it trains (the live feed rewrites it), its bar's text after."""
    return " ".join([p.proto.text for p in at.get("progress")] + [m.value for m in at.markdown if m.value.startswith("Race:")])


# -- Learn ----------------------------------------------------------------------------------------

def test_learn_page_shows_every_cell_equation_and_the_lessons():
    at = open_page("pages/learn.py")
    assert at.title[0].value == "Learn"
    tex = " ".join(e.value for e in at.latex)
    for term in (r"c_t &= f_t \odot c_{t-1} + i_t \odot g_t", r"h_t &= o_t \odot \tanh(c_t)",
                 r"h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}", r"\overleftarrow{h}_t", r"\sqrt{d_k}",
                 r"\prod_{t=T}^{1}", r"\sigma_{\max}(W_{hh})^{T}",
                 r"h_t &= (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t", r"\bar A_t &= \exp(\Delta_t A)"):
        assert term in tex, term
    titles = chart_titles(at)
    for prefix in ("Hidden state", "Gates: forget gate f", "Gates: update gate z", "Gates: step size Δ", "Attention",
                   "Gradient norm over time", "Recurrent weights"):
        assert any(t.startswith(prefix) for t in titles), (prefix, titles)
    for name, preset in PRESETS.items():
        assert at.button(key=f"learn-{name}").label == preset.title
    assert "open the **Train** page" in at.markdown[0].value  # no run yet: the page says where to make one
    assert at.button(key="learn-adding-try-0").label == "Try it: LSTM on the adding problem"  # Check the paper
    assert at.button(key="learn-samples-text_generation").label == PRESETS["text_generation"].title


def test_learn_page_shows_the_cut_of_truncated_bptt_and_offers_its_lesson():
    at = open_page("pages/learn.py")
    assert any(r"\frac{\partial h_{jk}}{\partial h_{jk-1}} := 0" in e.value for e in at.latex)
    specs = [json.loads(e.proto.spec) for e in at.get("plotly_chart")]
    cut = [s for s in specs if any(shape.get("line", {}).get("dash") == "dot" for shape in s["layout"].get("shapes", []))]
    assert len(cut) == 1 and title_text(cut[0]).startswith("Gradient norm over time")  # the example: copy, T=16, k=8
    assert [s["x0"] for s in cut[0]["layout"]["shapes"]] == [7.5]
    assert any(c.startswith("From a small example run (LSTM on copy, T=16, truncated BPTT k=8") for c in
               (c.value for c in at.caption))
    assert at.button(key="learn-bptt-lesson").label == PRESETS["truncated_bptt"].title


def test_learn_page_draws_from_the_session_run_once_there_is_one():
    at = open_page("pages/train.py")  # the Train page makes the session's run (the sidebar's LSTM)
    at.switch_page("pages/learn.py")
    at.run()
    assert not at.exception, at.exception
    captions = [c.value for c in at.caption]
    assert any(c.startswith("From your run on the Train page: LSTM on adding, T=50, step 0") for c in captions)
    assert any(c.startswith("From a small example run (GRU on recall") for c in captions)  # no GRU in this session
    assert any(c.startswith("Your run on the Train page: LSTM") for c in captions)  # the gradient chart


def test_a_lesson_button_opens_the_train_page_with_its_preset():
    at = open_page("pages/learn.py")
    at.button(key="learn-gru_vs_lstm").click()
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == PRESETS["gru_vs_lstm"].title  # the Train page, showing the lesson
    assert at.sidebar.selectbox(key="cfg_arch").value == "gru"
    at.switch_page("pages/train.py")  # AppTest reruns the page it was told to open: tell it where st.switch_page went
    at.run()
    next(b for b in at.button if b.label == "Pause").click()  # the lesson trains on: stop it, the next tests need the CPU
    at.run()
    assert "*paused*" in " ".join(m.value for m in at.markdown)


# -- Compare --------------------------------------------------------------------------------------

def start_race(archs=("rnn", "lstm"), budget=50) -> AppTest:
    at = open_page("pages/compare.py")
    at.multiselect(key="cmp_archs").set_value(list(archs))
    at.select_slider(key="cmp_budget").set_value(budget)
    at.run()
    at.button(key="cmp_start").click()
    at.run()
    assert not at.exception, at.exception
    return at


def test_compare_page_opens_with_matched_setup_and_nothing_running():
    at = open_page("pages/compare.py")
    assert at.title[0].value == "Compare"
    assert [s.value for s in at.subheader][:3] == ["Race: loss and gradients, side by side",
                                                   "Sweep: where does each one break?",
                                                   "The classic table, checked on this machine"]
    setup = at.caption[0].value
    assert "matched to the LSTM's 4,641 (hidden 32), all within 9%" in setup
    assert "RNN hidden 66: 4,687 parameters (+1%)" in setup
    assert "Press **Start comparison**" in infos(at) and not at.table


def test_a_tiny_race_finishes_in_the_background_and_fills_the_table():
    at = start_race()
    rerun_until(at, lambda at: "Finished the budget of 50 steps" in infos(at), "the race's end")
    assert "Loss by architecture" in chart_titles(at)
    assert any(t.startswith("Gradient norm over time") for t in chart_titles(at))
    table = at.table[0].value
    assert list(table["Architecture"]) == ["RNN", "LSTM"]
    assert list(table["Parameters"]) == ["4,687", "4,641"]
    assert all(v.endswith(" ms") for v in table["Wall time per step"])
    assert list(table["Classic: long-term memory"]) == ["weak", "strong"]
    assert table["This machine: speed"][0].split(":")[0] in ("Agrees", "Disagrees", "Partly", "Can't tell")
    assert list(table["This machine: memory"]) == ["Not measured: run the length sweep."] * 2


def test_a_race_run_that_diverges_is_named_and_said_once():
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in dict(arch="rnn", nonlinearity="relu", init="identity", lr="10", optimizer="sgd").items():
        at.query_params[key] = value  # plain SGD at lr 10: the runs diverge within a few steps
    at.run()
    at.switch_page("pages/compare.py")
    at.run()
    at.multiselect(key="cmp_archs").set_value(["rnn", "gru"])
    at.select_slider(key="cmp_budget").set_value(50)
    at.run()
    at.button(key="cmp_start").click()
    at.run()
    rerun_until(at, lambda at: "· done" in race_progress(at), "the race's end")
    errors = [e.value for e in at.error]
    said = " ".join(errors) + infos(at)
    assert errors and said.count("Diverged at step") == len(errors), said  # once per run, not again in a note
    assert all(e.startswith(("**RNN**: Diverged at step", "**GRU**: Diverged at step")) for e in errors), errors


def test_cancel_stops_the_race_where_it_is():
    at = start_race(budget=5000)
    at.button(key="cmp_cancel").click()
    at.run()
    rerun_until(at, lambda at: "Cancelled" in infos(at), "the cancel notice")
    assert "Finished the budget" not in infos(at)
    assert at.button(key="cmp_cancel").disabled  # nothing left to cancel
    assert at.table  # the table shows what the runs reached


def test_the_sweep_takes_every_architecture_by_default_the_scan_models_too():
    at = open_page("pages/compare.py")
    assert at.multiselect(key="cmp_sweep_archs").value == ["rnn", "lstm", "gru", "transformer", "mingru", "minlstm", "ssm"]
    assert at.multiselect(key="cmp_archs").value == ["rnn", "lstm", "gru", "transformer"]  # the race keeps four
    assert "7 architectures × lengths" in " ".join(c.value for c in at.caption)
    assert "minutes on 2 cores" in " ".join(c.value for c in at.caption)


def test_the_sweep_says_why_the_sidebars_translate_task_is_not_in_it():
    at = open_page("pages/compare.py")
    captions = lambda: " ".join(c.value for c in at.caption)  # noqa: E731
    assert "is not swept" not in captions()  # recall, the sidebar's default, is a sweep task
    at.selectbox(key="cfg_task").set_value("translate")
    at.run()
    assert not at.exception, at.exception
    assert "Translate is not swept" in captions() and "The race above trains on it." in captions()


def test_the_sweep_trains_in_the_background_and_can_be_cancelled():
    at = open_page("pages/compare.py")
    at.multiselect(key="cmp_sweep_archs").set_value(["rnn", "ssm"])
    at.run()
    at.button(key="cmp_sweep_start").click()
    at.run()
    assert not at.exception, at.exception
    assert any(t.startswith("Accuracy against sequence length (training batches") for t in chart_titles(at))
    at.button(key="cmp_sweep_cancel").click()
    at.run()
    rerun_until(at, lambda at: "Cancelled" in infos(at), "the sweep's cancel notice")
    assert "Accuracy against sequence length (held out)" in chart_titles(at)
    assert "Wall time per step against sequence length" in chart_titles(at)
    longest = list(at.table[0].value["Longest length solved"])
    assert len(longest) == 2 and all(v == "none" or v.startswith("T=") for v in longest)


def test_compare_page_at_the_caps_says_why_a_match_falls_short():
    """Issue 18.5: a valid link at the caps showed the generic error."""
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in dict(hidden_size="16", seq_len="1000", batch_size="32").items():
        at.query_params[key] = value
    at.run()
    at.switch_page("pages/compare.py")
    at.run()
    assert not at.exception, at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "Transformer cannot take part at this setup" in warnings and "seq_len to" in warnings
