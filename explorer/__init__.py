"""RNN Explorer's core: see how recurrent networks learn, from a notebook or the Streamlit app.

    from explorer import RunConfig, Run, ARCHITECTURES, TASKS, PRESETS

Names resolve lazily, so importing a torch-free module (explorer.charts) does not pull in torch.
"""
from __future__ import annotations

import importlib

_NAMES = {
    "RunConfig": "explorer.config",
    "LIMITS": "explorer.config",
    "ARCHITECTURES": "explorer.config",
    "Run": "explorer.run",
    "Trace": "explorer.records",
    "History": "explorer.history",
    "TASKS": "explorer.tasks",
    "make_task": "explorer.tasks",
    "PRESETS": "explorer.presets",
}

__all__ = list(_NAMES)


def __getattr__(name: str):
    if name not in _NAMES:
        raise AttributeError(f"module 'explorer' has no attribute {name!r}")
    value = getattr(importlib.import_module(_NAMES[name]), name)
    globals()[name] = value
    return value
