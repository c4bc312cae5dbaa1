"""The app shell: page config, the shared sidebar, URL sync and navigation. app.py calls main().

Every page also calls ensure_shell() first. On a fresh server Streamlit runs a page opened by URL
(/train) alone, without app.py (legacy pages/ mode): ensure_shell() then registers the navigation
and reruns, so the visitor's first screen already comes through app.py. AppTest's switch_page also
runs a page alone, on every run: there ensure_shell() draws the shell around the page's own run.
"""
from __future__ import annotations

import threading
from pathlib import Path

# Imported whole before any page builds a chart: plotly checks for pandas with sys.modules.get("pandas"), so
# while one session's thread was still importing it, another's chart found a half-made module and failed
# ("partially initialized module 'pandas' has no attribute 'Series"; seen with three visitors opening /train at
# once on a fresh server, python -m explorer.bench --visitors 3 --replicas 2). An import statement waits for it.
import pandas  # noqa: F401
import streamlit as st

from explorer.ui import lecture, session, sidebar, state, urlsync
from explorer.ui.plain import plain

ROOT = Path(__file__).resolve().parents[2]
PAGES = (("home", "Home", ""), ("train", "Train", "train"), ("inspect", "Inspect", "inspect"),
         ("compare", "Compare", "compare"), ("learn", "Learn", "learn"))
TRAIN = "pages/train.py"
MAX_NOTICES = 5  # ignored URL values named one by one; the rest are counted
_inside = threading.local()  # set while main() runs in this script thread


def pages() -> list:
    return [st.Page(str(ROOT / "pages" / f"{name}.py"), title=title, url_path=path or None, default=not path)
            for name, title, path in PAGES]


def main(run_page: bool = True) -> None:
    _inside.active = True
    try:
        urlsync.restore_once()  # the session's first run: the link's values go to every shell widget
        state.carry_over([*sidebar.widget_keys(), state.LECTURE, state.PACE])  # before any widget is drawn
        st.set_page_config(page_title="RNN Explorer", page_icon="🔁", layout="wide",
                           initial_sidebar_state="collapsed" if lecture.on() else "auto")
        me = session.this()
        me.follow_sidebar(sidebar.draw(me.config))  # a changed sidebar leaves the preset
        lecture.toggle()
        lecture.apply()
        session.heartbeat()
        urlsync.publish(me.config)
        _notices(me.take_notices())
        page = st.navigation(pages())
        if me.take_open_train() and page.url_path != "train":
            st.switch_page(TRAIN)  # a link with a preset opens straight into the lesson
        if run_page:
            page.run()
        session.remember()  # after the page: a run it started counts
    finally:
        _inside.active = False


def _notices(notices: list[str]) -> None:
    """A link's ignored values, as plain text: the link's keys and values are the visitor's, not ours."""
    for notice in notices[:MAX_NOTICES]:
        st.warning(plain(notice, limit=300))
    if len(notices) > MAX_NOTICES:
        st.warning(f"{len(notices) - MAX_NOTICES} more URL values were ignored.")


def ensure_shell() -> None:
    """Call at the top of every page: if the shell did not run this page, draw it around this run."""
    if getattr(_inside, "active", False):
        return
    if not session.this().restored:
        # a fresh server's first session: register the navigation and start over at app.py
        # now, before the visitor can click anything that a changed widget id would lose
        st.navigation(pages(), position="hidden")
        st.rerun()
    main(run_page=False)  # AppTest's switch_page: draw the shell around this run
