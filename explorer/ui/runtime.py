"""Process-wide settings made once at start-up. torch's thread count is global to the process."""
from __future__ import annotations

import os

import torch

_done = False


def configure_torch() -> int:
    """RNNX_TORCH_THREADS: the core count for a local single user (default), 1 on a shared public server."""
    global _done
    if not _done:
        wanted = os.environ.get("RNNX_TORCH_THREADS", "")
        threads = int(wanted) if wanted.isdigit() and int(wanted) > 0 else (os.cpu_count() or 1)
        torch.set_num_threads(threads)
        _done = True
    return torch.get_num_threads()
