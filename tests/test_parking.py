"""Where a browser's runs wait between its sessions: taken over by the same browser within the window,
never by another, closed after it with a note of why, and bounded."""
import time

from explorer.ui.parking import Parking


class FakeSlot:
    def __init__(self, browser, what="LSTM on adding at step 229"):
        self.browser, self.holders, self.parked_at = browser, 0, None
        self.what, self.closed = what, False

    def close(self):
        self.closed = True

    def summary(self):
        return self.what


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def opened(parking, browser, **kw):
    slot = FakeSlot(browser, **kw)
    parking.add(slot)
    parking.hold(slot)
    return slot


def test_a_reload_takes_over_the_slot_its_browser_let_go():
    parking = Parking(keep_s=60, max_parked=8)
    slot = opened(parking, "me")
    assert parking.claim("me") is None  # held by its page: a second tab gets its own
    parking.let_go(slot)
    assert parking.claim("someone else") is None
    assert parking.claim("me") is slot
    assert parking.claim("me") is None  # taken: no second session gets it too
    parking.hold(slot)
    assert not slot.closed


def test_a_slot_nobody_takes_over_closes_after_the_window_and_says_why_once():
    parking = Parking(keep_s=0.2, max_parked=8)
    slot = opened(parking, "me")
    parking.let_go(slot)
    assert wait_for(lambda: slot.closed)
    assert parking.claim("me") is None
    gone = parking.gone("me")
    assert gone.what == "LSTM on adding at step 229" and "no page had it open" in gone.why
    assert parking.gone("me") is None  # told once
    assert parking.gone("someone else") is None


def test_a_slot_taken_over_in_time_is_not_closed_by_its_old_timer():
    parking = Parking(keep_s=0.2, max_parked=8)
    slot = opened(parking, "me")
    parking.let_go(slot)
    assert parking.claim("me") is slot
    parking.hold(slot)
    time.sleep(0.4)
    assert not slot.closed and parking.gone("me") is None


def test_a_reconnect_within_the_grace_keeps_a_slot_without_a_browser_id():
    parking = Parking(keep_s=60, max_parked=8)
    slot = opened(parking, None)
    parking.let_go(slot, grace_s=0.2)
    parking.hold(slot)  # the same session's websocket came back
    time.sleep(0.4)
    assert not slot.closed
    parking.let_go(slot, grace_s=0.1)
    assert wait_for(lambda: slot.closed)
    assert parking.claim(None) is None


def test_the_registry_is_bounded_and_closes_the_oldest_first():
    parking = Parking(keep_s=60, max_parked=2, max_per_browser=2)
    slots = [opened(parking, f"b{i}") for i in range(3)]
    for slot in slots:
        parking.let_go(slot)
    assert [s.closed for s in slots] == [True, False, False]
    assert parking.parked == 2
    assert "at most 2" in parking.gone("b0").why
    mine = [opened(parking, "tabs") for _ in range(3)]  # one browser's many tabs fill only its own share
    for slot in mine:
        parking.let_go(slot)
    assert mine[0].closed and not mine[2].closed
    assert parking.claim("tabs") is mine[2]  # the most recently closed page's runs come back first


def test_a_slot_with_a_run_comes_back_before_an_empty_one_parked_later():
    parking = Parking(keep_s=60, max_parked=8)
    run = opened(parking, "me")
    empty = opened(parking, "me", what="")  # a reload seen before the old page's connection closed
    parking.let_go(run)
    parking.let_go(empty)
    assert parking.claim("me") is run


def test_has_runs_only_when_a_slot_holds_something_to_lose():
    parking = Parking(keep_s=60, max_parked=8)
    opened(parking, "empty", what="")
    opened(parking, "busy")
    assert not parking.has_runs("empty") and parking.has_runs("busy") and not parking.has_runs("nobody")
