"""The SSM's training step against the one it replaced: `python -m explorer.bench --scan`.

Old: conv1d for the causal convolution and the chunked cumulative-sum scan under autograd. New: the shipped
SelectiveSSM (shifted multiply-adds for the convolution, SelectiveScan).

Prints figures, asserts nothing. Both steps are Run.train_step on the same config (the selective_copying
lesson's SSMs by default), measured interleaved in one process: rounds of `steps` steps each, the old
forward patched onto the SSM layers of one run, the shipped one on the other's. The ratio is old
CPU seconds per step over new (median of the rounds), so a burst of load elsewhere spoils one round.
Run it under ATEN_CPU_CAPABILITY=default too: torch's plainest kernels.
"""
from __future__ import annotations

import statistics
import time
import types

import torch

from explorer.config import RunConfig
from explorer.presets import PRESETS
from explorer.run import Run

SSM_CHUNK = 4  # steps per chunk of the old scan: exp(-S) within a chunk stays below exp(4 * 20)
LOG_A_MIN = -20.0  # its per-step log A-bar floor


def chunked_ssm_scan(log_a: torch.Tensor, b: torch.Tensor, chunk: int = SSM_CHUNK) -> torch.Tensor:
    """The scan SelectiveScan replaced (autograd over tensor ops), kept as the baseline of this benchmark.

    h_t = exp(log_a_t) * h_{t-1} + b_t, h_{-1} = 0, elementwise (B, T, E, N). Within a chunk, with S_t the
    sum of log_a up to t: h_t = exp(S_t) * (h_in + sum_{k<=t} exp(-S_k) b_k), two cumulative sums; a loop
    carries h between chunks. log_a is clamped at LOG_A_MIN so that exp(-S) never overflows float32.
    """
    log_a = log_a.clamp(min=LOG_A_MIN)
    out, h = [], b.new_zeros(b.shape[0], *b.shape[2:])  # h (B, E, N)
    for la, bc in zip(log_a.split(chunk, dim=1), b.split(chunk, dim=1)):
        s = la.cumsum(dim=1)  # (B, C, E, N)
        hc = s.exp() * (h.unsqueeze(1) + (torch.exp(-s) * bc).cumsum(dim=1))  # (B, C, E, N)
        out.append(hc)
        h = hc[:, -1]
    return torch.cat(out, dim=1)


def _conv1d_causal(layer, u: torch.Tensor) -> torch.Tensor:
    """SelectiveSSM.causal_conv as it was: conv1d itself, keeping the first T outputs (causal)."""
    return layer.conv1d(u.transpose(1, 2))[..., :u.shape[1]].transpose(1, 2)


def _chunked_forward(layer, x: torch.Tensor) -> torch.Tensor:
    """SelectiveSSM.forward as it was: conv1d, discretize to (B, T, E, N), the chunked scan, the readout."""
    u, r, delta, B, C = layer.selection(x)  # its causal_conv is conv1d's (chunked_run)
    log_a, bu = layer.discretize(u, delta, B)  # (B, T, E, N) each
    return layer.readout(chunked_ssm_scan(log_a, bu), u, r, C)


def chunked_run(config: RunConfig) -> Run:
    """A Run of `config` whose SSM layers run as before this benchmark's change: conv1d and the chunked scan
    (same weights, batches and optimizer)."""
    run = Run(config)
    for layer in run.model.layers:
        layer.causal_conv = types.MethodType(_conv1d_causal, layer)
        layer.forward = types.MethodType(_chunked_forward, layer)
    return run


def _cpu_per_step(run: Run, steps: int) -> float:
    start = time.process_time()
    run.train(steps)
    return (time.process_time() - start) / steps


def measure(config: RunConfig, rounds: int = 7, steps: int = 20) -> dict:
    """-> old and new CPU ms per step (medians) and old/new (median of per-round ratios)."""
    old, new = chunked_run(config), Run(config)
    old.train(3), new.train(3)  # warm up
    olds, news = [], []
    for _ in range(rounds):
        olds.append(_cpu_per_step(old, steps))
        news.append(_cpu_per_step(new, steps))
    return {"old_ms": 1e3 * statistics.median(olds), "new_ms": 1e3 * statistics.median(news),
            "ratio": statistics.median(o / n for o, n in zip(olds, news))}


def check_same_outputs(config: RunConfig) -> float:
    """Largest difference of the old and new model's outputs on one batch (same weights): the same maths."""
    old, new = chunked_run(config), Run(config)
    x, _ = new.task.sample(8, torch.Generator().manual_seed(0))
    with torch.no_grad():
        return float((old.model(x) - new.model(x)).abs().max())


def sweep_seconds() -> tuple[float, float]:
    """CPU seconds of the Compare page's length sweep for the SSM (recall, matched, every length, SWEEP_STEPS
    steps each), old and new, each config trained old then new: explorer.compare.SWEEP_SECONDS["ssm"]."""
    from explorer.compare import SWEEP_STEPS, sweep_configs

    old_s = new_s = 0.0
    for config in sweep_configs(("ssm",), "recall", seed=0, match=True):
        old_s += _cpu_per_step(chunked_run(config), SWEEP_STEPS) * SWEEP_STEPS
        new_s += _cpu_per_step(Run(config), SWEEP_STEPS) * SWEEP_STEPS
    return old_s, new_s


def main(threads: int = 1, sweep: bool = False) -> None:
    torch.set_num_threads(threads)
    print(f"torch {torch.__version__}, {torch.backends.cpu.get_cpu_capability()}, {threads} thread(s); "
          "CPU ms per Run.train_step, chunked (old) / fused (new)")
    configs = {"selective_copying, selective": PRESETS["selective_copying"].configs[0],
               "selective_copying, time-invariant": PRESETS["selective_copying"].configs[1],
               "induction_heads SSM": PRESETS["induction_heads"].configs[0]}
    for name, config in configs.items():
        r = measure(config)
        print(f"{name:<36} old {r['old_ms']:6.2f}  new {r['new_ms']:6.2f}  old/new {r['ratio']:5.2f}  "
              f"(outputs differ by {check_same_outputs(config):.1e})")
    if sweep:
        old_s, new_s = sweep_seconds()
        print(f"Compare's length sweep, SSM: old {old_s:.1f} CPU s, new {new_s:.1f} CPU s")
