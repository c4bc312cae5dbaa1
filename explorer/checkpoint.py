"""Reading a saved run safely: torch.load(weights_only=True), then every field checked.

Not the writing side (Run.save). A foreign, truncated or tampered file raises ValueError.
"""
from __future__ import annotations

import io
import math
from pathlib import Path
from typing import BinaryIO

import torch

from explorer.config import RunConfig
from explorer.history import History

FORMAT = "rnn-explorer-run"
VERSION = 1
KEYS = {"format", "version", "config", "model", "optimizer", "history", "generator", "step", "status", "message", "wall"}


def _load(source: str | Path | BinaryIO | bytes) -> dict:
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    try:
        state = torch.load(source, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ValueError(f"no such file: {source}") from None
    except Exception as error:  # pickle, zip and weights_only errors all mean: not our file
        raise ValueError(f"not an RNN Explorer run file, or a damaged one ({type(error).__name__}: {str(error)[:200]})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError("not an RNN Explorer run file (no 'rnn-explorer-run' header)")
    if state.get("version") != VERSION:
        raise ValueError(f"run file version {state.get('version')!r} is not supported (expected {VERSION})")
    missing = KEYS - set(state)
    if missing:
        raise ValueError(f"run file is missing: {', '.join(sorted(missing))}")
    return state


def read_checkpoint(run_class, source: str | Path | BinaryIO | bytes):
    """-> a Run restored from a file written by Run.save."""
    state = _load(source)
    if not isinstance(state["config"], dict):
        raise ValueError("run file has a malformed config")
    try:
        config = RunConfig.from_dict(state["config"])
    except (TypeError, ValueError) as error:
        raise ValueError(f"run file has an invalid config: {error}") from None
    run = run_class(config)
    weights = state["model"]
    if not isinstance(weights, dict) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
        raise ValueError("run file has malformed weights")
    if not all(torch.isfinite(v).all() for v in weights.values() if v.is_floating_point()):
        raise ValueError("run file has non-finite weights")
    try:
        run.model.load_state_dict(weights, strict=True)
        run.optimizer.load_state_dict(state["optimizer"])
        run.generator.set_state(state["generator"])
        run.history = History.from_state(state["history"])
    except (RuntimeError, KeyError, TypeError, ValueError) as error:
        raise ValueError(f"run file does not match its config: {str(error)[:300]}") from None
    step, wall = state["step"], state["wall"]
    if not isinstance(step, int) or step < 0 or not isinstance(wall, float) or not math.isfinite(wall):
        raise ValueError("run file has a malformed step count")
    if state["status"] not in ("ok", "diverged") or not isinstance(state["message"], str):
        raise ValueError("run file has a malformed status")
    run.step, run.wall, run.status, run.message = step, wall, state["status"], state["message"]
    return run
