"""Home: what the explorer is, and one-click lessons."""
import streamlit as st

from explorer.ui.shell import ensure_shell

ensure_shell()

from explorer.presets import PRESETS  # noqa: E402
from explorer.ui import presets_ui  # noqa: E402

st.title("RNN Explorer")
st.markdown(
    "Pick an architecture in the sidebar, press **Train**, and watch a recurrent network learn from the "
    "inside: its hidden states, its gates and how far back its gradients reach, step by step in time. "
    "Everything here also runs from a notebook: `from explorer import Run, RunConfig`."
)
if st.button("Open the Train page", type="primary"):
    st.switch_page("pages/train.py")
st.subheader("One-click lessons")
st.caption("Each lesson sets the sidebar, opens the Train page, trains within a minute and checks its claim.")
names = list(PRESETS)
for start in range(0, len(names), 3):
    for col, name in zip(st.columns(3), names[start:start + 3]):
        with col.container(border=True, height="stretch"):
            presets_ui.button(name, key=f"home-{name}")
            st.caption(PRESETS[name].narration.split(". ")[0] + ".")
