"""Lecture mode: for a projector at the back of a hall. Larger type and charts, fewer controls."""
from __future__ import annotations

import streamlit as st

from explorer.ui import state

# Streamlit's own type scales with the root font size; charts scale through panels.scale().
_CSS = """
<style>
html { font-size: 22px; }
[data-testid="stMainBlockContainer"] { padding-top: 2rem; max-width: 100%; }
[data-testid="stCaptionContainer"] { font-size: 1.05rem; }
</style>
"""


def on() -> bool:
    return bool(state.widget(state.LECTURE))


def toggle() -> None:
    st.sidebar.toggle("Lecture mode", key=state.LECTURE,
                      help="For a projector: larger type and charts, secondary controls hidden. Link: lecture=1.")


def apply() -> None:
    if on():
        st.html(_CSS)
