"""One heavy computation (Inspect's look at a sequence, a saliency row) in a process from the trainer pool.

No Streamlit here; the page passes `should_stop` (the visitor's tab has closed). The computation runs in a
process forked from the training forkserver, under the same memory limit as a training process, holding one
slot of a bounded pool of its own (as many slots as the trainer pool) while it runs: a visitor's Inspect cannot
take the server's memory or cores, and it ends at once when the tab closes. Not the live training (explorer/ui/worker.py).
"""
from __future__ import annotations

import logging
import pickle
import time
from typing import Any, Callable

import torch

from explorer.checkpoint import out_of_memory
from explorer.config import LIMITS
from explorer.trainer import limit_memory
from explorer.ui.pool import CONTEXT, TrainerPool, plain_main

log = logging.getLogger(__name__)
# Short computations have their own bounded pool: behind long training runs they would wait minutes
POOL = TrainerPool(LIMITS.max_trainers)
POLL_S = 0.1
QUEUE_WAIT_S = 60.0  # how long a computation waits for a free slot before it gives up with a message


class JobError(Exception):
    """Our message for the page: the job failed, ran out of memory, waited too long, or was stopped."""


class Stopped(JobError):
    """The visitor left: nothing to show."""


def run(fn: Callable[..., Any], *args, should_stop: Callable[[], bool] = lambda: False,
        pool: TrainerPool = POOL, memory_mb: int = LIMITS.worker_memory_mb, wait_s: float = QUEUE_WAIT_S,
        on_wait: Callable[[], None] | None = None) -> Any:
    """fn(*args) in a pool process; its result. JobError with a message for the page on any failure.

    fn must be a module-level function (the process imports it) whose arguments and result pickle.
    on_wait is called once when the pool is full and the job has to wait for a slot.
    """
    _acquire(pool, should_stop, wait_s, on_wait)
    parent, child = CONTEXT.Pipe()
    process = CONTEXT.Process(target=_serve, name="rnnx-job", daemon=True,
                               args=(child, fn, args, torch.get_num_threads(), memory_mb))
    try:
        with plain_main():
            process.start()
        child.close()
        while not parent.poll(POLL_S):
            if should_stop():
                raise Stopped("stopped: the page was closed")
            if not process.is_alive() and not parent.poll(0):
                raise JobError(f"The computation ended unexpectedly (exit code {process.exitcode}).")
        kind, value = pickle.loads(parent.recv_bytes())
        if kind != "ok":
            raise JobError(value)
        return value
    except EOFError:
        raise JobError("The computation ended unexpectedly.") from None
    finally:
        if process.is_alive():
            process.kill()
        process.join(timeout=1)
        parent.close()
        pool.release()


def _acquire(pool: TrainerPool, should_stop: Callable[[], bool], wait_s: float, on_wait) -> None:
    deadline = time.monotonic() + wait_s
    told = False
    while not pool.acquire():
        if should_stop():
            raise Stopped("stopped: the page was closed")
        if time.monotonic() > deadline:
            raise JobError(f"The server is busy: {pool.size} computations are running. Try again in a minute.")
        if not told and on_wait is not None:
            on_wait()
            told = True
        time.sleep(POLL_S)


def _serve(conn, fn, args, threads: int, memory_mb: int) -> None:
    """Process entry point: the result, or our message (the detail goes to the server's log)."""
    try:
        torch.set_num_threads(threads)
        limit_memory(memory_mb)
        # plain pickle: torch's shared-memory tensors would need this process alive after it exits
        conn.send_bytes(pickle.dumps(("ok", fn(*args))))
    except Exception as error:  # noqa: BLE001 - the page gets our message only
        if out_of_memory(error):  # MemoryError, or torch's allocator's RuntimeError
            conn.send_bytes(pickle.dumps(("error", f"The computation needed more than its memory limit ({memory_mb:,} MB).")))
            return
        log.exception("job %s failed", getattr(fn, "__name__", fn))
        conn.send_bytes(pickle.dumps(("error", "The computation stopped by an error (the server's log has the details).")))
    finally:
        conn.close()
