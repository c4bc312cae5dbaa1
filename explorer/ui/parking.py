"""Where a browser's runs wait between its sessions: a server-wide registry keyed by a per-browser id.

Not the id itself (explorer/ui/browser.py keeps it in a cookie) and not what a slot holds
(explorer/ui/session.py). No Streamlit here. A reload (F5) or the same link opened again ends the old
session and starts a new one; the new one takes over the slot the old one let go, if it comes within
keep_s. Ids are unguessable tokens that only their browser sends; nothing here lists them, so no
visitor can reach another's runs. Bounded: at most max_parked slots wait, the oldest are closed first,
and a closed slot leaves a short note of what was lost and why, which its browser reads once.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Protocol


class Parkable(Protocol):
    browser: str | None  # the browser's id, None when it has none (then nothing can take the slot over)
    holders: int  # live connections using the slot (Parking counts them: hold, let_go)
    parked_at: float | None  # when the last one let go; None while held or taken over

    def close(self) -> None: ...

    def summary(self) -> str: ...  # what a visitor would lose, e.g. "LSTM on adding at step 229"; "" = nothing


@dataclass(frozen=True)
class Gone:
    """Why a browser's runs are no longer here, told to that browser once."""

    what: str  # Parkable.summary() when it was closed
    why: str  # a sentence's end: "no page had it open for 10 minutes"
    at: float  # time.time() when it was closed


class Parking:
    """Slots by browser id: held while a session uses them, parked for keep_s after the last lets go."""

    def __init__(self, keep_s: float, max_parked: int, max_per_browser: int = 4, max_gone: int = 1000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.keep_s = keep_s
        self.max_parked = max_parked
        self.max_per_browser = max_per_browser
        self.max_gone = max_gone
        self.clock = clock
        self._slots: dict[str, list[Parkable]] = {}
        self._gone: OrderedDict[str, Gone] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, slot: Parkable) -> None:
        """A new slot of its browser (a slot with no browser is not kept here)."""
        if slot.browser is not None:
            with self._lock:
                self._slots.setdefault(slot.browser, []).append(slot)

    def claim(self, browser: str | None) -> Parkable | None:
        """The browser's most recently parked slot that holds something (else the most recent), now taken over.
        None when it has none. (A page opened while the old one was still closing parks an empty slot later.)"""
        if browser is None:
            return None
        with self._lock:
            parked = [s for s in self._slots.get(browser, []) if s.holders == 0 and s.parked_at is not None]
            if not parked:
                return None
            slot = max(parked, key=lambda s: (bool(s.summary()), s.parked_at))
            slot.parked_at = None  # its expiry timer finds it taken over
            return slot

    def held(self, browser: str | None) -> str:
        """What the slots other pages of this browser hold right now ("" when none hold anything)."""
        with self._lock:
            slots = [s for s in self._slots.get(browser, []) if s.holders > 0]
        return "; ".join(text for s in slots if (text := s.summary()))

    def has_runs(self, browser: str | None) -> bool:
        """Some slot of this browser holds something a visitor would miss."""
        with self._lock:
            slots = list(self._slots.get(browser, []))
        return any(s.summary() for s in slots)

    def hold(self, slot: Parkable) -> None:
        """A connection uses the slot (a session's first, or a reconnect)."""
        with self._lock:
            slot.holders += 1
            slot.parked_at = None

    def let_go(self, slot: Parkable, grace_s: float | None = None) -> None:
        """A connection let go; after the last, the slot waits keep_s (grace_s) to be taken over, then closes."""
        wait = self.keep_s if grace_s is None else grace_s
        with self._lock:
            slot.holders = max(0, slot.holders - 1)
            if slot.holders:
                return
            now = self.clock()
            slot.parked_at = now
            evicted = self._over_bounds(slot.browser)
        for old in evicted:
            self._close(old, f"the server keeps at most {self.max_parked} closed pages' runs, and this was the "
                             "oldest")
        timer = threading.Timer(wait, self.expire, args=(slot, now))
        timer.daemon = True
        timer.start()

    def expire(self, slot: Parkable, parked_at: float) -> None:
        """Close the slot if it still waits since parked_at (not taken over, not parked again since)."""
        with self._lock:
            if slot.holders != 0 or slot.parked_at != parked_at:
                return
        self._close(slot, f"no page had it open for {self.window}, so the server closed it")

    def gone(self, browser: str | None) -> Gone | None:
        """Why this browser's runs were closed, once (None when none were, or this was already told)."""
        with self._lock:
            return self._gone.pop(browser, None) if browser is not None else None

    @property
    def window(self) -> str:
        """keep_s in words: "10 minutes", "45 s"."""
        minutes = self.keep_s / 60
        if self.keep_s < 120:
            return f"{self.keep_s:g} s"
        return f"{minutes:g} minutes"

    @property
    def parked(self) -> int:
        with self._lock:
            return sum(s.parked_at is not None and s.holders == 0 for slots in self._slots.values() for s in slots)

    def _over_bounds(self, browser: str | None) -> list[Parkable]:
        """Parked slots beyond the bounds, oldest first: this browser's own first, then anyone's."""
        def parked(slots):
            return sorted((s for s in slots if s.holders == 0 and s.parked_at is not None), key=lambda s: s.parked_at)
        mine = parked(self._slots.get(browser, []))
        out = mine[:max(0, len(mine) - self.max_per_browser)]
        everyone = [s for s in parked(s for slots in self._slots.values() for s in slots) if s not in out]
        out += everyone[:max(0, len(everyone) - self.max_parked)]
        for slot in out:
            slot.parked_at = None  # no longer claimable; _close removes it
        return out

    def _close(self, slot: Parkable, why: str) -> None:
        what = slot.summary()
        with self._lock:
            slots = self._slots.get(slot.browser, [])
            if slot in slots:
                slots.remove(slot)
                if not slots:
                    del self._slots[slot.browser]
            if what and slot.browser is not None:
                self._gone[slot.browser] = Gone(what, why, time.time())
                self._gone.move_to_end(slot.browser)
                while len(self._gone) > self.max_gone:
                    self._gone.popitem(last=False)
        slot.close()
