"""Shared fixtures. AppTest runs share this process, and with it Streamlit's resource caches."""
import pytest
import streamlit as st

from explorer.ui.runtime import set_plotly_checks


@pytest.fixture(autouse=True)
def fresh_streamlit_caches():
    """Each test starts with no session worker left by another (and every worker is stopped after)."""
    yield
    st.cache_resource.clear()
    set_plotly_checks(True)  # app.py turns them off for the process; chart tests run with them on
