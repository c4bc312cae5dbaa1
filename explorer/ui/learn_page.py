"""The Learn page: each cell's equations in torch notation beside a chart of the term they explain, why
gradients vanish and explode, and the presets as one-click lessons. Layout only: the numbers come from
the session's run (explorer.ui.session) or, where it has no run of that kind, from a small example run.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from explorer import charts, inspection
from explorer.charts.equations import CELL_TEX
from explorer.charts.gradients import gradient_of
from explorer.style import ARCH_LABELS
from explorer.config import RunConfig
from explorer.presets import PRESETS
from explorer.verdicts import vanishing_ratio
from explorer.records import Trace
from explorer.run import Run
from explorer.ui import panels, papers_ui, presets_ui, session
from explorer.ui.slot import active
from explorer.ui.worker import Worker

EXAMPLE_STEPS = 200
_C = RunConfig
EXAMPLES = {  # small seeded runs that stand in where the session has no run of that kind
    "rnn": _C(arch="rnn", task="recall", seq_len=20, hidden_size=16, batch_size=64, seed=0),
    "lstm": _C(arch="lstm", task="recall", seq_len=20, hidden_size=16, batch_size=64, forget_bias=1.0, seed=0),
    "gru": _C(arch="gru", task="recall", seq_len=20, hidden_size=16, batch_size=64, seed=0),
    "bidirectional": _C(arch="gru", task="lookahead", seq_len=20, hidden_size=16, bidirectional=True, lr=1e-2, seed=0),
    "transformer": _C(arch="transformer", task="recall", seq_len=20, hidden_size=16, num_heads=2, batch_size=64, seed=0),
    "mingru": _C(arch="mingru", task="recall", seq_len=20, hidden_size=16, batch_size=64, lr=1e-2, seed=0),
    "minlstm": _C(arch="minlstm", task="recall", seq_len=20, hidden_size=16, batch_size=64, lr=1e-2, seed=0),
    "ssm": _C(arch="ssm", task="selective_copy", seq_len=20, hidden_size=16, state_size=4, batch_size=32, lr=1e-2, seed=0),
    "bptt": _C(arch="lstm", task="copy", seq_len=16, hidden_size=16, batch_size=64, lr=1e-2, bptt=8, seed=0),
}

CHAIN_TEX = r"""\frac{\partial L}{\partial h_0} = \frac{\partial L}{\partial h_T}\,
\frac{\partial h_T}{\partial h_{T-1}} \cdots \frac{\partial h_1}{\partial h_0}
= \frac{\partial L}{\partial h_T} \prod_{t=T}^{1} \frac{\partial h_t}{\partial h_{t-1}},
\qquad \frac{\partial h_t}{\partial h_{t-1}} = \mathrm{diag}\left(1 - h_t^2\right) W_{hh}"""
BOUND_TEX = r"""\left\lVert \frac{\partial L}{\partial h_0} \right\rVert \le
\left\lVert \frac{\partial L}{\partial h_T} \right\rVert \, \sigma_{\max}(W_{hh})^{T},
\qquad \text{LSTM, along } c_t\text{:}\ \ \frac{\partial c_t}{\partial c_{t-1}}\Big|_{\text{direct}} = \mathrm{diag}(f_t)"""


@dataclass(frozen=True)
class Shown:
    """What one section draws: a trace (and the trace at init), and where it came from."""

    trace: Trace
    initial: Trace | None
    source: str  # one line for the caption
    live: bool  # from the session's run (redrawn while it trains)


@st.cache_resource(show_spinner="Training a small example run (once per server)…", max_entries=len(EXAMPLES))
def _example(kind: str) -> tuple[Trace, Trace, np.ndarray | None, float | None, float | None]:
    """-> (trace, trace at init, W_hh eigenvalues, spectral radius, largest singular value) of a small seeded run.

    Shared by every session (read only): the same config and seed give the same run everywhere.
    """
    run = Run(EXAMPLES[kind])
    initial = run.trace()
    run.train(EXAMPLE_STEPS)
    eigvals = radius = sigma = None
    if kind == "rnn":
        eigvals, radius, sigma = inspection.spectrum(_initial_block(EXAMPLES[kind]))
    return run.trace(), initial, eigvals, radius, sigma


def _initial_block(config: RunConfig) -> np.ndarray:
    """W_hh of a fresh run of `config` (the weights at init, where the gradient chart starts)."""
    return inspection.recurrent_block(Run(config))


MODEL_NAMES = {"rnn": "an RNN", "lstm": "an LSTM", "gru": "a GRU", "bidirectional": "a bidirectional model",
               "transformer": "a Transformer", "mingru": "a minGRU", "minlstm": "a minLSTM", "ssm": "an SSM",
               "bptt": "an RNN, LSTM or GRU with Truncated BPTT on (sidebar, Advanced)"}


def _describe(config: RunConfig) -> str:
    return (f"{ARCH_LABELS[config.arch]}{' bidirectional' if config.bidirectional else ''} on {config.task}, "
            f"T={config.seq_len}" + (f", truncated BPTT k={config.bptt}" if config.bptt else ""))


def _kind_of(config: RunConfig) -> list[str]:
    kinds = [config.arch]
    if config.bidirectional:
        kinds.append("bidirectional")
    if config.bptt is not None:
        kinds.append("bptt")
    return kinds


def _live(worker: Worker | None) -> dict[str, tuple[int, RunConfig]]:
    """Which section each run of the session can illustrate: kind -> (index of the run, its config)."""
    found: dict[str, tuple[int, RunConfig]] = {}
    if worker is None:
        return found
    for index, run in enumerate(worker.runs):
        for kind in _kind_of(run.config):
            found.setdefault(kind, (index, run.config))
    return found


def _shown(kind: str, worker: Worker | None, live: dict) -> Shown:
    if kind in live and worker is not None:
        index, config = live[kind]
        view = worker.snapshot.runs[index]
        if view.trace is not None:
            source = f"From your run on the Train page: {_describe(config)}, step {view.step}."
            return Shown(view.trace, view.initial, source, True)
    trace, initial, *_ = _example(kind)
    c = EXAMPLES[kind]
    source = (f"From a small example run ({_describe(c)}, {EXAMPLE_STEPS} steps): train {MODEL_NAMES[kind]} on the "
              "Train page to see your own here.")
    return Shown(trace, initial, source, False)


def render() -> None:
    worker = session.this().slot.worker
    live = _live(worker)
    st.title("Learn")
    st.markdown(
        "The equations of each cell, in torch's notation (`torch.nn.RNN`, `LSTM`, `GRU`, "
        "`MultiheadAttention`), each beside a chart of the term it explains. "
        + ("The charts come from your run where it has the right kind of cell."
           if worker is not None else "No run yet: open the **Train** page and press Train to see your own run "
           "here; until then the charts come from small example runs.")
    )
    training = worker is not None and active(worker)  # queued too: the page refreshes to see it start
    for section in (_rnn, _lstm, _gru, _bidirectional, _attention, _min_rnns, _ssm):
        st.divider()
        section(worker, live, training)
    st.divider()
    _gradients(worker, live, training)
    st.divider()
    _truncation(worker, live, training)
    st.divider()
    _lessons()
    st.divider()
    papers_ui.learn_section(worker)


def _equation_and_chart(title: str, tex: str, text: str, kind: str, worker, live: dict, training: bool,
                        draw, *, wide: bool = False) -> None:
    """The equations and their words beside the chart; `wide` charts (several panels) go full width below them."""
    st.subheader(title)
    left, right = st.columns([1, 1]) if not wide else (st.container(), st.container())
    with left:
        st.latex(tex)
        st.markdown(text)
    with right:
        run_every = panels.LIVE_REFRESH_S if training and kind in live else None
        st.fragment(run_every=run_every)(_chart)(kind, worker, live, draw)


def _chart(kind: str, worker, live: dict, draw) -> None:
    shown = _shown(kind, worker, live)
    if shown.live and worker is not None:
        worker.touch()
    draw(shown, panels.scale())
    st.caption(shown.source)


def _rnn(worker, live, training) -> None:
    _equation_and_chart(
        "Vanilla RNN", CELL_TEX["rnn"],
        "One matrix $W_{hh}$ carries the whole past into the next step, squashed by tanh into [-1, 1]. "
        "The chart shows $h_t$, unit by unit: the state is all the network knows about the inputs so far.",
        "rnn", worker, live, training,
        lambda s, k: panels.chart(charts.hidden_state_heatmap(s.trace, scale=k), "hidden_state_heatmap", key="learn-chart-rnn"))


def _lstm(worker, live, training) -> None:
    _equation_and_chart(
        "LSTM", CELL_TEX["lstm"],
        "The cell state $c_t$ is the memory: the forget gate $f_t$ scales what is kept of $c_{t-1}$, the input "
        "gate $i_t$ how much of the candidate $g_t$ is written, the output gate $o_t$ how much is shown as $h_t$. "
        "Where $f_t$ stays near 1 (yellow), the cell carries its content forward unchanged.",
        "lstm", worker, live, training,
        lambda s, k: panels.chart(charts.gate_heatmap(s.trace, "f", scale=k), "gate_heatmap", key="learn-chart-lstm"))


def _gru(worker, live, training) -> None:
    _equation_and_chart(
        "GRU", CELL_TEX["gru"],
        "Two gates instead of three, and no separate cell: the update gate $z_t$ mixes the old state and the new "
        "candidate $n_t$. In torch's form $z_t$ near 1 keeps $h_{t-1}$ (yellow: the unit holds); the reset gate "
        "$r_t$ decides how much of the past enters $n_t$.",
        "gru", worker, live, training,
        lambda s, k: panels.chart(charts.gate_heatmap(s.trace, "z", scale=k), "gate_heatmap", key="learn-chart-gru"))


def _bidirectional(worker, live, training) -> None:
    _equation_and_chart(
        "Bidirectional RNN", CELL_TEX["bidirectional"],
        "Two cells read the sequence, one forwards (weights `*_l0`) and one backwards (`*_l0_reverse`); the output "
        "$y_t$ sees both halves of the sequence. Both panels are indexed by input step $t$: the reverse one holds "
        "the state after reading from the end down to $t$.",
        "bidirectional", worker, live, training,
        lambda s, k: panels.chart(charts.hidden_state_heatmap(s.trace, scale=k), "hidden_state_heatmap",
                                  key="learn-chart-bidirectional"), wide=True)


def _attention(worker, live, training) -> None:
    _equation_and_chart(
        "Attention", CELL_TEX["transformer"],
        "No chain of steps: every query step $t$ compares itself with every key step $s$ at once, and the "
        "softmax row says how much of each value it reads. The causal mask $M$ hides the future. Each head has "
        "its own $W_Q, W_K, W_V$ ($d_k$ = hidden size / heads).",
        "transformer", worker, live, training,
        lambda s, k: panels.chart(charts.attention_heatmaps(s.trace, scale=k), "attention_heatmaps", key="learn-chart-attention"),
        wide=True)


def _min_rnns(worker, live, training) -> None:
    kind = "minlstm" if "minlstm" in live and "mingru" not in live else "mingru"
    gate = "z" if kind == "mingru" else "f"
    _equation_and_chart(
        "minGRU and minLSTM: gates from x_t alone", CELL_TEX["mingru"],
        "Feng et al. 2024 (“Were RNNs All We Needed?”, arXiv:2410.01201) drop $h_{t-1}$ from every gate and "
        "the tanh from the candidate. What is left, $h_t = a_t h_{t-1} + b_t$, is a *linear* recurrence whose "
        "$a_t, b_t$ are known for all $t$ before the loop starts, so training computes every $h_t$ at once with "
        "cumulative sums in log space (a parallel scan); $g(x) = x + 0.5$ for $x \\ge 0$, $\\sigma(x)$ below, "
        "keeps $\\tilde h_t > 0$ so its log exists. The chart shows the gate that keeps: "
        + ("$1 - z_t$ is the minGRU's share of $h_{t-1}$ kept (dark $z_t$: the unit holds)." if kind == "mingru"
           else "$f'_t$, the minLSTM's share of $h_{t-1}$ kept (yellow: the unit holds)."),
        kind, worker, live, training,
        lambda s, k: panels.chart(charts.gate_heatmap(s.trace, gate, scale=k), "gate_heatmap", key="learn-chart-min"))


def _ssm(worker, live, training) -> None:
    _equation_and_chart(
        "Selective state space (S6, Mamba)", CELL_TEX["ssm"],
        "Gu & Dao 2023 (“Mamba: Linear-Time Sequence Modeling with Selective State Spaces”, arXiv:2312.00752). "
        "Each channel keeps $N$ numbers (`state_size`), each decaying at its own rate $A_n < 0$. The step size "
        "$\\Delta_t$ is computed from the input: a large $\\Delta_t$ forgets the state and writes $u_t$ in, a "
        "small one lets the input pass by unseen. That choice by content is *selection*; with `selective` off, "
        "$\\Delta, B, C$ are fixed parameters and the layer is time-invariant (a fixed convolution over time). "
        "The chart shows $\\Delta_t$: bright columns are the steps the layer chose to write.",
        "ssm", worker, live, training,
        lambda s, k: panels.chart(charts.gate_heatmap(s.trace, "delta", scale=k), "gate_heatmap", key="learn-chart-ssm"))


# -- gradients ----------------------------------------------------------------------------------

def _recurrent_weights(worker, live: dict) -> tuple[np.ndarray, float, float, str]:
    """(eigenvalues, spectral radius, largest singular value) of a vanilla RNN's W_hh, and where it came from."""
    if "rnn" in live and worker is not None:
        index, config = live["rnn"]
        with worker.models() as runs:  # no training step runs while we read the weights
            block = inspection.recurrent_block(runs[index])
            step = runs[index].step
        return *inspection.spectrum(block), f"your RNN at step {step}"
    _, _, eigvals, radius, sigma = _example("rnn")
    return eigvals, radius, sigma, f"a fresh RNN with hidden size {EXAMPLES['rnn'].hidden_size} (torch's default init)"


def _decay_per_step(trace: Trace) -> tuple[float, float]:
    """(grad_norm at t=0 / at t=T-1, its geometric mean per step) of layer 0, forward (gradient_of says of what)."""
    g = trace.grad_norm[0, 0]  # (T,)
    ratio = vanishing_ratio(g)
    return ratio, ratio ** (1 / max(1, len(g) - 1)) if ratio > 0 else 0.0


def _gradients(worker, live: dict, training: bool) -> None:
    st.subheader("Why gradients vanish and explode")
    st.markdown("For a loss read at the last step T, the chain rule walks back through every step, one Jacobian each:")
    st.latex(CHAIN_TEX)
    st.markdown(
        "Each factor is $W_{hh}$ scaled row by row by $\\tanh' = 1 - h_t^2 \\le 1$. So each step can multiply the "
        "gradient by at most the largest singular value $\\sigma_{\\max}(W_{hh})$: below 1, the gradient reaching "
        "early steps shrinks geometrically (vanishing). Growth needs the spectral radius "
        "$\\rho(W_{hh}) = \\max |\\lambda|$ above 1; then some direction can grow like $\\rho^T$ (exploding; "
        "Pascanu, Mikolov & Bengio 2013). The LSTM adds a path this bound does not cover: along $c_t$, each step "
        "multiplies by the forget gate $f_t$, which can stay near 1."
    )
    st.latex(BOUND_TEX)
    eigvals, radius, sigma, where = _recurrent_weights(worker, live)
    st.markdown(
        f"For {where}: $\\rho(W_{{hh}})$ = **{radius:.3f}**, $\\sigma_{{\\max}}(W_{{hh}})$ = **{sigma:.3f}**. "
        "torch's default init draws $W_{hh}$ from $U(-1/\\sqrt{H}, 1/\\sqrt{H})$, which puts $\\rho$ near "
        "$1/\\sqrt{3} \\approx 0.58$ at any hidden size $H$: over 50 steps that is a factor like "
        "$0.58^{50} \\approx 10^{-12}$."
    )
    left, right = st.columns(2)
    with left:
        run_every = panels.LIVE_REFRESH_S if training else None
        st.fragment(run_every=run_every)(_gradient_chart)(worker)
    with right:
        panels.chart(charts.eigenvalue_chart(eigvals, radius, scale=panels.scale()), "eigenvalue_chart", key="learn-chart-eig")


def _gradient_chart(worker) -> None:
    """The Gradient norm over time chart of the session's (first) run, or of the example RNN."""
    if worker is not None and worker.snapshot.runs and worker.snapshot.runs[0].trace is not None:
        worker.touch()
        view, config = worker.snapshot.runs[0], worker.runs[0].config
        trace, initial = view.trace, view.initial
        source = f"Your run on the Train page: {_describe(config)}, step {view.step}."
    else:
        trace, initial, *_ = _example("rnn")
        c = EXAMPLES["rnn"]
        source = f"A small example run ({_describe(c)}); train your own on the Train page to see it here."
    panels.chart(charts.grad_norm_chart(trace, initial=initial, scale=panels.scale()), "grad_norm_chart", key="learn-chart-grad")
    reference = initial if initial is not None else trace
    ratio, per_step = _decay_per_step(reference)
    symbol = gradient_of(reference.arch)[0]  # what grad_norm holds for this architecture
    st.caption(f"{source} At init, {symbol.replace('_t', '_0')} / {symbol.replace('_t', '_T-1')} = {ratio:.2g}: "
               f"about ×{per_step:.2f} per step on the way back.")


TRUNCATION_TEX = r"""\begin{gathered}\frac{\partial h_{jk}}{\partial h_{jk-1}} := 0 \quad (j = 1, 2, \dots) \\[4pt]
\Longrightarrow\quad \frac{\partial L_s}{\partial x_t} = 0 \ \text{ for } t < k \lfloor s / k \rfloor\end{gathered}"""


def _truncation(worker, live, training) -> None:
    _equation_and_chart(
        "Truncated backpropagation through time", TRUNCATION_TEX,
        "Full BPTT walks the chain rule back through every step. *Truncated* BPTT (Dive into Deep Learning, "
        "“Backpropagation Through Time”) detaches the hidden state every $k$ steps: the forward pass is unchanged, "
        "but the backward pass stops at each cut, so a loss at step $s$ reaches only the inputs of its own stretch "
        "of $k$ steps, never one $k$ or more steps back. On a long stream trained stretch by stretch that "
        "bounds each update's memory and work, and d2l notes it biases training towards simpler, more stable models. The price: it is blind to longer "
        "dependencies, since nothing tells the weights to store what an answer needs from beyond the cut. "
        "The chart shows the cut (dotted): left of it the gradient is exactly zero, drawn at the floor.\n\n"
        "**Try it:** the lesson below trains two LSTMs on the copy task, where each letter is needed 11 steps "
        "after it is shown: with full BPTT the LSTM learns to copy, truncated at $k = 8$ it stays near chance. "
        "Or switch on **Truncated BPTT** in the sidebar's Advanced section (RNN, LSTM, GRU, one-way) and train "
        "your own.",
        "bptt", worker, live, training,
        lambda s, k: panels.chart(charts.grad_norm_chart(s.trace, initial=s.initial, scale=k), "grad_norm_chart",
                                  key="learn-chart-bptt"))
    presets_ui.button("truncated_bptt", key="learn-bptt-lesson")


# -- lessons ------------------------------------------------------------------------------------

def _lessons() -> None:
    st.subheader("Lessons: one click each")
    st.markdown("Each lesson sets the sidebar, opens the Train page and trains within a minute; "
                "when its budget is spent it says, in numbers, whether the claim showed.")
    cols = st.columns(3)
    for index, (name, preset) in enumerate(PRESETS.items()):
        with cols[index % 3]:
            with st.container(border=True):
                presets_ui.button(name, key=f"learn-{name}")
                st.markdown(preset.narration)
