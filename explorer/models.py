"""Models: torch's fused nn.RNN / nn.LSTM / nn.GRU with a linear head, a tiny Transformer encoder, and
the scan models (minGRU, minLSTM, selective SSM: explorer/scan.py).

Not the instrumented time loop (explorer/trace.py reads these same parameters) and not training.
Every model maps inputs x (B, T, I) to per-step outputs (B, T, O).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from explorer.config import SCAN_ARCHS
from explorer.scan import ScanModel
from explorer.seq2seq import EncoderDecoder

RECURRENT = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class RecurrentModel(nn.Module):
    """nn.RNN / nn.LSTM / nn.GRU (batch_first) and a linear head on every step's top-layer output.

    bptt = k: truncated backpropagation through time. The forward pass runs the sequence in chunks of k steps
    and hands each chunk the previous one's final state detached: the same outputs, but no gradient crosses
    from step jk back to step jk - 1 (the trace's loop, explorer/trace.py, cuts at the same steps)."""

    def __init__(self, arch: str, input_size: int, hidden_size: int, output_size: int,
                 num_layers: int = 1, bidirectional: bool = False, nonlinearity: str = "tanh",
                 bptt: int | None = None) -> None:
        super().__init__()
        if bptt is not None and bidirectional:
            raise ValueError("truncated BPTT (bptt) is for one-way models; this one is bidirectional")
        self.arch = arch
        self.bptt = bptt
        extra = {"nonlinearity": nonlinearity} if arch == "rnn" else {}
        self.rnn = RECURRENT[arch](input_size, hidden_size, num_layers=num_layers,
                                   bidirectional=bidirectional, batch_first=True, **extra)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bptt is None:
            out, _ = self.rnn(x)  # (B, T, D*H)
        else:
            out = truncated(self.rnn, x, self.bptt)  # (B, T, H)
        return self.head(out)  # (B, T, O)


def truncated(rnn: nn.RNNBase, x: torch.Tensor, k: int) -> torch.Tensor:
    """Top-layer outputs (B, T, H) of a one-way rnn on x (B, T, I), its state detached every k steps."""
    outs, state = [], None
    for chunk in x.split(k, dim=1):  # (B, <=k, I)
        out, state = rnn(chunk, state)  # state: h_n (L, B, H), or (h_n, c_n) for the LSTM
        outs.append(out)
        state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
    return torch.cat(outs, dim=1)


def sinusoidal_positions(seq_len: int, d_model: int) -> torch.Tensor:
    """(T, d_model) fixed sin/cos positional encoding (Vaswani et al. 2017); works for odd d_model."""
    position = torch.arange(seq_len, dtype=torch.float32).unsqueeze(1)  # (T, 1)
    rate = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10_000.0) / d_model))
    pe = torch.zeros(seq_len, d_model)
    pe[:, 0::2] = torch.sin(position * rate)
    pe[:, 1::2] = torch.cos(position * rate[: d_model // 2])
    return pe


class Block(nn.Module):
    """Pre-norm encoder block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, d_model: int, num_heads: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(d_model)
        self.attn = nn.MultiheadAttention(d_model, num_heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, need_weights: bool = False):
        a = self.ln_1(x)
        a, weights = self.attn(a, a, a, attn_mask=mask, need_weights=need_weights,
                               average_attn_weights=False)  # weights (B, nh, T, T)
        x = x + a
        x = x + self.mlp(self.ln_2(x))
        return x, weights


class TinyTransformer(nn.Module):
    """Input projection + sinusoidal positions, num_layers pre-norm blocks, final LayerNorm, linear head.

    causal=True masks attention to keys s <= t, for tasks that predict step by step.
    """

    def __init__(self, input_size: int, d_model: int, output_size: int, num_layers: int = 1,
                 num_heads: int = 2, causal: bool = True, max_len: int = 1000) -> None:
        super().__init__()
        self.arch = "transformer"
        self.causal = causal
        self.embed = nn.Linear(input_size, d_model)
        self.register_buffer("positions", sinusoidal_positions(max_len, d_model), persistent=False)
        self.blocks = nn.ModuleList(Block(d_model, num_heads) for _ in range(num_layers))
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, output_size)

    def mask(self, seq_len: int) -> torch.Tensor | None:
        if not self.causal:
            return None
        return torch.triu(torch.ones(seq_len, seq_len, dtype=torch.bool), diagonal=1)  # True = may not attend

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_internals(x)[0]

    def forward_internals(self, x: torch.Tensor, need_weights: bool = False):
        """-> (outputs (B, T, O), [embedding, then each block's output: (B, T, d_model)], [attention (B, nh, T, T) or None])."""
        T = x.shape[1]
        h = self.embed(x) + self.positions[:T]  # (B, T, d_model)
        mask = self.mask(T)
        states, attention = [h], []
        for block in self.blocks:
            h, weights = block(h, mask, need_weights)
            states.append(h)
            attention.append(weights)
        return self.head(self.ln_f(h)), states, attention


def _init_recurrent(rnn: nn.RNNBase, init: str, forget_bias: float | None) -> None:
    """orthogonal: each H x H gate block of weight_hh orthogonal. identity (IRNN, Le et al. 2015):
    each gate block of weight_hh = I and recurrent biases 0. forget_bias: LSTM b_if = b_hf = value / 2."""
    H = rnn.hidden_size
    for name, p in rnn.named_parameters():
        with torch.no_grad():
            if name.startswith("weight_hh") and init != "default":
                for block in p.split(H, dim=0):  # (H, H) per gate
                    nn.init.orthogonal_(block) if init == "orthogonal" else block.copy_(torch.eye(H))
            if name.startswith("bias") and init == "identity":
                p.zero_()
            if name.startswith("bias") and forget_bias is not None and isinstance(rnn, nn.LSTM):
                p[H: 2 * H] = forget_bias / 2


def build_model(config, input_size: int, output_size: int, causal: bool, source_len: int | None = None) -> nn.Module:
    """The model a RunConfig describes. Seed the RNG before calling: weights come from it.

    source_len: a sequence-to-sequence task's source steps (explorer/tasks/translate.py); there an RNN, LSTM or
    GRU is an encoder-decoder (explorer/seq2seq.py), with attention when config.attention is on."""
    if source_len is not None and config.arch in RECURRENT:
        model = EncoderDecoder(config.arch, input_size, config.hidden_size, output_size, source_len,
                               config.num_layers, getattr(config, "attention", False), config.nonlinearity)
        for rnn in (model.rnn, model.decoder):
            _init_recurrent(rnn, config.init, config.forget_bias if config.arch == "lstm" else None)
        return model
    if config.arch in SCAN_ARCHS:
        return ScanModel(config.arch, input_size, config.hidden_size, output_size, config.num_layers,
                         config.state_size, config.selective)
    if config.arch == "transformer":
        return TinyTransformer(input_size, config.hidden_size, output_size, config.num_layers,
                               config.num_heads, causal=causal, max_len=max(config.seq_len, 1000))
    model = RecurrentModel(config.arch, input_size, config.hidden_size, output_size,
                           config.num_layers, config.bidirectional, config.nonlinearity, getattr(config, "bptt", None))
    _init_recurrent(model.rnn, config.init, config.forget_bias if config.arch == "lstm" else None)
    return model
