"""Process-wide settings made once at start-up (torch's thread count is global to the process), and giving
memory back when a session ends."""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import threading

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




_libc = ctypes.CDLL(ctypes.util.find_library("c")) if ctypes.util.find_library("c") else None
_collecting = threading.Lock()


def give_back_memory() -> None:
    """After a session ends (off the page's path): collect the cycles that held its runs and traces
    (runner.postScriptGC is off), then hand freed heap pages back to the system (glibc keeps them)."""
    with _collecting:  # one at a time; a second session's end collects again after the first
        gc.collect()
        if _libc is not None and hasattr(_libc, "malloc_trim"):
            _libc.malloc_trim(0)
