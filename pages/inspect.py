"""Inspect: coming next."""
import streamlit as st

from explorer.ui.shell import ensure_shell

ensure_shell()

st.title("Inspect")
st.info("This page is being built.")
