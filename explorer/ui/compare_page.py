"""The Compare page: architectures raced on one setup, a sequence-length sweep, and the classic table checked.

Widgets and layout only: configs and verdicts come from explorer.compare, figures from explorer.charts,
training from two background Workers of this session (its Slot holds them, apart from the Train page's worker).
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import budget as costs
from explorer import charts, compare
from explorer.style import ARCH_LABELS
from explorer.config import ARCHITECTURES, RunConfig
from explorer.ui import classic_table, live_chart, panels, session
from explorer.ui.plain import plain
from explorer.ui.slot import Job, active
from explorer.ui.worker import Snapshot

BUDGETS = (50, 100, 200, 300, 500, 1000, 2000, 5000)  # steps per architecture in the race
ARCHS_KEY, BUDGET_KEY, MATCH_KEY, SWEEP_TASK_KEY = "cmp_archs", "cmp_budget", "cmp_match", "cmp_sweep_task"
SWEEP_ARCHS_KEY = "cmp_sweep_archs"
THRESHOLD_KEY = "cmp_threshold_"  # + task name: each task keeps its own threshold
RECENT = 10  # training-batch points averaged for the sweep's provisional accuracy


def _cancel(name: str) -> None:
    session.this().cancel_job(name)


def _job_controls(name: str, label: str, key: str, configs: tuple[RunConfig, ...], budget: int,
                  *, enabled: bool, note: str = "") -> Job | None:
    """Start and Cancel for the race or the sweep; -> the job (None before its first start)."""
    me = session.this()
    buttons = st.columns([2, 1, 5])
    if buttons[0].button(label, type="primary", disabled=not enabled, key=f"{key}_start"):
        me.start_job(name, configs, budget, note)
    job = getattr(me.slot, name)
    buttons[1].button("Cancel", key=f"{key}_cancel", on_click=_cancel, args=(name,),  # before the script: the page redraws stopped
                      disabled=job is None or not active(job.worker))
    return job


def render() -> None:
    me = session.this()
    config = me.config
    st.title("Compare")
    st.markdown(
        "Same task, same seed, same budget: race the architectures on the sidebar's setup, sweep the sequence "
        "length to see where each one breaks, then check the classic comparison table against what this "
        "machine measured. Training runs in the background: leave the page and come back."
    )
    archs, budget, match = _options()
    _race_section(config, archs, budget, match)
    st.divider()
    _sweep_section(config, match)
    st.divider()
    _table_section(me.slot.race, me.slot.sweep)


# -- the race -----------------------------------------------------------------------------------

def _options() -> tuple[tuple[str, ...], int, bool]:
    """The architectures (in a fixed order), the race's budget, and whether to match parameter counts."""
    cols = st.columns([3, 2])
    archs = cols[0].multiselect("Architectures", ARCHITECTURES, default=list(ARCHITECTURES[:4]), key=ARCHS_KEY,
                                format_func=ARCH_LABELS.get, max_selections=4)
    budget = cols[1].select_slider("Steps per architecture", BUDGETS, value=500, key=BUDGET_KEY)
    match = st.toggle("Match parameter counts", value=True, key=MATCH_KEY,
                           help="Choose each hidden size so the parameter count is closest to the LSTM's.")
    if len(archs) < 2:
        st.warning("Pick at least two architectures to compare.")
    return tuple(a for a in ARCHITECTURES if a in archs), int(budget), bool(match)


def _race_section(config: RunConfig, archs: tuple[str, ...], budget: int, match: bool) -> None:
    st.subheader("Race: loss and gradients, side by side")
    try:
        matched, target = compare.matched_configs(config, archs or ("lstm",), match)
        together = costs.together([m.config for m in matched])
    except ValueError as error:
        st.warning(f"{error} Lower the sequence length or batch size in the sidebar, or leave it out.")
        return
    if together:
        st.warning(together)
        return
    note = _matching_note(config, matched, target, match)
    st.caption(note)
    job = _job_controls("race", "Start comparison", "cmp", tuple(m.config for m in matched), budget,
                        enabled=len(archs) >= 2, note=note)
    if job is None:
        st.info("Press **Start comparison**: each architecture trains in turn, one step each, in the background.")
        return
    if job.key != (tuple(m.config for m in matched), budget):
        st.caption("Showing the comparison started earlier; the setup above has changed since. "
                   f"Earlier setup: {job.note}")
    training = active(job.worker)  # queued: refresh to see it start
    fed = job.worker.snapshot.state == "training"  # the feed's frames move the progress too: a rerun every FED_FOLLOW_S
    every = panels.FED_FOLLOW_S if fed else panels.FOLLOW_S
    st.fragment(run_every=every if training else None)(_race_view)(job, training, fed)


def _matching_note(config: RunConfig, matched, target: int, match: bool) -> str:
    parts = [f"{ARCH_LABELS[m.config.arch]} hidden {m.config.hidden_size}: {m.parameters:,} parameters"
             + (f" ({m.gap:+.0%})" if match and m.config.arch != "lstm" else "") for m in matched]
    setup = f"Task {config.task}, T={config.seq_len}, seed {config.seed}, {config.optimizer} lr {config.lr:g}."
    if not match:
        return f"{setup} Hidden sizes as in the sidebar: " + " · ".join(parts) + "."
    worst = max(abs(m.gap) for m in matched)
    why = "".join(f" {ARCH_LABELS[m.config.arch]} stops at hidden {m.config.hidden_size}: {m.capped}"
                  for m in matched if m.capped)
    return (f"{setup} Parameter counts matched to the LSTM's {target:,} (hidden {config.hidden_size}), "
            f"all within {worst:.0%}: " + " · ".join(parts) + "." + why)


RACE_STATUS = "race-status"  # the race's progress while the feed's frames rewrite it (browser tests' handle)


def _progress_line(job: Job, snap: Snapshot, what: str) -> live_chart.Line:
    """The progress as a status line, "Race: 120 of 400 training steps · training · 300 steps/s", and a bar filled
    to the share done."""
    text, share = _progress_text(job, snap, what)
    return [(text, ""), (f"{share:.4f}", "%")]


def _progress_text(job: Job, snap: Snapshot, what: str) -> tuple[str, float]:
    budget = job.worker.budget
    done = sum(budget if view.status != "ok" else min(view.step, budget) for view in snap.runs)
    total = budget * len(snap.runs)
    rate = f" · {snap.steps_per_s:.0f} steps/s" if snap.state == "training" else ""
    return f"{what}: {done:,} of {total:,} training steps · {snap.state}{rate}", done / total if total else 0.0


def _progress(job: Job, snap: Snapshot, what: str, fed: bool = False) -> None:
    """The progress and what stopped it. `fed`: the race's live feed rewrites the progress with each frame."""
    if fed:
        live_chart.status(RACE_STATUS, _progress_line(job, snap, what), fed=True)
    else:
        text, share = _progress_text(job, snap, what)
        st.progress(share, text=text)
    diverged = [(label, view.message) for label, view in zip(job.labels, snap.runs) if view.status != "ok"]
    if snap.state == "queued":
        st.warning(panels.queue_note(snap, job.worker))
    elif snap.state != "training" and (job.notice or snap.message):
        if job.notice or not diverged or not all(message in snap.message for _, message in diverged):
            st.info(job.notice or snap.message)  # else it only repeats the divergences, said below with their names
    for label, message in diverged:  # once each, with the run's name
        st.error(f"**{label}**: " + plain(message))


def _race_view(job: Job, was_training: bool, timed_fed: bool = False) -> None:
    """Progress, overlaid loss curves, and gradient profiles at init and now. While the race trains, the
    charts and the progress come with the live feed's frames (several a second; the fragment's rerun moved the
    bar once a second) and this follows every FED_FOLLOW_S; while it waits in the queue, every second.
    `timed_fed`: this fragment's timer is the fed one."""
    snap = panels.watch(job.worker, was_training)  # when the race ends, the page redraws with the table
    fed = snap.state == "training"
    if fed and not timed_fed:  # a queued race has started: the page again, with the fed timer
        st.rerun()
    _progress(job, snap, "Race", fed=fed)
    s = panels.scale()

    def figures(snap_: Snapshot, only: frozenset[str] | None = None) -> list:
        histories = {label: view.history for label, view in zip(job.labels, snap_.runs)}
        traces = {label: view.trace for label, view in zip(job.labels, snap_.runs) if view.trace is not None}
        initial = {label: view.initial for label, view in zip(job.labels, snap_.runs) if view.initial is not None}
        # steady axes: between two changes of a range the browser moves the lines in place
        steps_to = panels.budget(job.worker)
        builders = {"loss_compare_chart": lambda: charts.loss_compare_chart(histories, scale=s, steps_to=steps_to),
                    "grad_norm_compare_chart": lambda: charts.grad_norm_compare_chart(traces, initial, scale=s)}
        return [(charts.steady_axes(build()), name) for name, build in builders.items() if only is None or name in only]
    if fed:
        live_chart.follow(job.worker, "cmp-race", figures, columns=1, traced=panels.traced,
                          lines=lambda snap_: {RACE_STATUS: _progress_line(job, snap_, "Race")})
    else:
        live_chart.show(figures(snap), "cmp-race", columns=1)


# -- the sweep ----------------------------------------------------------------------------------

def _sweep_section(config: RunConfig, match: bool) -> None:
    st.subheader("Sweep: where does each one break?")
    picked = st.multiselect("Architectures in the sweep", ARCHITECTURES, default=list(compare.SWEEP_ARCHS),
                            key=SWEEP_ARCHS_KEY, format_func=ARCH_LABELS.get,
                            help="Apart from the race's: the sweep draws one line per architecture, so it takes all seven.")
    archs = tuple(a for a in ARCHITECTURES if a in picked)
    task = st.radio("Sweep task", compare.SWEEP_TASKS, horizontal=True, key=SWEEP_TASK_KEY,
                    format_func=lambda t: {"recall": "Recall the key", "copy": "Copy memory"}[t])
    if compare.why_not_swept(config.task):
        st.caption(compare.why_not_swept(config.task) + " The race above trains on it.")
    configs = compare.sweep_configs(archs or ("lstm",), task, config.seed, match)
    st.caption(
        f"{len(archs)} architectures × lengths {', '.join(map(str, compare.SWEEP_LENGTHS))}, "
        f"{compare.SWEEP_STEPS} steps each, trained round robin: {compare.sweep_minutes(archs)} on 2 cores. Small models: LSTM hidden "
        f"{compare.SWEEP_HIDDEN} (forget-gate bias 1, the usual advice){', the others matched to its parameter count' if match else ''}; "
        f"Adam lr 0.003, batch 64, seed {config.seed}. A length counts as solved at held-out accuracy {compare.SOLVED_AT:g}."
    )
    job = _job_controls("sweep", "Start sweep", "cmp_sweep", configs, compare.SWEEP_STEPS,
                        enabled=len(archs) >= 2)
    if job is None:
        st.info("Press **Start sweep** to train every architecture at every length.")
        return
    training = active(job.worker)  # queued: refresh to see it start
    st.fragment(run_every=panels.LIVE_REFRESH_S if training else None)(_sweep_view)(job, training)


def _by_length(job: Job, values: list[float]) -> dict[str, dict[int, float]]:
    out: dict[str, dict[int, float]] = {}
    for config, label, value in zip(job.configs, job.labels, values):
        out.setdefault(label, {})[config.seq_len] = value
    return out


def _sweep_view(job: Job, was_training: bool) -> None:
    snap = panels.watch(job.worker, was_training)
    _progress(job, snap, "Sweep")
    final = session.this().measured(job)
    recent = [float(np.mean(v.history.metric[-RECENT:])) if len(v.history) else np.nan for v in snap.runs]
    accuracy = _by_length(job, final if final is not None else recent)
    ms = _by_length(job, [1000 * v.wall / v.step if v.step else np.nan for v in snap.runs])
    chance = job.worker.runs[0].task.chance
    s = panels.scale()
    fig = charts.accuracy_length_chart(accuracy, chance=chance, solved_at=compare.SOLVED_AT,
                                       provisional=final is None, scale=s)
    panels.chart(fig, "accuracy_length_chart", key="cmp-sweep-acc")
    panels.chart(charts.step_time_length_chart(ms, scale=s), "step_time_length_chart", key="cmp-sweep-ms")


def sweep_longest(job: Job | None) -> dict[str, int]:
    """Longest length each architecture solved in a finished (or cancelled) sweep; {} while it trains."""
    final = session.this().measured(job) if job is not None else None
    if final is None:
        return {}
    return {label: compare.longest_solved(points) for label, points in _by_length(job, final).items()}


# -- the table ----------------------------------------------------------------------------------

def _table_section(race: Job | None, sweep: Job | None) -> None:
    st.subheader("The classic table, checked on this machine")
    if race is None and sweep is None:
        st.info("The table fills in from the race (parameters, time per step, steps to a threshold) "
                "and the sweep (longest length solved).")
        return
    measured, threshold_label = _measurements(race, sweep)
    st.table(classic_table.claims_table(measured, threshold_label))
    st.caption(
        "Time per step is training wall time on this machine, now (other visitors and pages share its CPU), "
        "at the race's hidden sizes. Steps to threshold: the first step where the training-batch metric, "
        "averaged over 5 recorded steps, reaches it. Timings within "
        f"{classic_table.SPEED_TOLERANCE:.0%} of each other are too close to call."
    )


def _measurements(race: Job | None, sweep: Job | None) -> tuple[list[compare.Measured], str]:
    longest = {arch: sweep_longest(sweep).get(ARCH_LABELS[arch]) for arch in ARCHITECTURES}
    archs = {c.arch for job in (race, sweep) if job is not None for c in job.configs}
    views = {}
    threshold_label = "the threshold"
    if race is not None:
        task = race.worker.runs[0].task
        default = compare.default_threshold(task.metric_name, task.chance, task.higher_is_better)
        threshold = st.columns([2, 3])[0].number_input(f"Threshold ({task.metric_name}) for steps to threshold", value=default,
                                    min_value=0.0, format="%g", key=THRESHOLD_KEY + task.name,
                                    help="Accuracy: reach at least this. Error (mse): get down to at most this.")
        threshold_label = f"{task.metric_name} {threshold:g}"
        views = {c.arch: (view, task.higher_is_better) for c, view in zip(race.configs, race.worker.snapshot.runs)}
    measured = []
    for arch in (a for a in ARCHITECTURES if a in archs):
        m = compare.Measured(arch, longest=longest.get(arch))
        if arch in views:
            view, higher = views[arch]
            h = view.history
            steps_to, seconds_to = compare.steps_to_threshold(h.step, h.metric, h.wall, threshold, higher)
            median, spread = compare.step_times_ms(h.step, h.wall) or (
                1000 * view.wall / view.step if view.step else None, 0.0)
            m = compare.Measured(arch, view.num_parameters, median, steps_to, seconds_to, longest.get(arch), spread)
        measured.append(m)
    return measured, threshold_label
