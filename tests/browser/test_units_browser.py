"""Inspect's Units section in Chromium: the unit picker colours the text, Find units prints a table."""
import pytest

from .conftest import open_app, screenshot, wait_idle

pytestmark = pytest.mark.browser


def test_find_units_shows_the_best_unit_per_feature(page, app_url):
    page.set_viewport_size({"width": 1400, "height": 3600})
    open_app(page, app_url, "/inspect?arch=lstm&task=text&hidden_size=16&seq_len=32")
    page.locator(".js-plotly-plot").filter(has_text="The sequence coloured by h_t unit 0").wait_for(timeout=180_000)  # a cold server on a loaded machine
    page.locator(".js-plotly-plot").filter(has_text="Next-character guesses").first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Find units").click()
    wait_idle(page, timeout_ms=120_000)
    page.get_by_text("Units found").wait_for(timeout=60_000)
    page.locator(".js-plotly-plot").filter(has_text="Held-out text coloured by").wait_for(timeout=60_000)
    assert page.locator('[data-testid="stDataFrame"]').count() == 1
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "inspect-units")
