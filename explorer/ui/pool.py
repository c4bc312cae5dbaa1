"""The processes this server starts for its sessions: one bounded pool of training slots, and how they start.

No Streamlit here. Training processes (explorer/ui/worker.py) and short jobs (explorer/ui/jobs.py) each
hold a slot of a TrainerPool while they run. They fork from one forkserver that has imported torch once.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import threading
import types

CONTEXT = multiprocessing.get_context("forkserver")  # never fork this threaded server process itself
CONTEXT.set_forkserver_preload(["explorer.preload"])  # torch imported once, in the forkserver

_main_lock = threading.Lock()
CORES = len(os.sched_getaffinity(0))


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

    Priority: while the training processes it tracks leave a core free, they run at the server's own
    niceness (one visitor's run trains at full speed beside the browser); once their threads would fill
    every core, all of them run `crowded_nice` nicer, so the server, whose one process sends every
    visitor's frames, keeps the CPU it needs. Going back needs the privilege to lower a niceness: without
    it a process stays nicer until it ends (the next Train starts a new one).
    """

    def __init__(self, size: int, crowded_nice: int = 0, cores: int = CORES) -> None:
        self.size = size
        self.crowded_nice = crowded_nice
        self.cores = cores
        self._active = 0
        self._waiting: list = []  # callbacks of queued trainers, first come first served
        self._tracked: dict[int, list[int]] = {}  # training process id -> [its threads, its niceness over the server's]
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

    def track(self, pid: int, threads: int = 1) -> None:
        """A training process started in one of this pool's slots, with `threads` torch threads: it and the
        others take the niceness the pool's load asks for."""
        with self._lock:
            self._tracked[pid] = [threads, 0]
            self._settle()

    def untrack(self, pid: int) -> None:
        """The training process `pid` has ended."""
        with self._lock:
            self._tracked.pop(pid, None)
            self._settle()

    def _settle(self) -> None:
        crowded = sum(threads for threads, _ in self._tracked.values()) >= self.cores
        wanted = self.crowded_nice if crowded else 0
        base = os.getpriority(os.PRIO_PROCESS, 0)
        for pid, entry in self._tracked.items():
            if entry[1] != wanted and renice(pid, min(19, base + wanted)):
                entry[1] = wanted


def renice(pid: int, nice: int) -> bool:
    """Every thread of process `pid` at niceness `nice` (Linux keeps a niceness per thread). False when it was
    not allowed (lowering one needs privilege): the process keeps the niceness it had."""
    try:
        threads = [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except OSError:  # the process has ended
        return True
    for tid in threads:
        try:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
        except PermissionError:
            return False
        except ProcessLookupError:
            pass
    return True
