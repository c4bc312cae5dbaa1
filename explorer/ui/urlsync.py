"""Round-trips the sidebar through st.query_params: read once per session, written on every run."""
from __future__ import annotations

import streamlit as st

from explorer.config import RunConfig
from explorer.ui import sidebar, state
from explorer.urlstate import config_from_params, lecture_from_params, pace_from_params, params_from_config


def restore_once() -> None:
    """First run of a session: a shared link's values go to the sidebar; bad ones become notices."""
    if state.get(state.INITIALISED):
        return
    state.put(state.INITIALISED, True)
    params = {key: st.query_params.get(key) for key in st.query_params}
    config, notices = config_from_params(params, RunConfig())
    pace, bad_pace = pace_from_params(params)
    lecture, bad_lecture = lecture_from_params(params)
    for notice in notices + bad_pace + bad_lecture:
        state.add_notice(notice)
    state.put(state.PACE, pace)
    preset = params.get("preset")
    if preset:
        from explorer.presets import PRESETS  # the presets pull in every task; only when asked

        if preset in PRESETS:
            config = PRESETS[preset].configs[0]
            state.put(state.PRESET, preset)
            state.put(state.AUTOSTART, True)
            state.put(state.OPEN_TRAIN, True)
        else:
            state.add_notice(f"Ignored unknown preset '{preset[:40]}'. Presets: {', '.join(PRESETS)}.")
    state.put(state.LECTURE, lecture)
    sidebar.set_widgets(config)


def publish(config: RunConfig) -> None:
    """Write the setup to the URL, so the address bar is always a link that reopens it."""
    wanted = params_from_config(config)
    preset = state.get(state.PRESET)
    if preset:
        wanted["preset"] = preset
    if state.get(state.LECTURE):
        wanted["lecture"] = "1"
    if (state.get(state.PACE) or "normal") != "normal":
        wanted["pace"] = state.get(state.PACE)
    current = {key: st.query_params.get(key) for key in st.query_params}
    if current != wanted:
        st.query_params.from_dict(wanted)
