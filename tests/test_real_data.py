"""Issue 13, items 3 and 4: your own series (csv) and the shipped real data (ecg, stocks, music).

Each task's small model against its baseline, the data's provenance next to it, a csv run's series in its
file (and never in its config or link), and hostile CSV files, each crafted here.
"""
from __future__ import annotations

import codecs
import io
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer import Run, RunConfig, csvfile, data_checks, evaluate
from explorer.config import LIMITS
from explorer.tasks import make_task
from explorer.tasks.music import END, VOCAB, melodies, notes, to_abc
from explorer.tasks.series import MIN_POINTS, Csv, compare_to_naive, ecg_record
from explorer.presets import Rule
from explorer.urlstate import params_from_config
from tests.test_tasks import Claim

torch.set_num_threads(1)  # as the other training tests; tests.margins sets its own after importing this


DATA = Path(__file__).resolve().parents[1] / "explorer" / "data"
TEST_SEED = 0  # tests.margins-style sweeps over seeds 0-7 are recorded in docs/presets.md


def trained(task: str, seed: int = TEST_SEED, series=None, **options) -> Run:
    """The app's own Run, as a student would set it: Adam, clipping at 1."""
    steps = options.pop("steps")
    config = RunConfig(arch="lstm", task=task, clip_grad_norm=1.0, seed=seed, **options)
    run = Run(config, series=series)
    run.train(steps)
    assert run.status == "ok"
    return run


# -- data provenance -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mitdb.csv", "stocks.csv", "oneills_melodies.tsv"])
def test_shipped_data_is_small_and_its_source_and_licence_are_written_next_to_it(name):
    readme = (DATA / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith(f"| `{name}`"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert len(cells) == 5 and all(cells), "file, used by, what, source, licence"
    assert re.search(r"licen[cs]e|public domain", cells[4], re.I)
    assert (DATA / name).stat().st_size < 200_000


def test_the_tasks_read_only_the_shipped_files(monkeypatch):
    """Nothing is fetched at run time: with sockets refused, every real-data task still builds."""
    import socket

    monkeypatch.setattr(socket, "socket", lambda *a, **k: pytest.fail("a task opened a socket"))
    for name in ("ecg", "stocks", "music", "csv"):
        make_task(name, 20)


def test_ecg_labels_mark_one_abnormal_stretch_in_the_held_out_tail():
    values, labels = ecg_record()
    task = make_task("ecg", 50)
    abnormal = labels.nonzero()[:, 0]
    assert len(values) == 1250 and abnormal.min() >= task.test_start  # training sees normal beats only
    assert (abnormal.diff() == 1).all()  # one stretch


def test_every_shipped_tune_is_in_range_and_only_public_domain_transcriptions_are_used():
    tunes = melodies()
    assert len(tunes) == 400
    for _, tokens in tunes:
        assert set(tokens) <= set(VOCAB) - {END}
        assert tokens[0] not in "-r" or tokens[0] == "r"
    header = (DATA / "oneills_melodies.tsv").read_text().splitlines()[0]
    assert "O'Neill" in header and "1903" in header


# -- each task against its baseline ---------------------------------------------------------


def ecg_figures(seed: int) -> dict[str, float]:
    check = data_checks.forecast_check(trained("ecg", seed, seq_len=50, hidden_size=32, lr=1e-2, steps=300))
    return {"held-out MSE / naive MSE": check["mse"] / check["naive"],
            "error on the abnormal beat / on normal beats": check["abnormal"] / check["normal"]}


def music_figures(seed: int) -> dict[str, float]:
    run = trained("music", seed, seq_len=64, hidden_size=64, lr=1e-2, steps=300)
    return {"held-out accuracy - chance": run.evaluate() - run.task.chance}


def csv_figures(seed: int) -> dict[str, float]:
    t = torch.arange(600, dtype=torch.float64)
    series = 20 + 5 * torch.sin(2 * math.pi * t / 25) + 0.02 * t  # a seasonal series in its own units
    mse, naive = evaluate.forecast_scores(trained("csv", seed, series=series.tolist(), seq_len=30, hidden_size=32,
                                                  lr=1e-2, steps=300))
    return {"held-out MSE / naive MSE": mse / naive}


def stocks_figures(seed: int) -> dict[str, float]:
    check = data_checks.forecast_check(trained("stocks", seed, seq_len=24, hidden_size=8, lr=3e-3, steps=200))
    word, sentence = compare_to_naive(check["mse"], check["naive"])
    assert (word, sentence) == (check["verdict"], check["sentence"])  # the page's words are the numbers'
    assert f"{check['mse']:.3g}" in sentence and f"{check['naive']:.3g}" in sentence
    return {"held-out MSE / naive MSE": check["mse"] / check["naive"]}


CLAIMS = {claim.name: claim for claim in (  # tests.margins sweeps them: docs/presets.md records the worst seeds
    Claim("a small LSTM forecasts the ECG and its error jumps at the abnormal beat", ecg_figures,
          (Rule("held-out MSE / naive MSE", "<", 0.5), Rule("error on the abnormal beat / on normal beats", ">", 2.0))),
    Claim("a small LSTM writes melodies better than always guessing hold", music_figures,
          (Rule("held-out accuracy - chance", ">", 0.05),)),
    Claim("a small LSTM beats repeating the last value on an uploaded series", csv_figures,
          (Rule("held-out MSE / naive MSE", "<", 0.5),)),
    Claim("past monthly returns do not beat the naive forecast (a tie is the lesson)", stocks_figures,
          (Rule("held-out MSE / naive MSE", ">", 0.85),)),
)}


@pytest.mark.parametrize("name", list(CLAIMS))
def test_real_data_claim_holds(name):
    CLAIMS[name].check(TEST_SEED)


def test_music_chance_is_always_guessing_hold():
    assert make_task("music", 64).chance == pytest.approx(0.289, abs=0.01)  # "-" (hold) is the commonest token


def test_generate_writes_a_tune_as_notes_and_abc():
    run = trained("music", seq_len=32, hidden_size=16, lr=1e-2, steps=20)
    tokens = data_checks.tune(run, 64, 1.0, seed=3)
    assert tokens == data_checks.tune(run, 64, 1.0, seed=3)  # seeded
    assert len(tokens) == 64 and set(tokens) <= set(VOCAB)
    abc = to_abc(tokens)
    assert abc.startswith("X:1\nT:Generated tune\nM:none\nL:1/8\nK:C\n")


def test_the_stocks_baseline_is_the_price_staying_put():
    task = make_task("stocks", 12)
    x, y = task.sample_test(64, torch.Generator().manual_seed(0))
    mask = ~torch.isnan(y)
    assert task.baseline_mse(x, y) == pytest.approx(torch.mean(y[mask] ** 2).item())
    assert task.mean == 0.0  # 0 in model units is a log return of 0


@pytest.mark.parametrize("model, naive, word", [(0.5, 1.0, "beats"), (0.97, 1.0, "ties"), (1.04, 1.0, "ties"),
                                                (1.3, 1.0, "loses")])
def test_the_comparison_with_the_naive_forecast_is_worded_by_the_numbers(model, naive, word):
    got, sentence = compare_to_naive(model, naive)
    assert got == word
    assert ("lower" in sentence) == (word == "beats") and ("higher" in sentence) == (word == "loses")


# -- a csv run's series: in the run and its file, never in its config or link --------------------


def test_a_csv_run_keeps_its_series_through_save_and_load_and_out_of_the_link():
    values = [float(v % 9) for v in range(100)]
    run = Run(RunConfig(task="csv", seq_len=10, hidden_size=8), series=values)
    run.train(3)
    loaded = Run.load(run.to_bytes())
    assert loaded.series.tolist() == values and loaded.step == 3
    assert "series" not in RunConfig.__dataclass_fields__
    assert not any("series" in key for key in params_from_config(run.config))
    fresh = Run(RunConfig(task="csv", seq_len=10, hidden_size=8))
    assert torch.equal(fresh.series, Csv.example())  # no upload yet: the example stands in


def test_a_series_is_refused_for_other_tasks_and_when_it_is_not_a_series():
    with pytest.raises(ValueError, match="csv task only"):
        Run(RunConfig(task="sine"), series=[1.0] * 50)
    for bad, match in (([1.0] * (MIN_POINTS - 1), "at least"), ([1.0] * 30 + [math.nan], "finite"),
                       ([1.0] * 30 + [math.inf], "finite"), ("abc", "numbers"),
                       ([0.0] * (LIMITS.max_series_len + 1), "at most")):
        with pytest.raises(ValueError, match=match):
            Run(RunConfig(task="csv"), series=bad)


def _tampered(run: Run, **changes) -> bytes:
    state = run.state()
    state.update(changes)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def test_run_files_with_a_bad_series_are_refused():
    csv_run = Run(RunConfig(task="csv", seq_len=10, hidden_size=8), series=[float(v) for v in range(40)])
    sine_run = Run(RunConfig(task="sine", seq_len=10, hidden_size=8))
    for data, match in (
        (_tampered(sine_run, series=torch.zeros(40)), "csv task only"),
        (_tampered(csv_run, series=torch.full((40,), math.nan)), "non-finite"),
        (_tampered(csv_run, series=torch.zeros(5)), "float32 tensor of"),
        (_tampered(csv_run, series=torch.zeros(40, dtype=torch.float64)), "float32"),
        (_tampered(csv_run, series=[1.0] * 40), "float32 tensor of"),
    ):
        with pytest.raises(ValueError, match=match):
            Run.load(data)
    state = csv_run.state()
    del state["series"]
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with pytest.raises(ValueError, match="float32 tensor of"):
        Run.load(buffer.getvalue())


# -- hostile and awkward CSV files -------------------------------------------------------------


def refused(data: bytes, match: str) -> None:
    kind, why = csvfile.checked_columns(data)
    assert kind == "refused", why
    assert re.search(match, why), why


def numbers(n: int, start: int = 0) -> bytes:
    return b"".join(b"%d\n" % (start + i) for i in range(n))


def test_a_column_of_numbers_with_or_without_a_header_is_read():
    for data, name in ((numbers(30), "column 1"), (b"value\n" + numbers(30), "value")):
        columns = csvfile.read_columns(data)
        assert list(columns) == [name] and columns[name].tolist() == [float(i) for i in range(30)]


def test_the_numeric_columns_of_a_table_are_offered_and_the_others_said_why():
    rows = b"".join(b"2020-01-%02d;%d;%s;x\n" % (i % 28 + 1, i, str(i * 0.5).encode()) for i in range(30))
    columns = csvfile.read_columns(b"date;close;half;note\n" + rows)
    assert list(columns) == ["close", "half"] and columns["half"][3] == 1.5


def test_the_first_column_picked_is_not_a_row_number_or_a_year():
    rows = b"".join(b"%d,%d,%.2f\n" % (i, 1990 + i, (-1) ** i * i / 7) for i in range(30))
    columns = csvfile.read_columns(b"day,year,temperature\n" + rows)
    assert list(columns) == ["day", "year", "temperature"] and csvfile.first_series_column(columns) == "temperature"
    counters = csvfile.read_columns(b"day,year\n" + b"".join(b"%d,%d\n" % (i, 2000 + 2 * i) for i in range(30)))
    assert csvfile.first_series_column(counters) == "day"  # nothing else to pick: the first column
    assert not csvfile.is_counter(np.array([1.0, 2.0, 4.0]))


def test_a_wide_table_offers_at_most_the_values_a_session_keeps():
    row = b",".join(b"%d" % k for k in range(13)) + b"\n"
    columns = csvfile.read_columns(row * 25_000)  # 13 numeric columns of 25,000 rows
    assert len(columns) == csvfile.MAX_OFFERED_VALUES // 25_000 and list(columns)[0] == "column 1"
    assert sum(v.nbytes for v in columns.values()) <= 8 * csvfile.MAX_OFFERED_VALUES


def test_a_file_over_the_size_cap_is_refused_before_it_is_read():
    refused(b"1\n" * (LIMITS.max_csv_mb * 2**20 // 2 + 1), r"MB; series files up to")


def test_a_file_over_the_row_cap_is_refused():
    refused(numbers(LIMITS.max_series_len + 2), "more than .* rows")


def test_binary_files_are_refused():
    refused(bytes(range(256)) * 100, "binary")
    refused(b"PK\x03\x04" + b"\x00" * 500, "binary")  # a zip, e.g. an .xlsx renamed .csv


@pytest.mark.parametrize("bad", [b"nan", b"NaN", b"inf", b"-Infinity", b"1e999"])
def test_nan_and_infinite_values_are_refused_naming_the_row(bad):
    refused(numbers(25) + bad + b"\n" + numbers(5), r"row 26 .*finite")


def test_one_row_and_empty_files_are_refused():
    refused(b"42\n", f"at least {MIN_POINTS}")
    refused(b"", "empty")
    refused(b"\n\n  \n", "empty")
    refused(b"price\n", "at least")


def test_spreadsheet_formulas_are_text_and_never_evaluated():
    formula = b"=cmd|' /C calc'!A0"
    refused(b"value\n" + (formula + b"\n") * 30, "not a number")
    refused(b"value\n" + b"@SUM(1+1)*cmd|' /C calc'!A0\n" * 30, "not a number")
    kind, columns = csvfile.checked_columns(b"+1\n-2\n" * 15)  # a leading sign is a number, not a formula
    assert kind == "ok" and columns["column 1"][:2].tolist() == [1.0, -2.0]


def test_other_encodings_are_read_or_refused_clearly():
    text = "Température\n" + "".join(f"{i}.5\n" for i in range(30))
    for data in (codecs.BOM_UTF8 + text.encode("utf-8"), text.encode("utf-16"), text.encode("cp1252")):
        kind, columns = csvfile.checked_columns(data)
        assert kind == "ok" and list(columns.values())[0][:2].tolist() == [0.5, 1.5]
    refused(codecs.BOM_UTF16_LE + b"\x00\xd8", "UTF-16")  # a lone surrogate


def test_ragged_quoted_and_malformed_rows():
    refused(b'"unclosed\n' + numbers(30), "not valid CSV near line 31")
    assert list(csvfile.read_columns(b"a,b\n" + b"1,2\n" * 10 + b"3\n" * 20)) == ["a"]  # b has holes
    refused(b"a,b\n" + b"x,2\n" * 10 + b"3\n" * 20, "b: row 12 holds nothing")
    refused(b",".join([b"1"] * (csvfile.MAX_COLUMNS + 1)) + b"\n", "fields")


def test_column_names_are_cut_to_printable_text():
    columns = csvfile.read_columns(("x\u202e\u0007" + "y" * 100 + "\n").encode() + numbers(30))
    (name,) = columns
    assert name.isprintable() and len(name) <= csvfile.MAX_NAME


ABC_NOTE = re.compile(r"(\^|=)?([A-Ga-gz])([,']*)(\d*)")
NATURAL = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def read_abc(body: str) -> list[tuple[int | None, int]]:
    """The notes of the ABC that to_abc writes (K:C, L:1/8, sharps and naturals held to the end of the bar)."""
    out = []
    for bar in body.split("|"):
        sharp: set[str] = set()
        for accidental, letter, marks, length in ABC_NOTE.findall(bar):
            if letter == "z":
                out.append((None, int(length or 1)))
                continue
            if accidental == "^":
                sharp.add(letter.upper())
            elif accidental == "=":
                sharp.discard(letter.upper())
            octave = (5 if letter.islower() else 4) + marks.count("'") - marks.count(",")
            out.append((12 * (octave + 1) + NATURAL[letter.upper()] + (letter.upper() in sharp), int(length or 1)))
    return out


def test_abc_of_every_shipped_tune_plays_back_its_notes():
    for title, tokens in melodies():
        abc = to_abc(tokens, title)
        body = abc.split("K:C\n", 1)[1]
        assert read_abc(body) == notes(tokens), title
