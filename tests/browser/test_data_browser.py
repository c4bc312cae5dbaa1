"""Issue 13, items 3 and 4 in a real browser: train on the ECG, stock returns, melodies, and an uploaded CSV."""
import time

import pytest

from .conftest import click, open_app, screenshot, status, step_of, wait_idle

pytestmark = pytest.mark.browser
SIDEBAR_UPLOAD = '[data-testid="stSidebar"] [data-testid="stFileUploaderDropzoneInput"]'


def train_until(page, steps: int, timeout_s: float = 60) -> None:
    click(page, "Train")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and step_of(page) < steps:
        time.sleep(0.3)
    assert step_of(page) >= steps, status(page)


def pick_column(page, name: str) -> None:
    """Open the sidebar's Column box and choose `name` (again if a rerun closed the list under the click)."""
    for _ in range(3):
        page.get_by_role("combobox", name="Column").click()
        try:
            page.get_by_role("option", name=name, exact=True).click(timeout=5_000)
            break
        except Exception:  # noqa: BLE001 - Playwright's TimeoutError: the list closed, open it again
            wait_idle(page)
    wait_idle(page)


def no_errors(page) -> None:
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, errors.first.inner_text()


@pytest.mark.parametrize("task, setup, verdict", [
    ("ecg", "seq_len=50&hidden_size=32&lr=0.01&clip_grad_norm=1", "lower error than the naive forecast"),
    ("stocks", "seq_len=24&hidden_size=8&lr=0.003&clip_grad_norm=1", "against the naive forecast"),
])
def test_a_real_series_trains_and_is_checked_against_the_naive_forecast(page, app_url, task, setup, verdict):
    open_app(page, app_url, f"/train?task={task}&{setup}")
    train_until(page, 150)
    screenshot(page, f"train_{task}_training")
    click(page, "Pause")
    wait_idle(page)
    click(page, "Check on held-out data")
    page.wait_for_function("(v) => document.body.innerText.includes(v)", arg=verdict, timeout=60_000)
    if task == "stocks":
        assert "Past prices do not predict future ones" in page.locator("body").inner_text()
    no_errors(page)
    screenshot(page, f"train_{task}_checked")


def test_music_trains_and_generate_shows_notes_and_abc(page, app_url):
    open_app(page, app_url, "/train?task=music&seq_len=64&hidden_size=64&lr=0.01&clip_grad_norm=1")
    train_until(page, 150)
    screenshot(page, "train_music_training")
    click(page, "Generate")
    page.wait_for_function("() => document.body.innerText.includes('X:1')", timeout=60_000)
    text = page.locator("body").inner_text()
    assert "L:1/8" in text and "K:C" in text and "Notes" in text
    no_errors(page)
    screenshot(page, "train_music_generated")


def test_an_uploaded_csv_trains_stays_out_of_the_link_and_a_bad_file_loses_nothing(page, app_url, tmp_path):
    good = tmp_path / "prices.csv"
    closes = [round(20 + 5 * ((i % 12) - 6) ** 2 / 36 + i / 50, 3) for i in range(400)]
    good.write_text("month,close\n" + "".join(f"{i},{c}\n" for i, c in enumerate(closes)))
    open_app(page, app_url, "/train?task=csv&seq_len=30&hidden_size=32&lr=0.01")
    assert "No file yet" in page.locator('[data-testid="stSidebar"]').inner_text()
    page.locator(SIDEBAR_UPLOAD).set_input_files(str(good))
    wait_idle(page)
    # the first column that is not a counter (month: 0, 1, 2, ...) is the series at first; any can be picked
    page.wait_for_function("() => document.body.innerText.replaceAll('\u2060', '')"
                           ".includes('Training on close of prices.csv: 400 values')", timeout=30_000)
    wait_idle(page)
    pick_column(page, "month")
    page.wait_for_function("() => document.body.innerText.includes('Training on month of prices.csv')", timeout=30_000)
    wait_idle(page)
    pick_column(page, "close")
    page.wait_for_function("() => document.body.innerText.replaceAll('\u2060', '')"
                           ".includes('Training on close of prices.csv: 400 values')", timeout=30_000)
    train_until(page, 150)
    from explorer.tasks import make_task

    example, close = (f"(chance {make_task('csv', 30, series=s).chance:.3g})" for s in (None, closes))
    assert close in status(page) and example not in status(page)  # the run was rebuilt on the uploaded series
    assert "20.5" not in page.url and "close" not in page.url  # the series is not in the link
    screenshot(page, "train_csv_training")
    click(page, "Pause")
    wait_idle(page)

    bad = tmp_path / "evil.csv"
    bad.write_bytes(b"\x00\x01\x02 binary" * 100)
    page.locator(SIDEBAR_UPLOAD).set_input_files(str(bad))
    wait_idle(page)
    page.wait_for_selector('[data-testid="stSidebar"] [data-testid="stAlertContentError"]', timeout=30_000)
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text().replace("\u2060", "")  # plain()'s word joiners
    assert "binary" in sidebar and "The series you had is unchanged" in sidebar
    assert "Training on close of prices.csv: 400 values" in sidebar
    assert step_of(page) >= 150  # the run trained on it is still there
    no_errors(page)
    screenshot(page, "train_csv_refused")
