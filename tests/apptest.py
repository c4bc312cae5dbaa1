"""Shared AppTest helpers: open the app with a sidebar setup and switch to a page."""
import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def open_page(page: str, *, arch="lstm", task=None, seq_len=None, hidden_size=None, num_layers=None,
              bidirectional=False) -> AppTest:
    """Run app.py, set the sidebar, switch to pages/<page>.py; fails on an exception."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.sidebar.selectbox(key="cfg_arch").select(arch)
    if task is not None:
        at.sidebar.selectbox(key="cfg_task").select(task)
    if seq_len is not None:
        at.sidebar.number_input(key="cfg_seq_len").set_value(seq_len)
    if hidden_size is not None:
        at.sidebar.select_slider(key="cfg_hidden_size").set_value(hidden_size)
    if num_layers is not None:
        at.sidebar.slider(key="cfg_num_layers").set_value(num_layers)
    if bidirectional:
        at.sidebar.toggle(key="cfg_bidirectional").set_value(True)
    at.run()
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, at.exception
    return at


def title_text(spec: dict) -> str:
    """A chart's title as a reader sees it: without markup (a long title wraps with <br>), as the browser tests read it."""
    return re.sub(r"<[^>]*>", "", spec["layout"]["title"]["text"])
