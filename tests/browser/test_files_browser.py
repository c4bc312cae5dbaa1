"""Save and load a run in a real browser: a good file restores the run, a bad one is refused with a message."""
import re

import pytest

from .conftest import open_app, wait_idle

pytestmark = pytest.mark.browser


def status(page) -> str:
    return page.locator(".st-key-train-status").inner_text()


def test_download_then_upload_restores_the_run(page, app_url, tmp_path):
    open_app(page, app_url, "/train?arch=gru&seq_len=20&hidden_size=8")
    for _ in range(3):
        page.get_by_role("button", name="Step", exact=True).click()
        wait_idle(page)
    assert re.search(r"step 3\b", status(page))
    page.get_by_text("Save or load a run").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download run").click()
    saved = tmp_path / "run.pt"
    download.value.save_as(saved)
    page.get_by_role("button", name="Reset", exact=True).click()
    wait_idle(page)
    assert re.search(r"step 0\b", status(page))

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
