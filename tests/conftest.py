"""Shared fixtures. AppTest runs share this process, and with it Streamlit's resource caches."""
import pytest
import streamlit as st


@pytest.fixture(autouse=True)
def fresh_streamlit_caches():
    """Each test starts with no session worker left by another (and every worker is stopped after)."""
    yield
    st.cache_resource.clear()
