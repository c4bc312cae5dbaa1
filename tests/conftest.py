"""Shared fixtures. AppTest runs share this process, and with it Streamlit's resource caches."""
import pytest
import streamlit as st

from explorer.charts import figure


@pytest.fixture(autouse=True)
def fresh_streamlit_caches():
    """Each test starts with no session worker left by another (and every worker is stopped after)."""
    yield
    st.cache_resource.clear()


@pytest.fixture
def plotly_figures():
    """Chart builders make checked plotly go.Figure objects (tests/test_figure_dicts.py proves the
    figure dicts they make otherwise hold the same content), so tests can read fig.layout.title.text."""
    with figure.reference():
        yield
