"""Process-wide settings made once at start-up. torch's thread count is global to the process."""
from __future__ import annotations

import os
import sys

import torch

SWITCH_INTERVAL_S = float(os.environ.get("RNNX_SWITCH_INTERVAL_S", 0.0005))

_done = False


def configure_torch() -> int:
    """RNNX_TORCH_THREADS: the core count for a local single user (default), 1 on a shared public server."""
    global _done
    if not _done:
        wanted = os.environ.get("RNNX_TORCH_THREADS", "")
        threads = int(wanted) if wanted.isdigit() and int(wanted) > 0 else (os.cpu_count() or 1)
        torch.set_num_threads(threads)
        # Every small torch op releases the GIL; with Python's 5 ms default the training thread then
        # waits behind the page's chart building after each op. A short interval hands it back fast.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        _done = True
    return torch.get_num_threads()
