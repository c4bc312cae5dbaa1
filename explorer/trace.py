"""The instrumented time loop: re-runs a batch through the model's own parameters and records every internal.

Not training (explorer/run.py) and not the record it fills (explorer/records.py). Tests prove the
loop reproduces torch's fused forward.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from explorer.cells import CELLS
from explorer.config import SCAN_ARCHS
from explorer.records import Trace

__all__ = ["Trace", "trace_model", "cell_step", "run_direction", "layer_weights"]


def layer_weights(rnn: nn.RNNBase, layer: int, direction: int) -> list[torch.Tensor]:
    """[weight_ih, weight_hh, bias_ih, bias_hh] of one layer and direction (torch's `_l{k}`, `_reverse`)."""
    D = 2 if rnn.bidirectional else 1
    return rnn.all_weights[layer * D + direction]


def cell_step(arch: str, nonlinearity: str, xw: torch.Tensor, h: torch.Tensor, c: torch.Tensor | None,
          w_hh: torch.Tensor, b_hh: torch.Tensor):
    """One step. xw = W_ih x_t + b_ih (B, G*H), precomputed for all t. Returns (h_t, c_t, gates).

    rnn:  h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
    lstm: i, f, g, o = sigma, sigma, tanh, sigma of (W_i* x_t + b_i* + W_h* h_{t-1} + b_h*)
          c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t)
    gru:  r, z = sigma(W_i* x_t + b_i* + W_h* h_{t-1} + b_h*)
          n = tanh(W_in x_t + b_in + r * (W_hn h_{t-1} + b_hn));  h_t = (1 - z) * n + z * h_{t-1}
    """
    hw = h @ w_hh.T + b_hh  # (B, G*H)
    if arch == "rnn":
        pre = xw + hw
        return (torch.tanh(pre) if nonlinearity == "tanh" else torch.relu(pre)), None, {}
    if arch == "lstm":
        i, f, g, o = (xw + hw).chunk(4, dim=-1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g
        return o * torch.tanh(c), c, {"i": i, "f": f, "g": g, "o": o}
    x_r, x_z, x_n = xw.chunk(3, dim=-1)
    h_r, h_z, h_n = hw.chunk(3, dim=-1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h, None, {"r": r, "z": z, "n": n}


def run_direction(rnn: nn.RNNBase, arch: str, layer_input: torch.Tensor, layer: int, direction: int,
                  bptt: int | None = None):
    """One layer, one direction. layer_input (B, T, I_l). Returns lists over t (input-time order).

    bptt = k (direction 0 only): the state entering steps k, 2k, ... is detached, as the training forward
    (models.truncated) detaches it between chunks; the recorded h_t are the tensors before the cut."""
    if bptt is not None and direction:
        raise ValueError("truncated BPTT (bptt) cuts the forward direction only")
    w_ih, w_hh, b_ih, b_hh = layer_weights(rnn, layer, direction)
    B, T, _ = layer_input.shape
    xw = layer_input @ w_ih.T + b_ih  # (B, T, G*H)
    h = layer_input.new_zeros(B, rnn.hidden_size)
    c = torch.zeros_like(h) if arch == "lstm" else None
    hs, cs, gates = [None] * T, [None] * T, [None] * T
    order = range(T - 1, -1, -1) if direction else range(T)
    nonlinearity = getattr(rnn, "nonlinearity", "tanh")
    steps = xw.unbind(1)  # views of every t at once: backward stacks their gradients into one buffer,
    # where xw[:, t] would allocate a zero-filled (B, T, G*H) gradient per step
    for t in order:
        if bptt is not None and t and t % bptt == 0:  # a cut: the value carries on, its gradient stops here
            h, c = h.detach(), (c.detach() if c is not None else None)
        h, c, g = cell_step(arch, nonlinearity, steps[t], h, c, w_hh, b_hh)
        hs[t], cs[t], gates[t] = h, c, g
    return hs, cs, gates


def _norm(g: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Batch mean of ||g|| over the last axis, in float64: near divergence the squares overflow float32."""
    norms = g.double().norm(dim=-1)
    return (norms.mean() if dim is None else norms.mean(dim=dim)).float()


def _stack(per_layer: list[list[list[torch.Tensor]]]) -> np.ndarray:
    """[layer][direction][t] of (B, H) -> (L, D, B, T, H)."""
    return np.stack([np.stack([torch.stack(ts, dim=1).detach().numpy() for ts in dirs]) for dirs in per_layer])


def trace_recurrent(model, x: torch.Tensor, y: torch.Tensor, loss_fn):
    """-> dict of Trace fields for a RecurrentModel on inputs x (B, T, I) and targets y.

    Under truncated BPTT (model.bptt = k) the loop cuts where training does, so grad_norm and input_grad are
    the gradients training uses: exactly zero for a step whose chunk of k holds no scored step."""
    rnn, arch, bptt = model.rnn, model.arch, getattr(model, "bptt", None)
    D = 2 if rnn.bidirectional else 1
    hidden, cells, gates = [], [], []
    x = x.detach().requires_grad_(True)  # the backward pass below runs to x, through every h_t
    layer_input = x
    for layer in range(rnn.num_layers):
        runs = [run_direction(rnn, arch, layer_input, layer, d, bptt) for d in range(D)]
        hidden.append([r[0] for r in runs])
        cells.append([r[1] for r in runs])
        gates.append([r[2] for r in runs])
        layer_input = torch.cat([torch.stack(r[0], dim=1) for r in runs], dim=-1)  # (B, T, D*H)
    predictions = model.head(layer_input)  # (B, T, O)
    loss = loss_fn(predictions, y)
    flat = [h for dirs in hidden for ts in dirs for h in ts]
    # Each h_t's gradient is reduced to its norm as soon as it is known (a hook), not returned: returned
    # gradients can hold large shared buffers alive (measured: RNN 4 x 2 layers, H=119, T=400, 1.7 GB).
    norms = [torch.zeros(())] * len(flat)
    for i, h in enumerate(flat):
        h.register_hook(lambda g, i=i: norms.__setitem__(i, _norm(g)))
    (dx,) = torch.autograd.grad(loss, x)  # (B, T, I): ||dL/dx_t||, the one measure alike for every architecture
    T = x.shape[1]
    grad_norm = torch.stack(norms).reshape(rnn.num_layers, D, T).numpy()  # (L, D, T)
    names = CELLS[arch].gates
    return dict(
        hidden=_stack(hidden),
        cell=_stack(cells) if arch == "lstm" else None,
        gates={k: _stack([[[g[k] for g in ts] for ts in dirs] for dirs in gates]) for k in names},
        grad_norm=grad_norm, input_grad=_norm(dx, dim=0).numpy(), attention=None,
        predictions=predictions.detach().numpy(), loss=float(loss.detach()),
    )


def trace_transformer(model, x: torch.Tensor, y: torch.Tensor, loss_fn):
    """-> dict of Trace fields for a TinyTransformer: block outputs as 'hidden', attention per head.

    grad_norm[l] is ||dL/d(input of block l)|| per position (block 0's input is the embedding): how
    strongly the loss reaches back to each input step through attention. At the last block's output
    only the positions the loss scores would have a gradient, which says nothing about memory.
    """
    predictions, states, attention = model.forward_internals(x, need_weights=True)
    loss = loss_fn(predictions, y)
    *grads, dx = torch.autograd.grad(loss, states[:-1] + [x])
    grad_norm = torch.stack([_norm(g, dim=0) for g in grads])[:, None]  # (L, 1, T)
    return dict(
        hidden=torch.stack(states[1:])[:, None].detach().numpy(),  # (L, 1, B, T, H)
        cell=None, gates={}, grad_norm=grad_norm.numpy(), input_grad=_norm(dx, dim=0).numpy(),
        attention=torch.stack(attention).transpose(1, 2).detach().numpy(),  # (L, nh, B, T, T)
        predictions=predictions.detach().numpy(), loss=float(loss.detach()),
    )


def _loop_min(layer, layer_input: torch.Tensor):
    """minGRU / minLSTM, one step at a time through layer.step. -> [h_t], [h_t] (the state), [gates_t]."""
    xw = layer.linear(layer_input)  # (B, T, G*H): gates depend on x_t only
    h = layer_input.new_zeros(layer_input.shape[0], layer.hidden_size)
    hs, gates = [], []
    for t in range(layer_input.shape[1]):
        h, g = layer.step(xw[:, t], h)
        hs.append(h)
        gates.append(g)
    return hs, hs, gates


def _loop_ssm(layer, layer_input: torch.Tensor):
    """The selective SSM, one step at a time: h_t = A-bar_t * h_{t-1} + B-bar_t u_t, h (B, E, N).

    -> [block output_t (B, E)], [h_t (B, E, N)], [gates_t]: delta (B, E), and the selection
    magnitudes ||B_t||, ||C_t|| (B, N -> norm over N), the same for every channel.
    """
    u, r, delta, B, C = layer.selection(layer_input)  # (B, T, E) x3, (B, T, N) x2: from the inputs only
    log_a, bu = layer.discretize(u, delta, B)  # (B, T, E, N)
    h = bu.new_zeros(bu.shape[0], *bu.shape[2:])  # (B, E, N)
    states, gates = [], []
    E = layer.hidden_size
    # everything that does not depend on h_{t-1} is computed for all t at once, outside the loop
    a, bu = log_a.exp().unbind(1), bu.unbind(1)  # A-bar_t, B-bar_t u_t: T x (B, E, N)
    B_norm = B.norm(dim=-1, keepdim=True).expand(-1, -1, E).unbind(1)  # T x (B, E)
    C_norm = C.norm(dim=-1, keepdim=True).expand(-1, -1, E).unbind(1)
    for t, delta_t in enumerate(delta.unbind(1)):
        h = a[t] * h + bu[t]
        states.append(h)
        gates.append({"delta": delta_t, "B": B_norm[t], "C": C_norm[t]})
    out = layer.readout(torch.stack(states, dim=1), u, r, C)  # (B, T, E)
    return list(out.unbind(dim=1)), states, gates


def trace_scan(model, x: torch.Tensor, y: torch.Tensor, loss_fn):
    """-> dict of Trace fields for a ScanModel, by an explicit time loop on its own parameters.

    minGRU / minLSTM: hidden = h_t; gates z, or f and i (normalised). ssm: hidden = sum over n of the
    state h_t[e, n] (the (E, N) state, summed per channel); gates delta, B, C (see _loop_ssm).
    grad_norm[t] = ||dL/dh_t|| of the recurrent state (for the ssm all of (E, N)), through later steps.
    """
    ssm = model.arch == "ssm"
    hidden, states, gates = [], [], []
    h = model.embed(x) if ssm else x  # (B, T, H)
    for k, layer in enumerate(model.layers):
        outs, hs, gs = _loop_ssm(layer, model.norms[k](h)) if ssm else _loop_min(layer, h)
        out = torch.stack(outs, dim=1)  # (B, T, H)
        h = h + out if ssm else out
        hidden.append([[s.sum(-1) for s in hs] if ssm else hs])
        states.append(hs)
        gates.append([gs])
    predictions = model.head(model.norm_f(h) if ssm else h)  # (B, T, O)
    loss = loss_fn(predictions, y)
    flat = [s for hs in states for s in hs]
    *grads, dx = torch.autograd.grad(loss, flat + [x], allow_unused=True)  # dx (B, T, I): the input_grad line
    norms = [_norm(g.flatten(1)) if g is not None else torch.zeros(()) for g in grads]
    grad_norm = torch.stack(norms).reshape(len(model.layers), 1, x.shape[1]).numpy()  # (L, 1, T)
    names = CELLS[model.arch].gates
    return dict(
        hidden=_stack(hidden), cell=None,
        gates={k: _stack([[[g[k] for g in ts] for ts in dirs] for dirs in gates]) for k in names},
        grad_norm=grad_norm, input_grad=_norm(dx, dim=0).numpy(),
        attention=None, predictions=predictions.detach().numpy(), loss=float(loss.detach()),
    )


def trace_seq2seq(model, x: torch.Tensor, y: torch.Tensor, loss_fn):
    """-> dict of Trace fields for an EncoderDecoder (explorer/seq2seq.py): at the source steps the encoder's
    states and gates (this module's loop, as for a RecurrentModel), at the target steps the decoder's (its own
    loop, which training runs too); alignment (B, U, S), the attention weights, when the model has attention."""
    rnn, arch, S = model.rnn, model.arch, model.source_len
    source, target_in, mask = model.split(x)
    layer_input, hidden, cells, gates = source, [], [], []
    for layer in range(rnn.num_layers):
        hs, cs, gs = run_direction(rnn, arch, layer_input, layer, 0)
        hidden.append(hs)
        cells.append(cs)
        gates.append(gs)
        layer_input = torch.stack(hs, dim=1)  # (B, S, H)
    final_c = [cs[-1] for cs in cells] if arch == "lstm" else None
    outputs, steps = model.decode(layer_input, [hs[-1] for hs in hidden], final_c, target_in, mask)
    for k in range(rnn.num_layers):
        hidden[k] += [step[0][k] for step in steps]
        cells[k] += [step[1][k] for step in steps] if arch == "lstm" else []
        gates[k] += [step[2][k] for step in steps]
    predictions = torch.cat([outputs.new_zeros(x.shape[0], S, outputs.shape[-1]), outputs], dim=1)  # (B, T, O)
    loss = loss_fn(predictions, y)
    flat = [h for hs in hidden for h in hs]
    norms = [torch.zeros(())] * len(flat)
    for i, h in enumerate(flat):
        h.register_hook(lambda g, i=i: norms.__setitem__(i, _norm(g)))
    (dx,) = torch.autograd.grad(loss, x)
    grad_norm = torch.stack(norms).reshape(rnn.num_layers, 1, x.shape[1]).numpy()  # (L, 1, T)
    names = CELLS[arch].gates
    alignment = torch.stack([step[3] for step in steps], dim=1).detach().numpy() if model.attention else None
    return dict(
        hidden=_stack([[hs] for hs in hidden]), cell=_stack([[cs] for cs in cells]) if arch == "lstm" else None,
        gates={k: _stack([[[g[k] for g in gs]] for gs in gates]) for k in names},
        grad_norm=grad_norm, input_grad=_norm(dx, dim=0).numpy(), attention=None, alignment=alignment,
        predictions=predictions.detach().numpy(), loss=float(loss.detach()),
    )


def trace_model(model, x: torch.Tensor, y: torch.Tensor, loss_fn) -> dict:
    """Trace fields that depend on the model; Run.trace() adds inputs, targets, step and labels.

    input_grad (T,) is ||dL/dx_t|| at the inputs themselves: the one measure of how strongly the loss
    reaches back to each input step that means the same for every architecture.
    """
    x = x.detach().requires_grad_(True)  # a leaf of our own: the caller's tensor is left as it was
    with torch.enable_grad():
        arch = getattr(model, "arch", None)
        if arch == "transformer":
            return trace_transformer(model, x, y, loss_fn)
        if arch in SCAN_ARCHS:
            return trace_scan(model, x, y, loss_fn)
        if hasattr(model, "decoder"):
            return trace_seq2seq(model, x, y, loss_fn)
        return trace_recurrent(model, x, y, loss_fn)
