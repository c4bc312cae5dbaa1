"""Issue 15: with the trainer pool full, a visitor waits in a queue, sees their place, and starts by themselves."""
from __future__ import annotations

import time

import pytest

from .conftest import RUNS_JS, VIEWPORT, open_app, screenshot, serve_app, wait_idle

pytestmark = pytest.mark.browser
SMALL = "/train?arch=gru&seq_len=20&hidden_size=8"


def _status(page) -> str:
    return page.locator(".st-key-train-status").inner_text()


def _wait_text(page, what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while what not in page.inner_text("body"):
        assert time.monotonic() < deadline, f"no {what!r}; status: {_status(page)}"
        time.sleep(0.25)


def _wait_status(page, what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while what not in _status(page):
        assert time.monotonic() < deadline, f"status {_status(page)!r}, waiting for {what!r}"
        time.sleep(0.25)


def test_a_visitor_beyond_the_pool_queues_and_starts_by_itself(browser, monkeypatch):
    monkeypatch.setenv("RNNX_MAX_TRAINERS", "1")
    with serve_app("streamlit-server-queue") as url:
        first, second = (browser.new_context(viewport=VIEWPORT).new_page() for _ in range(2))
        for page in (first, second):
            open_app(page, url, SMALL)
        first.get_by_role("button", name="Train").click()
        _wait_status(first, "training")
        second.get_by_role("button", name="Train").click()
        wait_idle(second)
        _wait_text(second, "number 1 in the queue")
        assert "queued" in _status(second)
        first.get_by_role("button", name="Pause").click()  # the slot frees: the queued visitor starts
        _wait_status(first, "paused")
        _wait_status(second, "training")
        assert "in the queue" not in second.inner_text("body")
        time.sleep(2)  # the page built while queued reran its fragment every second; it is built again, fed
        start = second.evaluate(RUNS_JS)
        time.sleep(6)
        assert second.evaluate(RUNS_JS) - start <= 3, "the started run's page still reruns every second"
        assert "training" in _status(second)
        for page in (first, second):
            page.context.close()


def test_a_queued_compare_race_shows_its_place_and_starts_by_itself(browser, monkeypatch):
    """The race's view refreshes while it waits in the queue, as the Train page's does."""
    monkeypatch.setenv("RNNX_MAX_TRAINERS", "1")
    with serve_app("streamlit-server-queue-compare") as url:
        trainer, racer = (browser.new_context(viewport=VIEWPORT).new_page() for _ in range(2))
        open_app(trainer, url, SMALL)
        open_app(racer, url, "/compare?arch=gru&seq_len=20&hidden_size=8")
        trainer.get_by_role("button", name="Train").click()
        _wait_status(trainer, "training")
        racer.get_by_role("button", name="Start comparison").click()
        wait_idle(racer)
        _wait_text(racer, "number 1 in the queue")
        assert "· queued" in racer.inner_text("body")
        assert racer.get_by_role("button", name="Cancel").first.is_enabled()  # Cancel leaves the queue
        trainer.get_by_role("button", name="Pause").click()  # the slot frees: the race starts with no click
        _wait_status(trainer, "paused")
        _wait_text(racer, "· training")
        assert "in the queue" not in racer.inner_text("body")
        screenshot(racer, "compare_queue_started")
        for page in (trainer, racer):
            page.context.close()
