"""Process-wide settings made once at start-up. torch's thread count is global to the process."""
from __future__ import annotations

import os

import torch

_done = False


def configure_torch() -> int:
    """RNNX_TORCH_THREADS sets torch's thread count; the default is 1.

    The models here are small: measured on a 2-core machine with the server and a browser running,
    a training step took 4x longer with 2 torch threads than with 1 (threads wait for each other
    whenever a core is busy). Raise it for big hidden sizes on an idle many-core machine.
    """
    global _done
    if not _done:
        wanted = os.environ.get("RNNX_TORCH_THREADS", "")
        threads = int(wanted) if wanted.isdigit() and int(wanted) > 0 else 1
        torch.set_num_threads(threads)  # training processes take the same count (explorer/ui/worker.py)
        _done = True
    return torch.get_num_threads()


