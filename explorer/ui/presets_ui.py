"""Presets in the UI: which one is active, one-click buttons that set the sidebar and open a page, the verdict."""
from __future__ import annotations

import streamlit as st

from explorer.config import RunConfig
from explorer.presets import PRESETS, Preset
from explorer.style import ARCH_LABELS
from explorer.ui import sidebar, state
from explorer.ui.worker import Worker


def active(config: RunConfig) -> Preset | None:
    """The preset in force: chosen, and the sidebar still shows its first config (any change leaves it)."""
    name = state.get(state.PRESET)
    preset = PRESETS.get(name) if name else None
    if preset and preset.configs[0] != config:
        state.pop(state.PRESET)
        return None
    return preset


def choose(name: str) -> None:
    """Button callback: runs before the script, so it may set the sidebar's widgets."""
    preset = PRESETS[name]
    sidebar.set_widgets(preset.configs[0])
    state.put(state.PRESET, name)
    state.put(state.AUTOSTART, True)


def button(name: str, *, key: str) -> None:
    """One click: set the sidebar and the URL to the preset, open the Train page, and train."""
    preset = PRESETS[name]
    if st.button(preset.title, key=key, on_click=choose, args=(name,),
                 help=preset.narration, width="stretch"):
        st.switch_page("pages/train.py")


def label(runs, index: int) -> str:
    """Run `index`'s short name in side-by-side panels: the preset's label, else its architecture."""
    preset = PRESETS.get(state.get(state.PRESET) or "")
    if preset and preset.labels:
        return preset.labels[index]
    config = runs[index].config
    return ARCH_LABELS[config.arch] + (" (bidirectional)" if config.bidirectional else "")


def example(preset: Preset | None, worker: Worker) -> int:
    """The probe example a lesson's narration is about (Preset.example_index), 0 without one."""
    if preset is None or not preset.example:
        return 0
    run = worker.runs[0]
    return preset.example_index(run.task.tokens(run.probe))


def verdict(preset: Preset, worker: Worker) -> None:
    """When the budget is spent: did the claim reproduce, and the numbers that say so."""
    snap = worker.snapshot
    if snap.state == "training":
        st.info(f"Lesson budget: {preset.steps} steps per run. The verdict appears when it is spent.")
        return
    if not worker.finished:  # the worker's budget is the preset's
        return
    key = f"verdict-{preset.name}-{id(worker)}"
    result = state.get(key)
    if result is None:
        result = preset.verdict(worker.runs)
        state.put(key, result)
    ok, text = result
    (st.success if ok else st.warning)(("Claim reproduced. " if ok else "Claim not reproduced this time. ") + text)
