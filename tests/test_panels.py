"""panels.per_snapshot: the side-by-side figures of a snapshot are built once, however many feeds ask."""
from __future__ import annotations

import threading
import time

from explorer.ui import panels


class Snap:
    def __init__(self, version):
        self.version = version


def test_feeds_asking_at_once_share_one_build():
    calls, started = [], threading.Event()

    def build(snap, only):
        calls.append(snap.version)
        started.set()
        time.sleep(0.2)  # a build long enough for the other feed to ask meanwhile
        return f"figures of {snap.version}"

    shared = panels.per_snapshot(build)
    results = []
    first = threading.Thread(target=lambda: results.append(shared(Snap(1))))
    first.start()
    started.wait(5)
    second = threading.Thread(target=lambda: results.append(shared(Snap(1))))  # the other column's feed
    second.start()
    first.join(5)
    second.join(5)
    assert results == ["figures of 1"] * 2 and calls == [1]
    assert shared(Snap(2)) == "figures of 2" and calls == [1, 2]
    assert shared(Snap(2), frozenset({"loss_chart"})) == "figures of 2" and calls == [1, 2, 2]  # another view: built
