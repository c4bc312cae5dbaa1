"""The Inspect page in Chromium: Play moves the time slider, a bad sequence gets its message, screenshots."""
import time

import pytest

from .conftest import open_app, screenshot, wait_idle

pytestmark = pytest.mark.browser

SMALL = "task=parity&hidden_size=8&seq_len=20"
TALL = {"width": 1400, "height": 3000}  # Streamlit scrolls inside its own container: a tall window shows it all


def time_slider(page):
    return page.locator('[data-testid="stSlider"]').filter(has_text="Time step t")


def time_step(page) -> int:
    return int(time_slider(page).get_by_test_id("stSliderThumbValue").inner_text())


def no_exception(page) -> None:
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, errors.first.inner_text()


def wait_for_charts(page, count: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while page.locator(".js-plotly-plot").count() < count:
        assert time.monotonic() < deadline, f"fewer than {count} charts drawn"
        time.sleep(0.2)


def test_play_moves_the_time_slider_and_stop_holds_it(page, app_url):
    page.set_viewport_size({"width": 1400, "height": 3000})  # charts out of view skip frames: keep all in view
    open_app(page, app_url, f"/inspect?arch=gru&{SMALL}")
    time_slider(page).wait_for(timeout=60_000)
    assert time_step(page) == 0
    page.get_by_role("button", name="Play").click()
    deadline = time.monotonic() + 30
    while time_step(page) < 3:  # 2 steps per second by default
        assert time.monotonic() < deadline, f"t stuck at {time_step(page)} after pressing Play"
        time.sleep(0.25)
    page.get_by_role("button", name="Stop").click()
    wait_idle(page)
    held = time_step(page)
    time.sleep(1.5)
    assert time_step(page) == held, "t moved on after Stop"
    # the browser draws the charts after the script run: wait for the held step's chart
    page.locator(".js-plotly-plot").filter(has_text=f"at t={held}").first.wait_for(timeout=15_000)
    no_exception(page)


def test_bad_sequence_shows_what_is_accepted(page, app_url):
    open_app(page, app_url, f"/inspect?arch=lstm&{SMALL}")
    time_slider(page).wait_for(timeout=60_000)
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Sequence").click()
    page.get_by_role("option", name="Your own sequence").click()
    wait_idle(page)
    box = page.get_by_role("textbox", name="Your own sequence (Running parity)")
    box.fill("0110")
    box.press("Enter")
    wait_idle(page)
    assert time_step(page) == 0 and page.get_by_text("T = 4 steps").count() == 1
    box.fill("01x")
    box.press("Enter")
    wait_idle(page)
    alert = page.locator('[data-testid="stAlert"]').filter(has_text="Unknown symbol")
    assert alert.count() == 1 and "accepts bits 0/1" in alert.inner_text()
    assert page.get_by_text("T = 4 steps").count() == 1  # still the view of 0110
    no_exception(page)


@pytest.mark.parametrize("arch,charts", [("lstm", 5), ("gru", 5), ("transformer", 4)])
def test_inspect_page_screenshots(page, app_url, arch, charts):
    page.set_viewport_size(TALL)
    open_app(page, app_url, f"/inspect?arch={arch}&{SMALL}")
    wait_for_charts(page, charts)
    time_slider(page).get_by_role("slider").focus()
    for _ in range(7):
        page.keyboard.press("ArrowRight")
    wait_idle(page)
    assert time_step(page) == 7
    wait_for_charts(page, charts)
    time.sleep(1)  # let plotly finish drawing before the picture
    screenshot(page, f"inspect_{arch}")
    no_exception(page)
