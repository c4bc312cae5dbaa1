"""Linear recurrences h_t = a_t * h_{t-1} + b_t over time: minGRU, minLSTM and a selective SSM (S6).

Not the instrumented loop the trace runs (each layer's `step` below is that loop's cell, and
explorer/trace.py records it) and not training. Training runs every layer as a parallel scan:
minGRU and minLSTM in log space (Feng et al. 2024, "Were RNNs All We Needed?", arXiv:2410.01201,
after Heinsen 2023, arXiv:2311.06281); the SSM, whose b_t may be negative and has no real logarithm,
as one autograd node (SelectiveScan) whose forward and backward each loop over time with one fused
multiply-add per step: on one or two CPU cores that beat the chunked cumulative-sum scan it replaced
(docs/benchmarks.md). Tests prove the trace's loop reproduces each scan, values and gradients.

Gates depend on x_t only, never on h_{t-1}: that is what makes the scan possible.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from explorer.cells import CELLS

LOG_CHUNK = 64  # steps per log-space chunk: bounds the cancellation in a_star + logcumsumexp(...)
CONV_KERNEL = 4  # Mamba's causal depthwise convolution width (d_conv)


def g(x: torch.Tensor) -> torch.Tensor:
    """Feng et al.'s positive activation for the candidate h~: x + 0.5 for x >= 0, sigma(x) below."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: torch.Tensor) -> torch.Tensor:
    """log g(x), computed without forming g(x): log(x + 0.5) for x >= 0, -softplus(-x) below."""
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), -F.softplus(-x))


def log_scan(log_a: torch.Tensor, log_b: torch.Tensor, chunk: int = LOG_CHUNK) -> torch.Tensor:
    """h_t = a_t h_{t-1} + b_t with h_{-1} = 0, for a_t, b_t > 0 given as logs (B, T, H); -> h (B, T, H).

    Within a chunk: log h_t = a*_t + logcumsumexp(log b_k - a*_k), a*_t = sum_{k<=t} log a_k (Heinsen's
    scan); the state entering a chunk is one more term. Chunks keep a*_t, and with it the rounding
    error of the sum, small on long sequences.
    """
    out, log_h = [], None
    for la, lb in zip(log_a.split(chunk, dim=1), log_b.split(chunk, dim=1)):  # (B, C, H); split, not slices,
        #                                               whose backward fills a zero tensor of all T per chunk
        a_star = la.cumsum(dim=1)  # (B, C, H)
        terms = lb - a_star
        if log_h is not None:  # the carried state, decayed by a*_t like every earlier term
            terms = torch.cat([log_h.unsqueeze(1), terms], dim=1)  # (B, 1 + C, H)
            log_chunk = a_star + torch.logcumsumexp(terms, dim=1)[:, 1:]
        else:
            log_chunk = a_star + torch.logcumsumexp(terms, dim=1)
        out.append(log_chunk)
        log_h = log_chunk[:, -1]
    return torch.cat(out, dim=1).exp()


class MinGRU(nn.Module):
    """One minGRU layer. z_t = sigma(W_z x_t + b_z); h~_t = g(W_h x_t + b_h);
    h_t = (1 - z_t) * h_{t-1} + z_t * h~_t, h_{-1} = 0."""

    gates = CELLS["mingru"].gates

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.linear = nn.Linear(input_size, 2 * hidden_size)  # rows: z, then h~

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, pre = self.linear(x).chunk(2, dim=-1)  # (B, T, H) each
        # log(1 - z) = -softplus(k), log z = -softplus(-k)
        return log_scan(-F.softplus(k), -F.softplus(-k) + log_g(pre))

    def step(self, xw: torch.Tensor, h: torch.Tensor):
        """One step of the trace loop; xw = linear(x_t) (B, 2H). -> (h_t, {"z": z_t})."""
        k, pre = xw.chunk(2, dim=-1)
        z = torch.sigmoid(k)
        return (1 - z) * h + z * g(pre), {"z": z}


class MinLSTM(nn.Module):
    """One minLSTM layer. f_t = sigma(W_f x_t + b_f), i_t = sigma(W_i x_t + b_i), h~_t = g(W_h x_t + b_h);
    f'_t = f_t / (f_t + i_t), i'_t = i_t / (f_t + i_t); h_t = f'_t * h_{t-1} + i'_t * h~_t, h_{-1} = 0.
    The trace records the normalised f', i' as "f", "i" (they sum to 1)."""

    gates = CELLS["minlstm"].gates

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.linear = nn.Linear(input_size, 3 * hidden_size)  # rows: f, i, h~

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kf, ki, pre = self.linear(x).chunk(3, dim=-1)  # (B, T, H) each
        diff = F.softplus(-kf) - F.softplus(-ki)  # log i - log f
        return log_scan(-F.softplus(diff), -F.softplus(-diff) + log_g(pre))  # log f', log i' + log h~

    def step(self, xw: torch.Tensor, h: torch.Tensor):
        kf, ki, pre = xw.chunk(3, dim=-1)
        f, i = torch.sigmoid(kf), torch.sigmoid(ki)
        f, i = f / (f + i), i / (f + i)
        return f * h + i * g(pre), {"f": f, "i": i}


def _scan_(h: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """In place along axis 0: h[t] += a[t] * h[t-1], so h_t = a_t * h_{t-1} + b_t for h holding b. -> h."""
    hs, as_ = h.unbind(0), a.unbind(0)  # views of every step at once: cheaper than indexing twice per step
    for t in range(1, len(hs)):
        hs[t].addcmul_(as_[t], hs[t - 1])
    return h


def _reverse_scan_(g: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """In place along axis 0, backwards: g[t] += a[t + 1] * g[t + 1] (dL/dh_t through every later step). -> g."""
    gs, as_ = g.unbind(0), a.unbind(0)
    for t in range(len(gs) - 2, -1, -1):
        gs[t].addcmul_(as_[t + 1], gs[t + 1])
    return g


class SelectiveScan(torch.autograd.Function):
    """y_t = C_t h_t with h_t = A-bar_t * h_{t-1} + B-bar_t u_t, h_{-1} = 0: the S6 scan in one autograd node.

    A-bar_t = exp(Delta_t A), B-bar_t u_t = Delta_t u_t B_t, per channel e and state n; inputs u, delta (B, T, E),
    A (E, N), B, C (B, T, N); -> y (B, T, E). The gradient is the scan's own, derived by hand: g_t = dL/dh_t
    = C_t dy_t + A-bar_{t+1} g_{t+1} (the same recurrence, run backwards), then dB-bar u_t = g_t and
    d log A-bar_t = g_t * A-bar_t * h_{t-1}; tests compare both with autograd through the explicit loop.

    Why not autograd over tensor ops: on a CPU of one or two cores the fastest scan is the plain loop
    (one fused multiply-add per step, T small ops), which autograd would record step by step; and the
    (T, B, N, E) internals are laid out with E innermost, since broadcasts over a last axis of N (8 here)
    ran 3x slower. Only A-bar and h are kept for the backward, both (T, B, N, E).
    """

    @staticmethod
    def forward(ctx, u, delta, A, B, C):
        u, delta, B, C = (v.transpose(0, 1).contiguous() for v in (u, delta, B, C))  # (T, B, E), (T, B, N)
        A = A.t().contiguous()  # (N, E)
        a = torch.mul(delta.unsqueeze(-2), A).exp_()  # A-bar (T, B, N, E)
        h = _scan_((delta * u).unsqueeze(-2) * B.unsqueeze(-1), a)  # (T, B, N, E), from B-bar u
        y = (h * C.unsqueeze(-1)).sum(-2)  # (T, B, E)
        ctx.save_for_backward(u, delta, A, B, C, a, h)
        return y.transpose(0, 1)

    @staticmethod
    @once_differentiable
    def backward(ctx, dy):
        # every (T, B, N, E) product goes into one scratch tensor, and d log A-bar into g's: each new
        # tensor of that size costs page faults, as much as the arithmetic on it
        u, delta, A, B, C, a, h = ctx.saved_tensors
        dy = dy.transpose(0, 1).contiguous()  # (T, B, E)
        g = _reverse_scan_(dy.unsqueeze(-2) * C.unsqueeze(-1), a)  # dL/dh_t (T, B, N, E)
        scratch = torch.mul(h, dy.unsqueeze(-2))
        dC = scratch.sum(-1)  # (T, B, N)
        d_du = torch.mul(g, B.unsqueeze(-1), out=scratch).sum(-2)  # dL/d(Delta_t u_t) (T, B, E)
        dB = torch.mul(g, (delta * u).unsqueeze(-2), out=scratch).sum(-1)  # (T, B, N)
        d_log_a = g.mul_(a)  # times h_{t-1}, which is 0 at t = 0; g is not needed after this
        d_log_a[0] = 0
        d_log_a[1:] *= h[:-1]
        d_delta = d_du * u + torch.mul(d_log_a, A, out=scratch).sum(-2)  # (T, B, E)
        dA = torch.mul(d_log_a, delta.unsqueeze(-2), out=scratch).sum((0, 1)).t()  # (E, N)
        return (d_du * delta).transpose(0, 1), d_delta.transpose(0, 1), dA, dB.transpose(0, 1), dC.transpose(0, 1)


class SelectiveSSM(nn.Module):
    """The mixer of one Mamba block (Gu & Dao 2023, arXiv:2312.00752), S6 form, expand 1, in plain PyTorch.

    u, r = in_proj(x) split; u = silu(causal depthwise conv(u)); per channel e and state n:
      Delta_t = softplus(dt_proj(W_x u_t) + dt_bias) (E), B_t = W_B u_t (N), C_t = W_C u_t (N)   [selective]
      Delta_t = softplus(dt_bias), B_t = B, C_t = C, fixed parameters                      [time-invariant]
      A = -exp(A_log) (E, N);  A-bar_t = exp(Delta_t A);  B-bar_t = Delta_t B_t
      h_t = A-bar_t * h_{t-1} + B-bar_t * u_t  (E, N);  y_t = h_t C_t + D * u_t
    out = out_proj(y * silu(r)).
    """

    gates = CELLS["ssm"].gates

    def __init__(self, d_model: int, state_size: int, selective: bool = True) -> None:
        super().__init__()
        E, N = d_model, state_size
        self.hidden_size, self.state_size, self.selective = E, N, selective
        self.dt_rank = math.ceil(E / 16)
        self.in_proj = nn.Linear(E, 2 * E)
        self.conv1d = nn.Conv1d(E, E, CONV_KERNEL, groups=E, padding=CONV_KERNEL - 1)  # Mamba's; see causal_conv
        if selective:
            self.x_proj = nn.Linear(E, self.dt_rank + 2 * N, bias=False)
            self.dt_proj = nn.Linear(self.dt_rank, E, bias=False)
        else:
            self.B = nn.Parameter(torch.randn(N) / math.sqrt(N))
            self.C = nn.Parameter(torch.randn(N) / math.sqrt(N))
        # Mamba's init: Delta between 1e-3 and 1e-1 (log-uniform), A_n = -(n + 1) (S4D-real)
        dt = torch.exp(torch.rand(E) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))  # inverse softplus
        self.A_log = nn.Parameter(torch.log(torch.arange(1, N + 1, dtype=torch.float32)).repeat(E, 1))  # (E, N)
        self.D = nn.Parameter(torch.ones(E))
        self.out_proj = nn.Linear(E, E)

    def selection(self, x: torch.Tensor):
        """x (B, T, E) -> u (B, T, E), r (B, T, E), delta (B, T, E), B_t (B, T, N), C_t (B, T, N): all but the scan."""
        u, r = self.in_proj(x).chunk(2, dim=-1)  # (B, T, E) each
        u = F.silu(self.causal_conv(u))
        if self.selective:
            dt, B, C = self.x_proj(u).split([self.dt_rank, self.state_size, self.state_size], dim=-1)
            delta = F.softplus(self.dt_proj(dt) + self.dt_bias)  # (B, T, E)
        else:
            delta = F.softplus(self.dt_bias).expand_as(u)
            B = self.B.expand(*u.shape[:2], -1)  # (B, T, N)
            C = self.C.expand(*u.shape[:2], -1)
        return u, r, delta, B, C

    def causal_conv(self, u: torch.Tensor) -> torch.Tensor:
        """conv1d's depthwise convolution of u (B, T, E) over time, causal (output t reads inputs t-3..t),
        as K shifted multiply-adds with its weight and bias: cheaper than conv1d for one small kernel per channel."""
        T, K = u.shape[1], CONV_KERNEL
        padded = F.pad(u, (0, 0, K - 1, 0))  # (B, K - 1 + T, E): zeros before t = 0
        w = self.conv1d.weight[:, 0]  # (E, K); conv1d cross-correlates: w[:, k] meets input t - (K - 1) + k
        out = torch.addcmul(self.conv1d.bias, padded[:, :T], w[:, 0])
        for k in range(1, K):
            out = torch.addcmul(out, padded[:, k:k + T], w[:, k])
        return out  # (B, T, E)

    def discretize(self, u, delta, B):
        """-> log A-bar (.., E, N) and B-bar u (.., E, N) for u, delta (.., E) and B (.., N)."""
        A = -torch.exp(self.A_log)  # (E, N)
        return delta.unsqueeze(-1) * A, (delta * u).unsqueeze(-1) * B.unsqueeze(-2)

    def readout(self, h, u, r, C):
        """h (.., E, N), C (.., N) -> out_proj((h C + D u) * silu(r)) (.., E)."""
        return self.gated_output((h * C.unsqueeze(-2)).sum(-1), u, r)

    def gated_output(self, hC, u, r):
        """hC = h_t C_t (.., E) -> out_proj((h C + D u) * silu(r)) (.., E)."""
        return self.out_proj((hC + self.D * u) * F.silu(r))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u, r, delta, B, C = self.selection(x)
        return self.gated_output(SelectiveScan.apply(u, delta, -torch.exp(self.A_log), B, C), u, r)


class ScanModel(nn.Module):
    """minGRU / minLSTM: stacked layers like nn.GRU's (layer k reads layer k-1's h_t), a linear head.
    ssm: a linear embedding, Mamba blocks x + mixer(LayerNorm(x)), a final LayerNorm, a linear head."""

    def __init__(self, arch: str, input_size: int, hidden_size: int, output_size: int, num_layers: int = 1,
                 state_size: int = 16, selective: bool = True) -> None:
        super().__init__()
        self.arch = arch
        H = hidden_size
        if arch == "ssm":
            self.embed = nn.Linear(input_size, H)
            self.norms = nn.ModuleList(nn.LayerNorm(H) for _ in range(num_layers))
            self.layers = nn.ModuleList(SelectiveSSM(H, state_size, selective) for _ in range(num_layers))
            self.norm_f = nn.LayerNorm(H)
        else:
            cell = MinGRU if arch == "mingru" else MinLSTM
            self.layers = nn.ModuleList(cell(input_size if k == 0 else H, H) for k in range(num_layers))
        self.head = nn.Linear(H, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.arch != "ssm":
            for layer in self.layers:
                x = layer(x)  # (B, T, H)
            return self.head(x)  # (B, T, O)
        x = self.embed(x)  # (B, T, H)
        for norm, layer in zip(self.norms, self.layers):
            x = x + layer(norm(x))
        return self.head(self.norm_f(x))
