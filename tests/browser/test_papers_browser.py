"""Check the paper in Chromium: a Learn card's setup trains on the Train page, and the card then reads that run."""
import re

import pytest

from .conftest import click, open_app, screenshot, wait_idle

pytestmark = pytest.mark.browser


def test_a_learn_card_offers_a_setup_and_then_reads_your_run(page, app_url):
    open_app(page, app_url, "/learn", timeout_ms=120_000)  # the first visit trains small example runs
    card = page.locator(".st-key-paper-learn-adding")
    card.wait_for(timeout=120_000)  # the last section, after the example runs' charts
    assert "not trained yet" in card.inner_text() and "0.04" in card.inner_text()
    card.get_by_role("button", name="Try it: LSTM on the adding problem").click()
    page.wait_for_url(re.compile(r"/train"), timeout=60_000)
    wait_idle(page, timeout_ms=60_000)
    page.wait_for_function("() => /step [1-9]/.test(document.querySelector('.st-key-train-status')?.innerText || '')",
                           timeout=60_000)  # the setup trains at once
    assert "Each step carries a random value" in page.locator('[data-testid="stSidebar"]').inner_text()  # the task
    assert "forget_bias=1" in page.url and "lr=0.01" in page.url, page.url  # the link holds the setup (adding is the default task)
    click(page, "Pause")
    page.wait_for_function("() => /paused/.test(document.querySelector('.st-key-train-status')?.innerText || '')",
                           timeout=60_000)
    page.get_by_role("link", name="Learn").first.click()
    wait_idle(page, timeout_ms=60_000)
    card = page.locator(".st-key-paper-learn-adding")
    card.wait_for(timeout=60_000)
    text = card.inner_text()
    assert "Your LSTM (T=50, step" in text and "of 1,024 fresh sequences right" in text, text
    assert "IRNN" in page.locator(".st-key-paper-learn-irnn").inner_text()
    card.scroll_into_view_if_needed()
    screenshot(page, "learn_paper_card", full_page=False)
