"""Presets in the UI: one-click buttons that set the sidebar and open a page, run labels, the verdict.

Which preset is active is the session's (explorer/ui/session.py: Session.preset)."""
from __future__ import annotations

import streamlit as st

from explorer.presets import PRESETS, Preset
from explorer.style import ARCH_LABELS
from explorer.ui import session
from explorer.ui.worker import Worker


def _choose(name: str) -> None:
    """Button callback: runs before the script, so it may set the sidebar's widgets."""
    session.this().choose_preset(name)


def button(name: str, *, key: str) -> None:
    """One click: set the sidebar and the URL to the preset, open the Train page, and train."""
    preset = PRESETS[name]
    if st.button(preset.title, key=key, on_click=_choose, args=(name,),
                 help=preset.narration, width="stretch"):
        st.switch_page("pages/train.py")


def label(runs, index: int) -> str:
    """Run `index`'s short name in side-by-side panels: the preset's label, else its architecture."""
    preset = session.this().preset
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
    ok, text = session.this().preset_verdict(worker)
    (st.success if ok else st.warning)(("Claim reproduced. " if ok else "Claim not reproduced this time. ") + text)
