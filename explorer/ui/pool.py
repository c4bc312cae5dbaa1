"""The processes this server starts for its sessions: one bounded pool of training slots, and how they start.

No Streamlit here. Training processes (explorer/ui/worker.py) and short jobs (explorer/ui/jobs.py) each
hold a slot of a TrainerPool while they run. They fork from one forkserver that has imported torch once.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import sys
import threading
import types

CONTEXT = multiprocessing.get_context("forkserver")  # never fork this threaded server process itself
CONTEXT.set_forkserver_preload(["explorer.preload"])  # torch imported once, in the forkserver

_main_lock = threading.Lock()


@contextlib.contextmanager
def plain_main():
    """multiprocessing re-runs the __main__ script in a new process; under Streamlit that is the page
    script (app.py), which must not run there. Show it a bare __main__ while the process starts."""
    with _main_lock:
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = main


class TrainerPool:
    """Bounds concurrent training processes started by this server process (shared by all sessions).

    A trainer that finds it full waits in a queue, first come first served: a released slot passes
    straight to the first in the queue (its callback starts it).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._active = 0
        self._waiting: list = []  # callbacks of queued trainers, first come first served
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        with self._lock:
            if self._active >= self.size or self._waiting:
                return False
            self._active += 1
            return True

    def acquire_or_queue(self, granted) -> bool:
        """A slot now (True), or `granted` queued to be called with the slot when one frees (False)."""
        with self._lock:
            if self._active < self.size and not self._waiting:
                self._active += 1
                return True
            if granted not in self._waiting:
                self._waiting.append(granted)
            return False

    def leave(self, granted) -> None:
        with self._lock:
            if granted in self._waiting:
                self._waiting.remove(granted)

    def place(self, granted) -> int | None:
        """1 for the first in the queue; None when not queued."""
        with self._lock:
            return self._waiting.index(granted) + 1 if granted in self._waiting else None

    def release(self) -> None:
        with self._lock:
            granted = self._waiting.pop(0) if self._waiting else None
            if granted is None:
                self._active = max(0, self._active - 1)
        if granted is not None:
            granted()  # the slot passes on: the next trainer starts (it releases the slot if it cannot)

    @property
    def active(self) -> int:
        return self._active
