"""A run file's fields, written by Run.save and checked field by field by Run.load.

Not the zip and pickle reading (explorer/runfile.py). Every field is held to the rules a fresh run
of the file's config obeys: the config through RunConfig; weights, optimizer state and generator
with a fresh run's names, shapes and dtypes (checked before any tensor is read) and finite values;
param groups equal to a fresh optimizer's; the history through History.from_state; step, wall time,
status and message within bounds. Anything else raises one ValueError that names the field.
"""
from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from explorer.config import BIDIRECTIONAL_ARCHS, LIMITS, RunConfig, describe
from explorer.history import History
from explorer.runfile import RunFile, TensorRef, contiguous_stride, itemsize, numel

FORMAT = "rnn-explorer-run"
VERSION = 2  # 2: the history's gradient profiles are one tensor (1: nested lists in the pickle)
KEYS = {"format", "version", "config", "model", "optimizer", "history", "generator", "step", "status", "message", "wall"}
SERIES = "series"  # the csv task's values, (N,) float32: in a csv run's file, and in no other
MAX_MESSAGE = 500  # characters of the run's status message
MAX_WALL_S = 1e9  # seconds of training time a file may claim


def run_state(run) -> dict:
    """Everything Run.load needs, as tensors and plain values only."""
    history = run.history.to_state()
    history["profiles"] = torch.from_numpy(history["profiles"]).reshape(-1, *profile_shape(run))
    optimizer = run.optimizer.state_dict()
    for group in optimizer["param_groups"]:  # the config's lr, as a fresh optimizer's: history.lr_changes owns the rest
        group["lr"] = run.config.lr
    state = {
        "format": FORMAT, "version": VERSION, "config": run.config.to_dict(),
        "model": run.model.state_dict(), "optimizer": optimizer,
        "history": history, "generator": run.generator.get_state(),
        "step": run.step, "status": run.status, "message": run.message, "wall": run.wall,
    }
    if run.series is not None:
        state[SERIES] = run.series.clone()
    return state


def profile_shape(run) -> tuple[int, int, int]:
    """(L, D, T) of one gradient-over-time profile (Trace.grad_norm) of this run."""
    c = run.config
    return c.num_layers, 2 if c.bidirectional and c.arch in BIDIRECTIONAL_ARCHS else 1, int(run.probe.shape[1])


def read_checkpoint(run_class, source: str | Path | BinaryIO | bytes):
    """-> a Run restored from a file written by Run.save. Every failure is one ValueError."""
    try:
        with RunFile(source) as file:
            return _read(run_class, file)
    except ValueError:
        raise
    except Exception as error:  # a check this module missed must still not escape as another error
        if out_of_memory(error):
            raise ValueError("run file could not be loaded: its run needs more memory than this process may use") from None
        raise ValueError(f"run file could not be loaded ({type(error).__name__})") from None


def out_of_memory(error: BaseException) -> bool:
    """A MemoryError, or torch's allocator refusing (a RuntimeError) under a process's memory limit."""
    return isinstance(error, MemoryError) or (isinstance(error, RuntimeError) and "can't allocate memory" in str(error))


def _read(run_class, file: RunFile):
    state = file.read_state()
    _check_header(state)
    if not isinstance(state["config"], dict):
        raise ValueError("run file field config must be a dict of RunConfig fields")
    try:
        config = RunConfig.from_dict(state["config"])
    except ValueError as error:
        raise ValueError(f"run file has an invalid config: {str(error)[:300]}") from None
    series_ref, series = _series(state, config, file)
    run = run_class(config, series=series)
    step, wall, status, message = _scalars(state)
    refs = _tensor_refs(state, run)
    if series_ref is not None:
        refs[SERIES] = series_ref
    _check_storages(file, refs)
    history = _history(state["history"], refs, file, run, state["version"], last_step=step, wall=wall, diverged=status == "diverged")
    tensors = {field: file.tensor(ref) for field, ref in refs.items() if field != "history.profiles"}
    for field, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"run file field {field} has non-finite values")
    _restore(run, state, tensors)
    run.history = history
    if history.lr_changes:
        run._apply_lr(history.lr_changes[-1][1])
    run.step, run.wall, run.status, run.message = step, wall, status, message
    return run


def _check_header(state) -> None:
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError("not an RNN Explorer run file (no 'rnn-explorer-run' header)")
    if type(state.get("version")) is not int or state["version"] not in (1, VERSION):
        raise ValueError(f"run file version {describe(state.get('version'))} is not supported (expected {VERSION})")
    if set(state) - {SERIES} != KEYS:
        missing, unknown = sorted(KEYS - set(state)), sorted(describe(key) for key in set(state) - KEYS - {SERIES})[:5]
        raise ValueError(f"run file fields: missing {', '.join(missing) or 'none'}; unknown {', '.join(unknown)[:200] or 'none'}")


def _series(state, config: RunConfig, file: RunFile):
    """(its TensorRef, the values) of a csv run's series, checked as Run checks a series; (None, None) for
    another task, whose file must not carry one."""
    from explorer.tasks.series import MIN_POINTS

    if config.task != "csv":
        if SERIES in state:
            raise ValueError(f"run file field {SERIES} is for the csv task only")
        return None, None
    ref = state.get(SERIES)
    if not isinstance(ref, TensorRef) or len(ref.shape) != 1 or not MIN_POINTS <= ref.shape[0] <= LIMITS.max_series_len:
        raise ValueError(f"run file field {SERIES} must be a float32 tensor of {MIN_POINTS} to {LIMITS.max_series_len:,} values")
    _check_ref(SERIES, ref, tuple(ref.shape), torch.float32)
    values = file.tensor(ref)
    if not bool(torch.isfinite(values).all()):
        raise ValueError(f"run file field {SERIES} has non-finite values")
    return ref, values


def _scalars(state) -> tuple[int, float, str, str]:
    step, wall, status, message = state["step"], state["wall"], state["status"], state["message"]
    if type(step) is not int or not 0 <= step <= LIMITS.max_steps_per_run:
        raise ValueError(f"run file field step must be an integer from 0 to {LIMITS.max_steps_per_run:,}")
    if type(wall) is not float or not 0 <= wall <= MAX_WALL_S:
        raise ValueError(f"run file field wall must be seconds from 0 to {MAX_WALL_S:g}")
    if status not in ("ok", "diverged") or type(status) is not str:
        raise ValueError("run file field status must be 'ok' or 'diverged'")
    if type(message) is not str or len(message) > MAX_MESSAGE or not message.isprintable():
        raise ValueError(f"run file field message must be one line of plain text, at most {MAX_MESSAGE} characters")
    return step, wall, status, message


def _tensor_refs(state, run) -> dict[str, TensorRef]:
    """Field name -> the file's tensor there, each checked against what a fresh run holds."""
    refs: dict[str, TensorRef] = {}
    fresh = run.model.state_dict()
    weights = state["model"]
    if not isinstance(weights, dict) or list(weights) != list(fresh):
        raise ValueError("run file field model must hold exactly the weights a fresh run of its config has, in order")
    for name, tensor in fresh.items():
        refs[f"model.{name}"] = _check_ref(f"model.{name}", weights[name], tuple(tensor.shape), tensor.dtype)
    refs.update(_optimizer_refs(state["optimizer"], run))
    gen = run.generator.get_state()
    refs["generator"] = _check_ref("generator", state["generator"], tuple(gen.shape), gen.dtype)
    history = state["history"]
    if isinstance(history, dict) and isinstance(history.get("profiles"), TensorRef):
        shape = history["profiles"].shape
        if len(shape) != 4 or not 0 <= shape[0] <= LIMITS.max_profiles:
            raise ValueError(f"run file field history.profiles must be (at most {LIMITS.max_profiles}, L, D, T)")
        refs["history.profiles"] = _check_ref("history.profiles", history["profiles"], (shape[0], *profile_shape(run)), torch.float32)
    return refs


def _check_ref(field: str, ref, shape: tuple, dtype: torch.dtype) -> TensorRef:
    """Shape, dtype and a dense layout of its own storage: nothing is read yet."""
    wanted = f"a {str(dtype).removeprefix('torch.')} tensor of shape {shape}"
    if not isinstance(ref, TensorRef):
        raise ValueError(f"run file field {field} must be {wanted}; got {type(ref).__name__}")
    if ref.dtype != dtype or ref.shape != shape:
        raise ValueError(f"run file field {field} must be {wanted}; got {ref.describe()[:200]}")
    if ref.stride != contiguous_stride(shape) or ref.offset != 0 or ref.storage_numel != numel(shape):
        raise ValueError(f"run file field {field} must be a dense tensor with a storage of its own")
    return ref


def _optimizer_refs(saved, run) -> dict[str, TensorRef]:
    """The fresh optimizer's param groups exactly; state tensors with the names and shapes its step makes."""
    fresh = run.optimizer.state_dict()
    if not isinstance(saved, dict) or set(saved) != {"state", "param_groups"}:
        raise ValueError("run file field optimizer must hold state and param_groups")
    if not _same(saved["param_groups"], fresh["param_groups"]):
        raise ValueError("run file field optimizer.param_groups must equal a fresh optimizer's for its config (lr, betas, ...)")
    slots = _state_slots(run.optimizer)
    params = run.params
    if not isinstance(saved["state"], dict) or not all(type(k) is int and 0 <= k < len(params) for k in saved["state"]):
        raise ValueError(f"run file field optimizer.state must map parameter indices 0..{len(params) - 1} to their state")
    refs = {}
    for index, entry in saved["state"].items():
        if not isinstance(entry, dict) or set(entry) != set(slots):
            raise ValueError(f"run file field optimizer.state[{index}] must hold {', '.join(slots)}")
        for name, (param_shaped, dtype) in slots.items():
            shape = tuple(params[index].shape) if param_shaped else ()
            refs[f"optimizer.state[{index}].{name}"] = _check_ref(f"optimizer.state[{index}].{name}", entry[name], shape, dtype)
    return refs


def _state_slots(optimizer: torch.optim.Optimizer) -> dict[str, tuple[bool, torch.dtype]]:
    """State name -> (has the parameter's shape, dtype), read from one step of the same optimizer."""
    p = torch.zeros(2, requires_grad=True)
    p.grad = torch.zeros(2)
    probe = type(optimizer)([p], **optimizer.defaults)
    probe.step()
    return {name: (tuple(t.shape) == (2,), t.dtype) for name, t in probe.state[p].items()}


def _same(a, b) -> bool:
    """Equal, with equal types all the way down (NaN is never the same; no object's __eq__ runs)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return isinstance(a, (str, int, float, bool, type(None))) and a == b


def _check_storages(file: RunFile, refs: dict[str, TensorRef]) -> None:
    """Every storage entry belongs to exactly one checked tensor and holds exactly its bytes."""
    sizes = file.storage_sizes()
    keys = [ref.key for ref in refs.values()]
    if len(set(keys)) != len(keys):
        raise ValueError("run file has tensors that share a storage")
    if set(keys) != set(sizes):
        raise ValueError("run file has storage entries that no field uses, or fields without their entry")
    for field, ref in refs.items():
        if sizes[ref.key] != ref.storage_numel * itemsize(ref.dtype):
            raise ValueError(f"run file field {field}: its entry holds {sizes[ref.key]:,} bytes, not {ref.storage_numel * itemsize(ref.dtype):,}")


def _restore(run, state, tensors: dict[str, torch.Tensor]) -> None:
    run.model.load_state_dict({name: tensors[f"model.{name}"] for name in state["model"]}, strict=True)
    optimizer = {
        "state": {index: {name: tensors[f"optimizer.state[{index}].{name}"] for name in entry}
                  for index, entry in state["optimizer"]["state"].items()},
        "param_groups": state["optimizer"]["param_groups"],
    }
    run.optimizer.load_state_dict(optimizer)
    try:
        run.generator.set_state(tensors["generator"])
    except RuntimeError:
        raise ValueError("run file field generator is not a random generator's state") from None


def _history(saved, refs: dict[str, TensorRef], file: RunFile, run, version: int, **bounds) -> History:
    """The history, checked against the fresh run's; its profiles (shape checked) are the only tensor read first."""
    if version == 1 and isinstance(saved, dict) and "profile_values" in saved and "profiles" not in saved:
        values = saved["profile_values"]  # version 1: nested lists
        saved = {k: v for k, v in saved.items() if k != "profile_values"}
        saved["profiles"] = _nested_floats(values, profile_shape(run), LIMITS.max_profiles)
    elif isinstance(saved, dict) and "history.profiles" in refs:
        saved = {**saved, "profiles": file.tensor(refs["history.profiles"]).numpy()}
    try:
        return History.from_state(saved, run.history, **bounds)
    except ValueError as error:
        raise ValueError(f"run file field {error}") from None


def _nested_floats(values, shape: tuple, limit: int) -> np.ndarray:
    """Version 1 profiles: a list of at most `limit` nested lists of floats of `shape`, walked level
    by level with every length checked before going deeper (a shared list cannot multiply the walk)."""
    def walk(value, dims) -> bool:
        if not dims:
            return type(value) is float
        return type(value) is list and len(value) == dims[0] and all(walk(v, dims[1:]) for v in value)

    if type(values) is not list or len(values) > limit or not all(walk(v, shape) for v in values):
        raise ValueError(f"run file field history.profile_values must be at most {limit} lists of shape {shape}")
    return np.asarray(values, dtype=np.float32).reshape(-1, *shape)
