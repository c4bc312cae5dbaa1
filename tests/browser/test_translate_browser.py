"""The translation lesson in a real browser: the alignment chart is drawn and redrawn while the preset trains, and the
learning-rate slider ends on the rate its schedule set."""
import time

import pytest

from .conftest import open_app, screenshot

pytestmark = pytest.mark.browser

CHART_JS = """(key) => {
  const gd = document.querySelector(`.js-plotly-plot[data-chart="${key}"]`);
  if (!gd || !gd._fullLayout) return null;
  const heat = gd._fullData.find(d => d.type === 'heatmap');
  return {title: gd._fullLayout.title.text, z: heat ? heat.z.map(row => Array.from(row)) : null};
}"""


LR_SHOWN_JS = """(value) => [...document.querySelectorAll('[data-testid="stSlider"]')]
  .filter(s => s.innerText.includes('Learning rate from the next step'))
  .some(s => s.querySelector('[data-testid="stSliderThumbValue"]')?.innerText === value)"""


def chart(page, key: str):
    return page.evaluate(CHART_JS, key)


def test_the_translation_lesson_shows_the_alignment_sharpen_while_it_trains(page, app_url):
    page.set_viewport_size({"width": 1400, "height": 2000})
    open_app(page, app_url, "/train?preset=translation_attention")
    page.wait_for_function("() => ['run0', 'run1'].every(r => document.querySelector("
                           "`.js-plotly-plot[data-chart=\"${r}-alignment_chart\"]`)?._fullLayout)", timeout=120_000)
    first = chart(page, "run0-alignment_chart")
    assert first["title"].replace(" <br>", " ").startswith("Attention alignment: wrote ")
    fixed = chart(page, "run1-alignment_chart")
    assert fixed["z"] is None and "Attention alignment" in fixed["title"]  # no attention: says so, no heatmap
    time.sleep(8)  # training goes on: the live view redraws the map
    screenshot(page, "translation_attention_training")
    later = chart(page, "run0-alignment_chart")
    assert later["z"] != first["z"]
    assert len(later["z"]) == len(first["z"]) and all(abs(sum(row) - 1) < 1e-3 for row in later["z"])
    page.wait_for_function("() => /Claim (not )?reproduced/.test(document.body.innerText)", timeout=240_000)
    screenshot(page, "translation_attention_verdict")
    assert "Claim reproduced" in page.inner_text("body")
    page.wait_for_function(LR_SHOWN_JS, arg="0.001", timeout=30_000)  # the schedule's last rate, not the start's 0.01
    assert "This lesson's schedule sets the rate: 0.01 at the start" in page.inner_text("body")
