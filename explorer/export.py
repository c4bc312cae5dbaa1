"""Run.to_script(): a standalone, readable PyTorch script (torch and numpy only) that builds the same model,
task data generator and optimizer as a run and trains it with the same seed, so its losses are the app's.

Only text: nothing here runs the script (tests/test_export.py does). Not the run file (explorer/checkpoint.py).
"""
from __future__ import annotations

EXPORT_ARCHS = ("rnn", "lstm", "gru")
EXPORT_TASKS = ("adding", "copy", "recall", "parity")

# Each task's generator, as explorer/tasks draws it (the same calls on the same generator, in the same order).
TASK_CODE = {
    "adding": '''
INPUT_SIZE, OUTPUT_SIZE, KIND = 2, 1, "regress"


def sample(batch_size, generator):
    """Adding problem (Hochreiter & Schmidhuber 1997): x (B, T, 2) = value, marker; y (B, T, 1), NaN but at the last step."""
    B, T = batch_size, SEQ_LEN
    values = torch.rand(B, T, generator=generator)  # (B, T)
    half = T // 2
    first = torch.randint(0, half, (B,), generator=generator)
    second = half + torch.randint(0, T - half, (B,), generator=generator)
    marks = torch.zeros(B, T)
    rows = torch.arange(B)
    marks[rows, first] = 1.0
    marks[rows, second] = 1.0
    y = torch.full((B, T, 1), float("nan"))
    y[:, -1, 0] = (values * marks).sum(1)
    return torch.stack([values, marks], -1), y
''',
    "copy": '''
INPUT_SIZE, OUTPUT_SIZE, KIND = 10, 8, "classify"
BLANK, DELIMITER = 8, 9


def sample(batch_size, generator):
    """Copy memory (Arjovsky, Shah & Bengio 2016): k symbols, blanks, a delimiter; answer the k symbols at the end."""
    T = SEQ_LEN
    k = min(5, max(1, (T - 1) // 3))
    delimiter = max(k, T - k - 1)
    symbols = torch.randint(0, 8, (batch_size, k), generator=generator)  # (B, k)
    index = torch.full((batch_size, T), BLANK)
    index[:, :k] = symbols
    index[:, delimiter] = DELIMITER
    y = torch.full((batch_size, T), IGNORE)
    y[:, T - k:] = symbols
    return F.one_hot(index, INPUT_SIZE).float(), y  # (B, T, 10), (B, T)
''',
    "recall": '''
INPUT_SIZE, OUTPUT_SIZE, KIND = 9, 4, "classify"
QUERY = 8


def sample(batch_size, generator):
    """Recall the key: one key A-D (channels 0-3), distractors (4-7), a query (8) at the last step."""
    T = SEQ_LEN
    delay = 1 + torch.randint(0, T - 1, (batch_size,), generator=generator)  # (B,) steps from key to query
    key = torch.randint(0, 4, (batch_size,), generator=generator)  # (B,)
    index = 4 + torch.randint(0, 4, (batch_size, T), generator=generator)  # (B, T) distractors
    index[torch.arange(batch_size), T - 1 - delay] = key
    index[:, -1] = QUERY
    y = torch.full((batch_size, T), IGNORE)
    y[:, -1] = key
    return F.one_hot(index, INPUT_SIZE).float(), y  # (B, T, 9), (B, T)
''',
    "parity": '''
INPUT_SIZE, OUTPUT_SIZE, KIND = 1, 2, "classify"


def sample(batch_size, generator):
    """Running parity: random bits; at every step, the parity of the ones so far."""
    bits = torch.randint(0, 2, (batch_size, SEQ_LEN), generator=generator)  # (B, T)
    return bits.float().unsqueeze(-1), bits.cumsum(1) % 2  # (B, T, 1), (B, T)
''',
}

OPTIMIZERS = {
    "adam": "torch.optim.Adam(params, lr=LR)",
    "sgd": "torch.optim.SGD(params, lr=LR, momentum=0.9)",
    "rmsprop": "torch.optim.RMSprop(params, lr=LR)",
}

TEMPLATE = '''"""{title}: {arch} on the {task} task, exported from RNN Explorer (Run.to_script()).

Standalone: torch and numpy only. It builds the same model, data generator and optimizer as the app's run and
trains it with the same seed, printing the loss of every step (the app's history holds the same numbers).
Run it: python this_file.py [steps]
"""
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SEED = {seed}
SEQ_LEN = {seq_len}  # T
HIDDEN_SIZE = {hidden_size}  # H
NUM_LAYERS = {num_layers}
BIDIRECTIONAL = {bidirectional}
NONLINEARITY = "{nonlinearity}"  # rnn only
INIT = "{init}"  # default | orthogonal | identity
FORGET_BIAS = {forget_bias}  # LSTM b_if + b_hf; None keeps torch's default
BATCH_SIZE = {batch_size}
LR = {lr!r}
LR_CHANGES = {lr_changes}  # {{step: lr}}: from the step after `step` on, the learning rate changed to lr
CLIP_GRAD_NORM = {clip}  # None = off
BPTT = {bptt}  # truncated backpropagation through time: the state is detached every BPTT steps; None = full
STEPS = {steps}  # the app's run had taken this many steps
IGNORE = -100  # class target at a step the loss does not look at
{task_code}

class RecurrentModel(nn.Module):
    """torch's fused nn.{module} (batch_first) and a linear head on every step's top-layer output."""

    def __init__(self):
        super().__init__()
        extra = {{"nonlinearity": NONLINEARITY}} if nn.{module} is nn.RNN else {{}}
        self.rnn = nn.{module}(INPUT_SIZE, HIDDEN_SIZE, num_layers=NUM_LAYERS, bidirectional=BIDIRECTIONAL,
                               batch_first=True, **extra)
        self.head = nn.Linear(HIDDEN_SIZE * (2 if BIDIRECTIONAL else 1), OUTPUT_SIZE)

    def forward(self, x):
        if BPTT is None:
            out, _ = self.rnn(x)  # (B, T, D*H)
        else:  # chunks of BPTT steps, each starting from the last one's state, detached: no gradient crosses a cut
            outs, state = [], None
            for chunk in x.split(BPTT, dim=1):  # (B, <=BPTT, I)
                out, state = self.rnn(chunk, state)
                outs.append(out)
                state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
            out = torch.cat(outs, dim=1)  # (B, T, H)
        return self.head(out)  # (B, T, O)


def init_recurrent(rnn):
    """orthogonal: each H x H gate block of weight_hh orthogonal; identity (IRNN, Le et al. 2015): each block I,
    recurrent biases 0; FORGET_BIAS: the LSTM's b_if = b_hf = FORGET_BIAS / 2."""
    H = rnn.hidden_size
    for name, p in rnn.named_parameters():
        with torch.no_grad():
            if name.startswith("weight_hh") and INIT != "default":
                for block in p.split(H, dim=0):  # (H, H) per gate
                    nn.init.orthogonal_(block) if INIT == "orthogonal" else block.copy_(torch.eye(H))
            if name.startswith("bias") and INIT == "identity":
                p.zero_()
            if name.startswith("bias") and FORGET_BIAS is not None and isinstance(rnn, nn.LSTM):
                p[H: 2 * H] = FORGET_BIAS / 2


def loss_fn(output, y):
    if KIND == "classify":
        return F.cross_entropy(output.reshape(-1, output.shape[-1]), y.reshape(-1), ignore_index=IGNORE)
    mask = ~torch.isnan(y)
    return F.mse_loss(output[mask], y[mask])


def main(steps):
    torch.manual_seed(SEED)  # the weights come from the global generator, seeded
    model = RecurrentModel()
    init_recurrent(model.rnn)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = {optimizer}
    generator = torch.Generator().manual_seed(SEED)  # training batches: their own generator
    set_lr(optimizer, LR_CHANGES.get(0, LR))
    losses = []
    for step in range(1, steps + 1):
        x, y = sample(BATCH_SIZE, generator)
        loss = loss_fn(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.cat([p.grad.reshape(-1) for p in params if p.grad is not None]).norm()  # before clipping
        if not (math.isfinite(loss.item()) and math.isfinite(norm.item())):
            print(f"step {{step}}: diverged (loss {{loss.item()}})")
            break
        if CLIP_GRAD_NORM is not None:
            torch.nn.utils.clip_grads_with_norm_(params, CLIP_GRAD_NORM, norm)
        optimizer.step()
        losses.append(loss.item())
        print(f"step {{step}} loss {{loss.item()!r}}")
        if step in LR_CHANGES:
            set_lr(optimizer, LR_CHANGES[step])
    return np.array(losses)


def set_lr(optimizer, lr):
    for group in optimizer.param_groups:
        group["lr"] = lr


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else max(STEPS, 100))
'''


def exportable(config) -> str | None:
    """None when to_script() can write this run; else why not (for the page)."""
    if config.arch not in EXPORT_ARCHS:
        return f"Export as code covers {', '.join(a.upper() for a in EXPORT_ARCHS)}; not {config.arch}."
    if config.task not in EXPORT_TASKS:
        return f"Export as code covers the tasks {', '.join(EXPORT_TASKS)}; not {config.task}."
    return None


def to_script(run) -> str:
    """The run as a standalone PyTorch script (see the module docstring). ValueError for what it cannot export."""
    c = run.config
    why = exportable(c)
    if why:
        raise ValueError(why)
    changes = dict(run.history.lr_changes)  # a change after step s applies from step s + 1 (s = 0: from the start)
    return TEMPLATE.format(
        title="RNN Explorer run", arch=c.arch.upper(), task=c.task, seed=c.seed, seq_len=c.seq_len,
        hidden_size=c.hidden_size, num_layers=c.num_layers, bidirectional=c.bidirectional,
        nonlinearity=c.nonlinearity, init=c.init, forget_bias=c.forget_bias, batch_size=c.batch_size, lr=c.lr,
        lr_changes=changes, clip=c.clip_grad_norm, bptt=c.bptt, steps=run.step, task_code=TASK_CODE[c.task],
        module={"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}[c.arch], optimizer=OPTIMIZERS[c.optimizer],
    )
