"""Typed helpers over st.session_state: key names live here, pages never index session_state directly."""
from __future__ import annotations

import streamlit as st

from explorer.config import RunConfig

PRESET = "preset"  # name of the active preset, or None
AUTOSTART = "autostart"  # start training on the next Train page run
OPEN_TRAIN = "open_train"  # a link named a preset: open the Train page once
NOTICES = "notices"  # messages to show once (bad URL values)
LECTURE = "lecture"  # projector mode toggle (a widget key)
CONFIG = "config"  # the last valid RunConfig built from the sidebar
INITIALISED = "initialised"
EXAMPLE = "example"  # probe example shown on the Train page
PACE = "pace"  # the Train page's Pace control (a widget key): normal | slow | step-by-step
UPLOAD_ERROR = "upload_error"  # why the last uploaded run file was refused
SLOT = "slot"  # this session's training workers (explorer.ui.session.Slot)
BROWSER = "browser"  # this session's browser id, from its cookie (explorer.ui.browser.Browser)
CSV_SERIES = "csv_series"  # (label, values, fingerprint): the csv task's uploaded series (explorer/ui/series_ui.py)
COMPARE = "compare"  # the Compare page's race and sweep (explorer.ui.compare_page.Holder), kept in the Slot


def get(key: str, default=None):
    return st.session_state.get(key, default)


def put(key: str, value) -> None:
    st.session_state[key] = value


def pop(key: str, default=None):
    return st.session_state.pop(key, default)


def carry_over(keys: list[str]) -> None:
    """Re-set these widget values as our own: a page switch gives widgets new ids, and Streamlit
    would otherwise drop the old ids' values and show the widgets' defaults."""
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def config() -> RunConfig:
    return st.session_state.get(CONFIG) or RunConfig()


def add_notice(text: str) -> None:
    st.session_state.setdefault(NOTICES, []).append(text)


def take_notices() -> list[str]:
    return st.session_state.pop(NOTICES, [])
