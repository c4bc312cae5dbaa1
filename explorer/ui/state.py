"""The one module that touches st.session_state: the Session object's one entry, and widgets' own values.

What each field means lives on explorer.ui.session.Session; here only the keys. Pages never index
session_state directly.
"""
from __future__ import annotations

from typing import Callable, TypeVar

import streamlit as st

SESSION = "rnnx_session"  # the Session object (explorer.ui.session.Session)
LECTURE = "lecture"  # widget keys: projector mode toggle
PACE = "pace"  # the Train page's Pace control: normal | slow | step-by-step
EXAMPLE = "example"  # probe example shown on the Train page

T = TypeVar("T")


def held(factory: Callable[[], T]) -> T:
    """The session's object, made by `factory` on its first run."""
    value = st.session_state.get(SESSION)
    if value is None:
        value = factory()
        st.session_state[SESSION] = value
    return value


def widget(key: str, default=None):
    """A widget's value (or one set for it before it is drawn)."""
    return st.session_state.get(key, default)


def set_widget(key: str, value) -> None:
    """Set a widget's value: only before the widget is drawn in this run, or from a callback."""
    st.session_state[key] = value


def widget_keys(prefix: str) -> list[str]:
    return [k for k in st.session_state if isinstance(k, str) and k.startswith(prefix)]


def carry_over(keys: list[str]) -> None:
    """Re-set these widget values as our own: a page switch gives widgets new ids, and Streamlit
    would otherwise drop the old ids' values and show the widgets' defaults."""
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
