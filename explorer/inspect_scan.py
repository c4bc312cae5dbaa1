"""One step's numbers for the scan models (minGRU, minLSTM, selective SSM): the terms their equations
need (explorer/charts/equations.py writes them out) and each step's Jacobian norm. Pure torch + numpy on a Run and one
sequence x (1, T, I). Not the page that shows them (explorer/ui/inspect_page.py).
"""
from __future__ import annotations

import numpy as np
import torch

from explorer.scan import g


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
