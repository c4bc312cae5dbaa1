"""The encoder-decoder RNN of the translate task, with additive attention or with the context vector alone.

Not the task (explorer/tasks/translate.py, which packs source and target into one sequence) and not the trace's
encoder loop (explorer/trace.py). Reads the packed sequence x (B, S + U, I): an nn.RNN / nn.LSTM / nn.GRU
encoder runs over the S source steps; a decoder of the same kind steps through the U target steps, one at a time:

  attention (Bahdanau, Cho & Bengio 2015, arXiv:1409.0473, section 3.1 and appendix A.1.2), per target step i:
      e_ij = v^T tanh(W_a s_{i-1} + U_a h_j)     (score of source step j; empty source steps are masked out)
      alpha_ij = softmax_j(e_ij);  c_i = sum_j alpha_ij h_j
  no attention (Cho et al. 2014, arXiv:1406.1078, section 2.2): c_i = h_S, the encoder's final state, every step
  then  s_i = cell([y_{i-1}; c_i], s_{i-1}),  output_i = head([s_i; c_i]),  s_0 = the encoder's final state.

Both have the same encoder, decoder and head; attention adds W_a, U_a (with a bias) and v: 2 H^2 + 2 H weights.
Outputs at the source steps are zero (the task scores none of them). Greedy decoding: explorer/evaluate.py.
"""
from __future__ import annotations

import torch
from torch import nn

from explorer.trace import cell_step, layer_weights

RECURRENT = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class Attention(nn.Module):
    """Additive attention: scores v^T tanh(W_a s + U_a h_j) over the source steps."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.query = nn.Linear(hidden_size, hidden_size, bias=False)  # W_a
        self.key = nn.Linear(hidden_size, hidden_size)  # U_a (its bias is the tanh's)
        self.score = nn.Linear(hidden_size, 1, bias=False)  # v

    def forward(self, s: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """s (B, H) the decoder's state, keys = U_a h (B, S, H) precomputed, mask (B, S) True where a word is.
        -> the weights alpha (B, S)."""
        energy = self.score(torch.tanh(self.query(s).unsqueeze(1) + keys)).squeeze(-1)  # (B, S)
        return torch.softmax(energy.masked_fill(~mask, float("-inf")), dim=-1)


class EncoderDecoder(nn.Module):
    """Encoder RNN over the source, decoder RNN over the target (same arch, layers and width), linear head."""

    def __init__(self, arch: str, input_size: int, hidden_size: int, output_size: int, source_len: int,
                 num_layers: int = 1, attention: bool = True, nonlinearity: str = "tanh") -> None:
        super().__init__()
        self.arch, self.source_len, self.attention = arch, source_len, attention
        extra = {"nonlinearity": nonlinearity} if arch == "rnn" else {}
        H = hidden_size
        self.rnn = RECURRENT[arch](input_size, H, num_layers=num_layers, batch_first=True, **extra)  # the encoder
        self.decoder = RECURRENT[arch](input_size + H, H, num_layers=num_layers, batch_first=True, **extra)
        self.align = Attention(H) if attention else None
        self.head = nn.Linear(2 * H, output_size)

    def split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (B, S + U, I) -> source (B, S, I), decoder inputs (B, U, I), mask (B, S) of the steps that hold a word."""
        S = self.source_len
        if x.shape[1] <= S:
            raise ValueError(f"the encoder-decoder needs more than the {S} source steps; got {x.shape[1]}")
        source = x[:, :S]
        return source, x[:, S:], source.abs().sum(-1) > 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        source, target_in, mask = self.split(x)
        out, final = self.rnn(source)  # (B, S, H); h_n (L, B, H), or (h_n, c_n)
        if self.align is None:  # the decoder's inputs are all known: torch's fused loop (the trace runs decode())
            context = out[:, -1:].expand(-1, target_in.shape[1], -1)  # h_S at every step (B, U, H)
            states, _ = self.decoder(torch.cat([target_in, context], dim=-1), final)  # (B, U, H)
            outputs = self.head(torch.cat([states, context], dim=-1))
        else:
            h, c = (final if self.arch == "lstm" else (final, None))
            outputs = self.decode(out, list(h.unbind(0)), None if c is None else list(c.unbind(0)), target_in, mask)[0]
        return torch.cat([outputs.new_zeros(x.shape[0], self.source_len, outputs.shape[-1]), outputs], dim=1)

    @torch.no_grad()
    def alignment(self, x: torch.Tensor) -> torch.Tensor:
        """Attention weights (B, U, S) of each target step on each source step, fed the true digits (teacher forcing)."""
        if self.align is None:
            raise ValueError("this encoder-decoder has no attention")
        source, target_in, mask = self.split(x)
        out, final = self.rnn(source)
        h, c = (final if self.arch == "lstm" else (final, None))
        _, steps = self.decode(out, list(h.unbind(0)), None if c is None else list(c.unbind(0)), target_in, mask)
        return torch.stack([step[3] for step in steps], dim=1)

    def decode(self, annotations: torch.Tensor, h: list[torch.Tensor], c: list[torch.Tensor] | None,
               target_in: torch.Tensor, mask: torch.Tensor):
        """The decoder's loop. annotations (B, S, H): the encoder's top-layer states; h, c: per layer (B, H), the
        encoder's final states; target_in (B, U, I). -> outputs (B, U, O), and per step: states [layer] (B, H),
        cells, gates [layer] {name: (B, H)}, attention weights (B, S) (None without attention)."""
        I = target_in.shape[-1]
        keys = self.align.key(annotations) if self.align is not None else None  # U_a h_j, once (B, S, H)
        fixed = annotations[:, -1]  # h_S: the context vector without attention
        L = self.decoder.num_layers
        w0 = layer_weights(self.decoder, 0, 0)
        w_y, w_c = w0[0][:, :I], w0[0][:, I:]  # weight_ih_l0 = [W_y | W_c]
        xw_y = (target_in @ w_y.T + w0[2]).unbind(1)  # (B, G*H) per step: the fed-back symbol's part, at once
        nonlinearity = getattr(self.decoder, "nonlinearity", "tanh")
        tops, contexts, steps = [], [], []
        for xw in xw_y:
            if self.align is not None:
                alpha = self.align(h[-1], keys, mask)  # (B, S)
                context = torch.bmm(alpha.unsqueeze(1), annotations).squeeze(1)  # (B, H)
            else:
                alpha, context = None, fixed
            layer_in = xw + context @ w_c.T
            gates = []
            for k in range(L):
                w_ih, w_hh, b_ih, b_hh = layer_weights(self.decoder, k, 0)
                if k:
                    layer_in = h[k - 1] @ w_ih.T + b_ih
                h[k], ck, g = cell_step(self.arch, nonlinearity, layer_in, h[k], c[k] if c else None, w_hh, b_hh)
                if c:
                    c[k] = ck
                gates.append(g)
            tops.append(h[-1])
            contexts.append(context)
            steps.append((list(h), list(c) if c else None, gates, alpha))
        outputs = self.head(torch.cat([torch.stack(tops, dim=1), torch.stack(contexts, dim=1)], dim=-1))  # (B, U, O)
        return outputs, steps
