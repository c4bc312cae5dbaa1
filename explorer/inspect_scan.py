"""One step's numbers for the scan models (minGRU, minLSTM, selective SSM): the terms their equations
need, the equations filled in, and each step's Jacobian norm. Pure torch + numpy on a Run and one
sequence x (1, T, I). Not the page that shows them (explorer/ui/inspect_page.py).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from explorer.scan import g


def _n(value: float) -> str:
    return f"{value:.3f}" if np.isfinite(value) else r"\text{" + str(value) + "}"


def _p(value: float) -> str:
    return f"({_n(value)})" if value < 0 else _n(value)


@torch.no_grad()
def scan_terms(run, x: torch.Tensor, layer: int = 0) -> dict[str, np.ndarray]:
    """name -> array over steps t (first axis T) for one layer of a scan model on x (1, T, I).

    mingru: "k_z", "k_h" (T, H) pre-activations, "h~" (T, H), "a" = 1 - z (T, H).
    minlstm: "k_f", "k_i", "k_h", "h~", "a" = f' (T, H).
    ssm: "u", "delta" (T, E), "B", "C" (T, N), "A" (E, N), "D" (E,), "a" = A-bar (T, E, N), "h" (T, E, N), "y" (T, E).
    """
    model = run.model
    if model.arch != "ssm":
        h = x
        for k in range(layer):
            h = model.layers[k](h)  # (1, T, H)
        cell = model.layers[layer]
        parts = cell.linear(h)[0].chunk(len(cell.gates) + 1, dim=-1)  # (T, H) each: z | f, i, then h~
        names = ["k_" + gate for gate in cell.gates] + ["k_h"]
        out = {name: p.double().numpy() for name, p in zip(names, parts)}
        out["h~"] = g(parts[-1]).double().numpy()
        if model.arch == "mingru":
            out["a"] = 1 - torch.sigmoid(parts[0]).double().numpy()
        else:
            f, i = torch.sigmoid(parts[0]), torch.sigmoid(parts[1])
            out["a"] = (f / (f + i)).double().numpy()
        return out
    h = model.embed(x)  # (1, T, E)
    for k in range(layer):
        h = h + model.layers[k](model.norms[k](h))
    block = model.layers[layer]
    u, r, delta, B, C = (v[0] for v in block.selection(model.norms[layer](h)))  # (T, E) x3, (T, N) x2
    log_a, bu = block.discretize(u, delta, B)  # (T, E, N)
    state, states = torch.zeros_like(bu[0]), []
    for t in range(u.shape[0]):
        state = log_a[t].exp() * state + bu[t]
        states.append(state)
    hs = torch.stack(states)  # (T, E, N)
    y = (hs * C.unsqueeze(1)).sum(-1) + block.D * u  # (T, E)
    as_np = dict(u=u, delta=delta, B=B, C=C, A=-torch.exp(block.A_log), D=block.D, a=log_a.exp(), h=hs, y=y)
    return {name: v.double().numpy() for name, v in as_np.items()}


def step_norms(terms: dict[str, np.ndarray]) -> np.ndarray:
    """(T,) spectral norm of dh_t/dh_{t-1}: the recurrence is diagonal, so it is the largest a_t kept
    (1 - z_t, f'_t or A-bar_t). No W_hh: the gradient through time is a product of these numbers alone."""
    a = terms["a"]
    return a.reshape(a.shape[0], -1).max(axis=1)


def scan_equations(arch: str, terms: dict[str, np.ndarray], values: dict[str, np.ndarray], t: int, unit: int) -> list[str]:
    """LaTeX lines of the layer's equations at step t for one unit (ssm: one channel, state n = 0), with numbers.
    values: gate name -> (T, H) and "h" -> (T, H) from the trace."""
    j = unit

    def sigma(name: str, gate: str) -> str:
        k = float(terms["k_" + name][t, j])
        return rf"{gate} = \sigma(W_{{{name}}}x_t + b_{{{name}}}) = \sigma({_n(k)}) = {_n(1 / (1 + np.exp(-k)))}"

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
