"""The shared sidebar: RunConfig widgets on every page, with the labels fixed in DESIGN.md."""
from __future__ import annotations

import streamlit as st

from explorer.config import (ARCHITECTURES, BIDIRECTIONAL_ARCHS, INITS, LIMITS, NONLINEARITIES, OPTIMIZERS,
                             TASK_NAMES, RunConfig, unused_fields)
from explorer.style import ARCH_LABELS
from explorer.tasks import TASKS
from explorer.ui import state

HIDDEN_SIZES = (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
STATE_SIZES = (1, 2, 4, 8, 16, 32, 64)
LEARNING_RATES = tuple(float(f"{m}e{e}") for e in range(-5, 1) for m in (1, 3)) + (10.0,)  # exact decimals
KEY = "cfg_"  # widget keys: KEY + RunConfig field name (and a few switches)


def _with(options: tuple, value) -> list:
    """A select_slider's options, with an off-grid value (from a link) kept in order."""
    return sorted(set(options) | {value})


def set_widgets(config: RunConfig) -> None:
    """Make the sidebar show `config`. Call only before the widgets are drawn (or from a callback)."""
    for name, value in config.to_dict().items():
        st.session_state[KEY + name] = value
    st.session_state[KEY + "clip_on"] = config.clip_grad_norm is not None
    st.session_state[KEY + "clip_grad_norm"] = config.clip_grad_norm or 1.0
    st.session_state[KEY + "forget_on"] = config.forget_bias is not None
    st.session_state[KEY + "forget_bias"] = config.forget_bias if config.forget_bias is not None else 1.0
    state.put(state.CONFIG, config)


def widget_keys() -> list[str]:
    return [k for k in st.session_state if isinstance(k, str) and k.startswith(KEY)]


def _value(name: str, default):
    return st.session_state.get(KEY + name, default)


def draw() -> RunConfig:
    """Draw the widgets; -> the config they describe (the last valid one, with a message, if not valid)."""
    sb = st.sidebar
    arch = sb.selectbox("Architecture", ARCHITECTURES, format_func=ARCH_LABELS.get, key=KEY + "arch")
    task = sb.selectbox("Task", TASK_NAMES, format_func=lambda n: TASKS[n].title or n, key=KEY + "task")
    sb.caption(TASKS[task].description)
    recurrent = arch in BIDIRECTIONAL_ARCHS  # has W_hh, may read backwards
    sb.toggle("Bidirectional", key=KEY + "bidirectional", disabled=not recurrent,
              help="A second RNN reads the sequence backwards; outputs see the future too.")
    sb.slider("Layers", 1, LIMITS.max_num_layers, key=KEY + "num_layers")
    sb.select_slider("Hidden size", _with(HIDDEN_SIZES, _value("hidden_size", 32)), key=KEY + "hidden_size")
    sb.number_input("Sequence length", 2, LIMITS.max_seq_len, step=10, key=KEY + "seq_len",
                    help="Time steps T per sequence. Long sequences show vanishing gradients.")
    sb.selectbox("Optimizer", OPTIMIZERS, format_func=lambda o: {"adam": "Adam", "sgd": "SGD (momentum 0.9)", "rmsprop": "RMSprop"}[o],
                 key=KEY + "optimizer")
    sb.select_slider("Learning rate", _with(LEARNING_RATES, _value("lr", 3e-3)), format_func=lambda v: f"{v:g}",
                     key=KEY + "lr", help="Log scale. Too large and the loss diverges: that is a lesson too.")
    clip_on = sb.toggle("Gradient clipping", key=KEY + "clip_on", help="Rescale gradients whose global norm exceeds max norm.")
    if clip_on:
        sb.number_input("Max norm", 1e-3, LIMITS.max_clip, key=KEY + "clip_grad_norm", format="%g")
    sb.number_input("Seed", 0, LIMITS.max_seed, key=KEY + "seed", help="Same seed, same weights, same data.")
    forget_on = _advanced(arch, recurrent)
    values = {name: _value(name, None) for name in RunConfig.__dataclass_fields__}
    values["clip_grad_norm"] = float(values["clip_grad_norm"]) if clip_on else None
    values["forget_bias"] = float(values["forget_bias"]) if forget_on and arch == "lstm" else None
    values["bidirectional"] = bool(values["bidirectional"]) and recurrent
    values["lr"] = float(values["lr"])
    values.update(unused_fields(arch))  # the SSM's disabled widgets keep their values for a switch back
    try:
        config = RunConfig(**values)
    except ValueError as error:
        sb.error(f"{error}. Keeping the previous setup.")
        return state.config()
    state.put(state.CONFIG, config)
    return config


def _advanced(arch: str, recurrent: bool) -> bool:
    with st.sidebar.expander("Advanced"):
        st.selectbox("Nonlinearity", NONLINEARITIES, key=KEY + "nonlinearity", disabled=arch != "rnn",
                     help="Vanilla RNN only: tanh squashes, relu does not (IRNN uses relu).")
        st.selectbox("Init", INITS, key=KEY + "init", disabled=not recurrent,
                      help="W_hh at start: torch's default, orthogonal, or identity (IRNN, Le et al. 2015).")
        forget_on = st.toggle("Set forget-gate bias", key=KEY + "forget_on", disabled=arch != "lstm")
        if forget_on and arch == "lstm":
            st.number_input("Forget-gate bias", -20.0, 20.0, step=0.5, key=KEY + "forget_bias",
                            help="Total b_if + b_hf. A large positive value (the memory lessons use 5) keeps the forget gate open, so the cell remembers from the start.")
        st.select_slider("Heads", _with((1, 2, 4, 8), _value("num_heads", 2)), key=KEY + "num_heads", disabled=arch != "transformer")
        st.select_slider("State size", _with(STATE_SIZES, _value("state_size", 16)), key=KEY + "state_size",
                         disabled=arch != "ssm", help="SSM only: N, the state each channel keeps (Mamba's d_state).")
        st.toggle("Selective", key=KEY + "selective", disabled=arch != "ssm",
                  help="SSM only: Δ, B and C computed from each input (S6, Mamba). Off: fixed parameters, "
                       "the same at every step (a time-invariant SSM, like S4).")
        st.select_slider("Batch size", _with((1, 4, 8, 16, 32, 64, 128, 256, 512), _value("batch_size", 32)),
                         key=KEY + "batch_size")
    return forget_on
