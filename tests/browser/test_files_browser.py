"""Save and load a run in a real browser: a good file restores the run, a bad one is refused with a message."""
import re

import pytest

from .conftest import open_app, screenshot, status, step_to, wait_idle, wait_step

pytestmark = pytest.mark.browser


def test_download_then_upload_restores_the_run(page, app_url, tmp_path):
    open_app(page, app_url, "/train?arch=gru&seq_len=20&hidden_size=8")
    for step in (1, 2, 3):
        step_to(page, step)
    assert re.search(r"step 3\b", status(page))
    page.get_by_text("Save or load a run").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download run").click()
    saved = tmp_path / "run.pt"
    download.value.save_as(saved)
    page.get_by_role("button", name="Reset", exact=True).click()
    wait_step(page, 0)

    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(bad))
    wait_idle(page)
    page.wait_for_selector('[data-testid="stAlertContentError"]', timeout=30_000)
    assert "not an RNN Explorer run file" in page.locator('[data-testid="stAlertContentError"]').inner_text()
    assert re.search(r"step 0\b", status(page))  # the current run is untouched

    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(saved))
    wait_idle(page)
    page.wait_for_function("() => /step 3\\b/.test(document.querySelector('.st-key-train-status')?.innerText || '')",
                           timeout=30_000)
    assert "arch=gru" in page.url
    assert page.locator('[data-testid="stException"]').count() == 0
    page.wait_for_selector(".js-plotly-plot")  # the uploaded run's charts, from the trace its pool process made
    screenshot(page, "train_after_upload")


PHISH = "[Your session expired: log in again](https://evil.example/login)"


def test_a_crafted_file_is_refused_with_our_message_and_the_run_is_untouched(page, app_url, tmp_path):
    """Issue 17: a well-formed file with a hostile value (lr 1e30 in the optimizer's param groups)."""
    import torch

    from explorer import Run, RunConfig

    open_app(page, app_url, "/train?arch=gru&seq_len=20&hidden_size=8")
    for step in (1, 2):
        step_to(page, step)
    assert re.search(r"step 2\b", status(page))
    state = Run(RunConfig(arch="gru", seq_len=20, hidden_size=8)).state()
    state["optimizer"]["param_groups"][0]["lr"] = 1e30
    crafted = tmp_path / "[Session expired, log in](www.evil.example).pt"
    torch.save(state, crafted)
    page.get_by_text("Save or load a run").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(crafted))
    wait_idle(page)
    page.wait_for_selector('[data-testid="stAlertContentError"]', timeout=30_000)
    error = page.locator('[data-testid="stAlertContentError"]')
    assert "optimizer.param_groups must equal a fresh optimizer's" in error.inner_text()
    assert "[Session expired, log in](www.evil.example).pt" in error.inner_text().replace("\u2060", "")
    assert error.locator("a").count() == 0  # the file name, as text
    assert re.search(r"step 2\b", status(page)) and "arch=gru" in page.url  # the run is untouched
    assert page.locator('[data-testid="stException"]').count() == 0


def test_markdown_in_a_link_is_shown_as_text_and_fetches_nothing(page, app_url):
    """Issue 18.1: a link's keys and values never become links or images in the app's own notices."""
    from urllib.parse import quote, urlparse

    outside = []
    page.on("request", lambda request: outside.append(request.url)
            if (urlparse(request.url).hostname or "").endswith("evil.example") else None)
    pixel = "![p](https://evil.example/pixel.png)"
    open_app(page, app_url, f"/train?{quote(PHISH)}=1&hidden_size={quote(pixel)}&arch={quote('www.evil.example')}")
    alerts = page.locator('[data-testid="stAlert"]')
    alerts.first.wait_for(timeout=30_000)
    text = " ".join(alerts.all_inner_texts()).replace("\u2060", "")  # the word joiners that stop autolinks
    assert PHISH[:40] in text and pixel in text and "www.evil.example" in text  # URL text is cut at 40 characters
    assert alerts.locator("a").count() == 0 and alerts.locator("img").count() == 0
    assert outside == []
