"""Smoke test of the real app in Chromium: the home page loads with the shared sidebar."""
import pytest

from .conftest import open_app, screenshot

pytestmark = pytest.mark.browser


def test_home_page_loads_with_sidebar(page, app_url):
    open_app(page, app_url, "/")
    screenshot(page, "smoke_home")

    assert page.title(), "the page has no title"
    assert page.locator('[data-testid="stApp"]').is_visible()
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert sidebar.get_by_text("Architecture", exact=True).count() >= 1, "sidebar has no 'Architecture' widget"
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]').first.inner_text()
    assert page.console_errors == []
