"""Check the paper cards: a classic result (explorer/papers.py) beside what the session's run measured, and the rule.

Drawn on the Learn page (every check, with its lessons or a setup to try) and under a lesson's verdict (the checks
that lesson reproduces). Layout only: the outcomes come from Session.paper_outcomes.
"""
from __future__ import annotations

import streamlit as st

from explorer.papers import AGREES, CHECKS, NOT_TRAINED, Check, Outcome, for_lesson
from explorer.ui import presets_ui, session
from explorer.ui.worker import Worker

_BADGE = {AGREES: ":green-badge[agrees]", NOT_TRAINED: ":gray-badge[not trained yet]"}
TRAINING = Outcome(NOT_TRAINED, "Training: the card reads your run when it pauses or its budget is spent.")


def badge(status: str) -> str:
    return _BADGE.get(status, f":orange-badge[{status}]")


def card(check: Check, outcome: Outcome, *, key: str, offer: bool = False) -> None:
    """One card: the paper's side, your run's side, the rule; `offer` adds the lessons and setups that test it."""
    with st.container(border=True, key=f"paper-{key}"):
        st.markdown(f"**Check the paper: {check.title}** {badge(outcome.status)}")
        paper, mine = st.columns(2)
        with paper:
            st.markdown(f"**The paper.** {check.claim}\n\n*Task:* {check.task}.")
            st.caption(check.source.cite())
        with mine:
            st.markdown(f"**Your run.** {outcome.measured}")
            st.markdown(f"*Rule:* {check.rule}")
            if check.differs:
                st.caption(check.differs)
        if offer:
            _offers(check, key)


def _choose(config) -> None:
    """Button callback: runs before the script, so it may set the sidebar's widgets."""
    session.this().choose_config(config)


def _offers(check: Check, key: str) -> None:
    if not (check.lessons or check.tries):
        return
    cols = st.columns(len(check.lessons) + len(check.tries))
    for col, name in zip(cols, check.lessons):
        with col:
            presets_ui.button(name, key=f"{key}-{name}")
    for index, (col, (label, config)) in enumerate(zip(cols[len(check.lessons):], check.tries)):
        if col.button(f"Try it: {label}", key=f"{key}-try-{index}", on_click=_choose, args=(config,),
                      help="Sets the sidebar to this setup, opens the Train page and trains; pause when you like "
                           "and come back here.", width="stretch"):
            st.switch_page("pages/train.py")


def _outcomes(worker: Worker | None) -> dict[str, Outcome] | None:
    return None if worker is None else session.this().paper_outcomes(worker)


def lesson_cards(name: str, worker: Worker) -> None:
    """Under a lesson's verdict, once its budget is spent: the checks it reproduces."""
    checks = for_lesson(name)
    if not checks or not worker.finished:
        return
    outcomes = _outcomes(worker) or {}
    for check in checks:
        card(check, outcomes.get(check.key, TRAINING), key=f"lesson-{check.key}")


def learn_section(worker: Worker | None) -> None:
    """Learn: every check, judged on the session's run where it is the kind the claim is about."""
    st.subheader("Check the paper")
    st.markdown("Classic results beside what your run measured, with the rule that decides whether they agree. "
                "Each card reads the run on the Train page when it is not training; the buttons open the lesson "
                "that reproduces the result, or a setup to try.")
    outcomes = _outcomes(worker)
    training = worker is not None and outcomes is None
    for key, check in CHECKS.items():
        if outcomes is not None:
            outcome = outcomes[key]
        else:
            outcome = TRAINING if training else Outcome(NOT_TRAINED, "No run yet: train one on the Train page.")
        card(check, outcome, key=f"learn-{key}", offer=True)
