"""Round-trips the sidebar through st.query_params: read once per session, written on every run."""
from __future__ import annotations

import streamlit as st

from explorer.config import RunConfig
from explorer.ui import session, state
from explorer.urlstate import config_from_params, lecture_from_params, pace_from_params, params_from_config


def restore_once() -> None:
    """First run of a session: a shared link's values go to the sidebar; bad ones become notices."""
    me = session.this()
    if me.restored:
        return
    me.restored = True
    params = {key: st.query_params.get(key) for key in st.query_params}
    config, notices = config_from_params(params, RunConfig())
    pace, bad_pace = pace_from_params(params)
    lecture, bad_lecture = lecture_from_params(params)
    for notice in notices + bad_pace + bad_lecture:
        me.notify(notice)
    state.set_widget(state.PACE, pace)
    state.set_widget(state.LECTURE, lecture)
    preset = params.get("preset")
    if preset:
        from explorer.presets import PRESETS  # the presets pull in every task; only when asked

        if preset in PRESETS:
            me.choose_preset(preset, open_train=True)
            return
        me.notify(f"Ignored unknown preset '{preset[:40]}'. Presets: {', '.join(PRESETS)}.")
    me.show(config)


def publish(config: RunConfig) -> None:
    """Write the setup to the URL, so the address bar is always a link that reopens it."""
    wanted = params_from_config(config)
    preset = session.this().preset_name
    if preset:
        wanted["preset"] = preset
    if state.widget(state.LECTURE):
        wanted["lecture"] = "1"
    pace = state.widget(state.PACE) or "normal"
    if pace != "normal":
        wanted["pace"] = pace
    current = {key: st.query_params.get(key) for key in st.query_params}
    if current != wanted:
        st.query_params.from_dict(wanted)
