"""Text that came from a link or a file is shown as that text (issue 18.1): markdown in it is escaped,
so no link, image or formatting forms, and it is capped in length. One test per path, with AppTest.
(tests/browser/test_files_browser.py checks the rendered page: no <a> or <img> from a link.)"""
import copy
import io

import torch
from streamlit.testing.v1 import AppTest

from explorer import Run, RunConfig
from explorer.ui.plain import WORD_JOINER as WJ, plain

from tests.apptest import APP, open_page

PHISH = "[Your session expired: log in again](https://evil.example/login)"
PIXEL = "![p](https://evil.example/pixel.png)"


def shown(elements) -> str:
    return " ".join(e.value for e in elements)


def assert_plain(text: str, markdown: str) -> None:
    """`text` is in `markdown` only with every bracket escaped: it renders as the characters it is."""
    assert plain(text)[:40] in markdown, markdown
    assert "[" not in markdown.replace("\\[", ""), markdown
    assert "](" not in markdown and "\\]\\(" in markdown, markdown


def test_plain_escapes_every_markdown_character_and_caps_length():
    assert plain("**a** _b_ <i>c</i> :red[d] `e` www.x.org a@b.c").replace(WJ, "") == (
        "\\*\\*a\\*\\* \\_b\\_ \\<i\\>c\\<\\/i\\> \\:red\\[d\\] \\`e\\` www\\.x\\.org a\\@b\\.c")
    assert WJ + "\\." in plain("WWW.x") and "\\:" + WJ in plain("https://x") and "\\@" + WJ in plain("a@b.c")  # no autolink
    assert plain("one\ntwo\x00three") == "one two three"
    assert len(plain("x" * 10_000, limit=100)) == 100


def open_with(params: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_url_key_is_shown_as_plain_text():
    at = open_with({PHISH: "1"})
    assert_plain(PHISH, shown(at.warning))


def test_a_url_value_is_shown_as_plain_text_and_capped():
    at = open_with({"hidden_size": PIXEL, "arch": PHISH + "x" * 5_000})
    notices = shown(at.warning)
    assert_plain(PIXEL, notices)
    assert all(len(w.value.replace("\\", "").replace(WJ, "")) <= 300 for w in at.warning)  # 300 characters as shown


def test_an_unknown_preset_is_shown_as_plain_text():
    at = open_with({"preset": PHISH})
    notices = shown(at.warning)
    assert "Ignored unknown preset" in notices
    assert_plain(PHISH, notices)


def test_many_bad_url_keys_show_five_notices_and_a_count():
    at = open_with({f"k{i}": "1" for i in range(40)})
    assert len(at.warning) == 6 and "35 more URL values were ignored" in at.warning[-1].value


def crafted_run_file(message: str) -> bytes:
    run = Run(RunConfig(arch="gru", task="adding", seq_len=10, hidden_size=8, batch_size=8))
    run.train(2)
    state = copy.deepcopy(run.state())
    state["status"], state["message"] = "diverged", message
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="run_upload").set_value((name, data, "application/octet-stream"))
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_loaded_runs_message_is_shown_as_plain_text():
    at = upload(open_page("train", arch="gru", seq_len=10), "run.pt", crafted_run_file(PHISH + " <img src=x>"))
    errors = shown(at.error)
    assert "Your session expired" in errors, errors  # the file loaded, and its message shows
    assert_plain(PHISH, errors)
    assert "<img" not in errors.replace("\\<img", "")


def test_a_refused_files_name_and_reason_are_plain_text_and_ours():
    evil = Run(RunConfig(seq_len=10, hidden_size=8)).state()
    evil["payload"] = torch.nn.Linear(1, 1)  # torch.load would advise "weights_only set to False" here
    buffer = io.BytesIO()
    torch.save(evil, buffer)
    at = upload(open_page("train", seq_len=10), PHISH + ".pt", buffer.getvalue())
    errors = shown(at.error)
    assert "Could not load" in errors and "The current run is unchanged" in errors
    assert "never saves" in errors and "weights_only" not in errors
    assert_plain(PHISH, errors)
