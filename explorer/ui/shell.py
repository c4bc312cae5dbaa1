"""The app shell: page config, the shared sidebar, URL sync and navigation. app.py calls main().

Every page also calls ensure_shell() first: on a fresh server Streamlit runs a page opened by URL
(/train) alone, without app.py (legacy pages/ mode); ensure_shell() then registers the navigation and reruns, so app.py
runs first and draws the sidebar before the page, as on every other run.
"""
from __future__ import annotations

import threading
from pathlib import Path

import streamlit as st

from explorer.ui import presets_ui, sidebar, urlsync

ROOT = Path(__file__).resolve().parents[2]
PAGES = (("home", "Home", ""), ("train", "Train", "train"), ("inspect", "Inspect", "inspect"),
         ("compare", "Compare", "compare"), ("learn", "Learn", "learn"))
_inside = threading.local()  # set while main() runs in this script thread


def pages() -> list:
    return [st.Page(str(ROOT / "pages" / f"{name}.py"), title=title, url_path=path or None, default=not path)
            for name, title, path in PAGES]


def main() -> None:
    st.set_page_config(page_title="RNN Explorer", page_icon="🔁", layout="wide")
    _inside.active = True
    try:
        urlsync.restore_once()
        config = sidebar.draw()
        presets_ui.active(config)  # a changed sidebar leaves the preset
        urlsync.publish(config)
        st.navigation(pages()).run()
    finally:
        _inside.active = False


def ensure_shell() -> None:
    """Call at the top of every page: if the shell did not run this page, run it now and stop."""
    if getattr(_inside, "active", False):
        return
    st.navigation(pages(), position="hidden")  # from now on the server runs app.py first
    st.rerun()
