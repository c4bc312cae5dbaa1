"""The cells' equations in LaTeX: as the Learn page writes them, and filled with one step's numbers, as
Inspect shows them under "Equations". Keyed by the architecture names of explorer/cells.py.

Plain strings from plain numbers (the terms explorer/inspection.py computes); no torch, no streamlit.
Torch notation: lstm i, f, g, o; gru r, z, n with h_t = (1 - z) * n + z * h_{t-1}.
"""
from __future__ import annotations

import math

import numpy as np


# -- each cell's equations, in torch's notation (the Learn page shows them) ---------------------------------

RNN_TEX = r"h_t = \tanh\left(W_{ih}\, x_t + b_{ih} + W_{hh}\, h_{t-1} + b_{hh}\right)"
LSTM_TEX = r"""\begin{aligned}
i_t &= \sigma\left(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}\right) \\
f_t &= \sigma\left(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}\right) \\
g_t &= \tanh\left(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}\right) \\
o_t &= \sigma\left(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}\right) \\
c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
h_t &= o_t \odot \tanh(c_t)
\end{aligned}"""
GRU_TEX = r"""\begin{aligned}
r_t &= \sigma\left(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}\right) \\
z_t &= \sigma\left(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}\right) \\
n_t &= \tanh\big(W_{in} x_t + b_{in} \\
    &\qquad\quad + r_t \odot \left(W_{hn} h_{t-1} + b_{hn}\right)\big) \\
h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}
\end{aligned}"""
BIDIRECTIONAL_TEX = r"""\begin{aligned}
\overrightarrow{h}_t &= \mathrm{cell}\left(x_t,\ \overrightarrow{h}_{t-1}\right) \\
\overleftarrow{h}_t &= \mathrm{cell}\left(x_t,\ \overleftarrow{h}_{t+1}\right) \\
y_t &= W_{\mathrm{head}} \left[\overrightarrow{h}_t ;\ \overleftarrow{h}_t\right] + b_{\mathrm{head}}
\end{aligned}"""
ATTENTION_TEX = r"""\begin{aligned}
Q &= X W_Q,\quad K = X W_K,\quad V = X W_V \\
\mathrm{Attention}(Q, K, V) &= \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}} + M\right) V \\
M_{ts} &= \begin{cases} 0 & s \le t \\ -\infty & s > t \end{cases}
\end{aligned}"""
MIN_TEX = r"""\begin{aligned}
&\textbf{minGRU} & z_t &= \sigma\left(W_{z} x_t + b_{z}\right), \quad \tilde h_t = g\left(W_{h} x_t + b_{h}\right) \\
& & h_t &= (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t \\
&\textbf{minLSTM} & f_t, i_t &= \sigma\left(W_{f} x_t + b_{f}\right), \sigma\left(W_{i} x_t + b_{i}\right), \quad
f'_t = \tfrac{f_t}{f_t + i_t},\ i'_t = \tfrac{i_t}{f_t + i_t} \\
& & h_t &= f'_t \odot h_{t-1} + i'_t \odot \tilde h_t \\
& & h_t &= a_t \odot h_{t-1} + b_t \ \Rightarrow\ \log h_t = a^*_t + \log \textstyle\sum_{k \le t} e^{\log b_k - a^*_k},
\quad a^*_t = \sum_{k \le t} \log a_k
\end{aligned}"""
SSM_TEX = r"""\begin{aligned}
\Delta_t &= \operatorname{softplus}\left(W_{\Delta} u_t + b_{\Delta}\right), \quad B_t = W_B u_t, \quad C_t = W_C u_t \\
\bar A_t &= \exp(\Delta_t A), \quad \bar B_t = \Delta_t B_t, \quad A = -\exp(A_{\log}) \ \text{(diagonal, } N \text{ per channel)} \\
h_t &= \bar A_t \odot h_{t-1} + \bar B_t\, u_t, \qquad y_t = C_t h_t + D u_t \\
\text{block:}\ x &\leftarrow x + W_{\mathrm{out}}\left(y \odot \operatorname{silu}(r)\right), \quad
[u; r] = W_{\mathrm{in}} \operatorname{LN}(x),\ u \leftarrow \operatorname{silu}(\operatorname{conv}(u))
\end{aligned}"""
CELL_TEX = {"rnn": RNN_TEX, "lstm": LSTM_TEX, "gru": GRU_TEX, "bidirectional": BIDIRECTIONAL_TEX,
            "transformer": ATTENTION_TEX, "mingru": MIN_TEX, "minlstm": MIN_TEX, "ssm": SSM_TEX}


# -- the same, filled with one step's numbers (Inspect) ---------------------------------------------------

def _n(value: float) -> str:
    return f"{value:.3f}" if math.isfinite(value) else r"\text{" + str(value) + "}"


def _p(value: float) -> str:
    """A factor in a product: negative numbers in parentheses."""
    return f"({_n(value)})" if value < 0 else _n(value)


def _sign(value: float) -> str:
    return "-" if value < 0 else "+"


def equations(arch: str, terms: dict[str, np.ndarray], values: dict[str, np.ndarray], t: int, unit: int,
              nonlinearity: str = "tanh") -> list[str]:
    """LaTeX lines of the cell's equations at step t for one unit, filled with the step's numbers.

    terms from explorer.inspection (cell_terms; inspect_scan.scan_terms for the scan models); values:
    gate name -> (T, H) and "h", "c" -> (T, H) from the trace.
    Torch notation: lstm i, f, g, o; gru r, z, n with h_t = (1 - z) * n + z * h_{t-1}. Each
    pre-activation shows its input part and its recurrent part, each labelled below.
    """
    if arch not in ("rnn", "lstm", "gru"):
        return scan_equations(arch, terms, values, t, unit)
    j = unit

    def part(value: float, label: str) -> str:
        return rf"\underbrace{{{_n(value)}}}_{{{label}}}"

    def pre(name: str) -> tuple[float, float]:
        return float(terms["x:" + name][t, j]), float(terms["h:" + name][t, j])

    def gate(name: str, fn: str) -> str:
        a, b = pre(name)
        return (rf"{name}_t = {fn}({part(a, f'W_{{i{name}}}x_t+b_{{i{name}}}')} {_sign(b)} "
                rf"{part(abs(b), f'W_{{h{name}}}h_{{t-1}}+b_{{h{name}}}')}) = {fn}({_n(a + b)}) "
                rf"= {_n(float(values[name][t, j]))}")

    h, h_prev = float(values["h"][t, j]), float(terms["h_prev"][t, j])
    if arch == "rnn":
        a, b = pre("h")
        act = r"\tanh" if nonlinearity == "tanh" else r"\operatorname{relu}"
        return [rf"h_t = {act}({part(a, 'W_{ih}x_t+b_{ih}')} {_sign(b)} {part(abs(b), 'W_{hh}h_{t-1}+b_{hh}')}) "
                rf"= {act}({_n(a + b)}) = {_n(h)}"]
    if arch == "lstm":
        i, f, g, o = (float(values[k][t, j]) for k in "ifgo")
        c, c_prev = float(values["c"][t, j]), float(terms["c_prev"][t, j])
        return [gate("i", r"\sigma"), gate("f", r"\sigma"), gate("g", r"\tanh"), gate("o", r"\sigma"),
                rf"c_t = f_t c_{{t-1}} + i_t g_t = {_n(f)} \cdot {_p(c_prev)} + {_n(i)} \cdot {_p(g)} = {_n(c)}",
                rf"h_t = o_t \tanh(c_t) = {_n(o)} \cdot \tanh({_n(c)}) = {_n(h)}"]
    r, z, n = (float(values[k][t, j]) for k in "rzn")
    a, b = pre("n")
    return [gate("r", r"\sigma"), gate("z", r"\sigma"),
            rf"n_t = \tanh({part(a, 'W_{in}x_t+b_{in}')} + r_t \cdot {part(b, 'W_{hn}h_{t-1}+b_{hn}')}) "
            rf"= \tanh({_n(a)} + {_n(r)} \cdot {_p(b)}) = {_n(n)}",
            rf"h_t = (1 - z_t)\, n_t + z_t\, h_{{t-1}} = (1 - {_n(z)}) \cdot {_p(n)} + {_n(z)} \cdot {_p(h_prev)} = {_n(h)}"]


def scan_equations(arch: str, terms: dict[str, np.ndarray], values: dict[str, np.ndarray], t: int, unit: int) -> list[str]:
    """LaTeX lines of the layer's equations at step t for one unit (ssm: one channel, state n = 0), with numbers.
    values: gate name -> (T, H) and "h" -> (T, H) from the trace."""
    j = unit

    def sigma(name: str, gate: str) -> str:
        k = float(terms["k_" + name][t, j])
        return rf"{gate} = \sigma(W_{{{name}}}x_t + b_{{{name}}}) = \sigma({_n(k)}) = {_n(1 / (1 + math.exp(-k)))}"

    if arch in ("mingru", "minlstm"):
        h, h_prev = float(values["h"][t, j]), float(values["h"][t - 1, j]) if t else 0.0
        cand = rf"\tilde h_t = g(W_h x_t + b_h) = g({_n(float(terms['k_h'][t, j]))}) = {_n(float(terms['h~'][t, j]))}"
        if arch == "mingru":
            z = float(values["z"][t, j])
            return [sigma("z", "z_t"), cand,
                    rf"h_t = (1 - z_t)\, h_{{t-1}} + z_t\, \tilde h_t = (1 - {_n(z)}) \cdot {_p(h_prev)} + {_n(z)} "
                    rf"\cdot {_n(float(terms['h~'][t, j]))} = {_n(h)}"]
        f, i = float(values["f"][t, j]), float(values["i"][t, j])
        return [sigma("f", "f_t"), sigma("i", "i_t"),
                rf"f'_t = \tfrac{{f_t}}{{f_t + i_t}} = {_n(f)},\quad i'_t = \tfrac{{i_t}}{{f_t + i_t}} = {_n(i)}", cand,
                rf"h_t = f'_t\, h_{{t-1}} + i'_t\, \tilde h_t = {_n(f)} \cdot {_p(h_prev)} + {_n(i)} \cdot "
                rf"{_n(float(terms['h~'][t, j]))} = {_n(h)}"]
    delta, u, A = float(terms["delta"][t, j]), float(terms["u"][t, j]), float(terms["A"][j, 0])
    a, B, h = float(terms["a"][t, j, 0]), float(terms["B"][t, 0]), float(terms["h"][t, j, 0])
    h_prev = float(terms["h"][t - 1, j, 0]) if t else 0.0
    C, D, y = terms["C"][t], float(terms["D"][j]), float(terms["y"][t, j])
    read = float((terms["h"][t, j] * C).sum())
    return [rf"\Delta_t = \operatorname{{softplus}}(W_\Delta u_t + b_\Delta) = {_n(delta)}",
            rf"\bar A_{{t,0}} = \exp(\Delta_t A_0) = \exp({_n(delta)} \cdot {_p(A)}) = {_n(a)}",
            rf"h_{{t,0}} = \bar A_{{t,0}}\, h_{{t-1,0}} + \Delta_t B_{{t,0}}\, u_t = {_n(a)} \cdot {_p(h_prev)} + "
            rf"{_n(delta)} \cdot {_p(B)} \cdot {_p(u)} = {_n(h)}",
            rf"y_t = \textstyle\sum_n C_{{t,n}} h_{{t,n}} + D u_t = {_n(read)} + {_n(D)} \cdot {_p(u)} = {_n(y)}",
            rf"\text{{(all }}N = {terms['h'].shape[2]}\text{{ states: }}\textstyle\sum_n h_{{t,n}} = "
            rf"{_n(float(values['h'][t, j]))}\text{{, the hidden state charted)}}"]
