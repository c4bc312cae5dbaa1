"""The shared sidebar: RunConfig widgets on every page, with the labels fixed in DESIGN.md."""
from __future__ import annotations

import streamlit as st

from explorer.config import FIELD_TABLE, FIELDS, SEQ2SEQ_TASKS, TASK_ONLY_FIELDS, RunConfig, unused_fields
from explorer.style import ARCH_LABELS
from explorer.tasks import TASKS
from explorer.ui import series_ui, state

KEY = "cfg_"  # widget keys: KEY + RunConfig field name (and a few switches)
_SWITCHES = {"clip_grad_norm": "clip_on", "forget_bias": "forget_on", "bptt": "bptt_on"}  # the optional fields' toggles
_SWITCHED_ON = {"clip_grad_norm": 1.0, "forget_bias": 1.0, "bptt": 10}  # a number box's value when its toggle turns on
DEFAULTS = RunConfig()


def _with(options: tuple, value) -> list:
    """A select_slider's options, with an off-grid value (from a link) kept in order."""
    return sorted(set(options) | {value})


def set_widgets(config: RunConfig) -> None:
    """Make the sidebar show `config`. Call only before the widgets are drawn (or from a callback)."""
    for name, value in config.to_dict().items():
        state.set_widget(KEY + name, value)
    for name, switch in _SWITCHES.items():  # an optional field: its toggle, and its number box's value when on
        value = getattr(config, name)
        state.set_widget(KEY + switch, value is not None)
        state.set_widget(KEY + name, value if value is not None else _SWITCHED_ON[name])


def widget_keys() -> list[str]:
    return state.widget_keys(KEY)


def _value(name: str, default):
    return state.widget(KEY + name, default)


MAIN = ("arch", "task", "bidirectional", "num_layers", "hidden_size", "seq_len", "optimizer", "lr", "clip_grad_norm",
        "seed")
ADVANCED = ("attention", "nonlinearity", "init", "forget_bias", "num_heads", "state_size", "selective", "batch_size",
            "bptt")
FORMATS = {"arch": ARCH_LABELS.get, "task": lambda n: TASKS[n].title or n, "lr": lambda v: f"{v:g}",
           "optimizer": {"adam": "Adam", "sgd": "SGD (momentum 0.9)", "rmsprop": "RMSprop"}.get}


def _widget(box, name: str, arch: str, task: str = DEFAULTS.task) -> bool:
    """Draw the widget of one RunConfig field as FIELD_TABLE describes it; -> whether the field is on
    (False for an optional field switched off, or one that means nothing to `arch` or `task`)."""
    f = FIELD_TABLE[name]
    used, key = arch in f.archs and task in TASK_ONLY_FIELDS.get(name, (task,)), KEY + name
    if name == "bptt":  # truncation cuts a one-way loop; translation's encoder-decoder trains whole (RunConfig says so)
        used = used and not _value("bidirectional", False) and task not in SEQ2SEQ_TASKS
    if f.optional:
        if not box.toggle(f.switch, key=KEY + _SWITCHES[name], disabled=not used, help=f.help) or not used:
            return False
    extra = {"format_func": FORMATS[name]} if name in FORMATS else {}
    if f.kind is str:
        box.selectbox(f.label, f.choices, key=key, disabled=not used, help=f.help or None, **extra)
    elif f.kind is bool:
        box.toggle(f.label, key=key, disabled=not used, help=f.help or None)
    elif f.ticks:
        box.select_slider(f.label, _with(f.ticks, _value(name, getattr(DEFAULTS, name))), key=key, disabled=not used,
                          help=f.help or None, **extra)
    elif f.step is None and f.kind is int:
        box.slider(f.label, *f.bounds(), key=key, disabled=not used, help=f.help or None)
    else:
        low, high = f.bounds()
        box.number_input(f.label, f.kind(low), f.kind(high), step=f.kind(f.step) if f.step else None, key=key,
                         format="%g" if f.kind is float else "%d", help=f.help or None)
    return used


def draw(previous: RunConfig) -> RunConfig:
    """Draw the widgets; -> the config they describe (`previous`, with a message, if not valid)."""
    sb = st.sidebar
    arch = _value("arch", DEFAULTS.arch)
    on = {}
    for name in MAIN:
        on[name] = _widget(sb, name, arch)
        if name == "arch":
            arch = _value("arch", DEFAULTS.arch)
        if name == "task":
            sb.caption(TASKS[_value("task", DEFAULTS.task)].description)
            if _value("task", DEFAULTS.task) == "csv":
                series_ui.draw(sb)
    with sb.expander("Advanced"):
        task = _value("task", DEFAULTS.task)
        for name in ADVANCED:
            on[name] = _widget(st, name, arch, task)
    values = {name: _value(name, None) for name in FIELDS}
    for name in _SWITCHES:  # optional fields: None when switched off (or meaningless for this arch)
        values[name] = FIELD_TABLE[name].kind(values[name]) if on[name] else None
    values["bidirectional"] = bool(values["bidirectional"]) and on["bidirectional"]
    values["lr"] = float(values["lr"])
    values.update(unused_fields(arch, values["task"]))  # disabled widgets keep their values for a switch back
    try:
        config = RunConfig(**values)
    except ValueError as error:
        sb.error(f"{error}. Keeping the previous setup.")
        return previous
    return config
