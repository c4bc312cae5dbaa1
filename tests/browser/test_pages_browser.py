"""Every page in a real browser: opens clean, and the sidebar's setup survives a round trip through them all."""
import pytest

from .conftest import open_app, screenshot, wait_idle

pytestmark = pytest.mark.browser

PAGES = ["Train", "Inspect", "Compare", "Learn", "Home"]


def go(page, name: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=name, exact=True).click()
    wait_idle(page)


def test_every_page_opens_without_errors_and_keeps_the_sidebar(page, app_url):
    open_app(page, app_url, "/?arch=gru&task=parity&seq_len=24&hidden_size=16&seed=7")
    assert page.console_errors == []
    for name in PAGES:
        go(page, name)
        page.wait_for_selector("h1", timeout=30_000)
        errors = page.locator('[data-testid="stException"]')
        assert errors.count() == 0, f"{name}: {errors.first.inner_text()}"
        for part in ("arch=gru", "task=parity", "seq_len=24", "hidden_size=16", "seed=7"):
            assert part in page.url, f"{name} lost {part}: {page.url}"
        screenshot(page, f"page_{name.lower()}")
    assert page.console_errors == [], page.console_errors


def test_a_bad_link_gives_a_notice_and_keeps_the_rest(page, app_url):
    open_app(page, app_url, "/train?arch=gru&hidden_size=lots&lr=1e9&preset=nonsense")
    notices = page.locator('[data-testid="stAlertContentWarning"]').all_inner_texts()
    text = " ".join(notices)
    assert "hidden_size" in text and "lr" in text and "nonsense" in text
    assert "arch=gru" in page.url and "lr=10" in page.url  # clamped to the cap, not dropped
    assert page.locator('[data-testid="stException"]').count() == 0
