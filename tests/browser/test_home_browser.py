"""Home in a real browser: one click on a lesson opens the Train page, trains, and shows the verdict."""
import pytest

from .conftest import open_app, screenshot

pytestmark = pytest.mark.browser


def test_a_preset_from_home_trains_and_gives_its_verdict(page, app_url):
    open_app(page, app_url, "/")
    screenshot(page, "home")
    page.get_by_role("button", name="Sentiment, negation included").click()
    page.wait_for_url("**/train?*preset=sentiment*", timeout=30_000)
    page.wait_for_selector("text=Claim reproduced", timeout=120_000)
    assert "task=sentiment" in page.url
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert "synthetic reviews" in sidebar.inner_text()  # the task description under the Task box
    screenshot(page, "preset_sentiment")
    assert page.locator('[data-testid="stException"]').count() == 0
