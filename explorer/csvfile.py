"""A visitor's CSV file -> its columns of numbers, for the csv task. Every problem is one ValueError in plain words.

Not Streamlit, and not run in the server: the page hands the bytes to a pool process (explorer/ui/series_ui.py),
so a hostile file costs that process, never the server. Nothing here evaluates a cell: a cell is a number
(float() of its text, finite) or it is not, so spreadsheet formulas such as =cmd|'/C calc'!A0 are only text.
"""
from __future__ import annotations

import codecs
import csv
import io
import math

import numpy as np

from explorer.config import LIMITS, describe
from explorer.tasks.series import MIN_POINTS

MAX_COLUMNS = 200  # fields per row the reader accepts
MAX_OFFERED = 20  # numeric columns offered to pick from
MAX_OFFERED_VALUES = 250_000  # values of all offered columns together: 2 MB kept in the visitor's session
MAX_NAME = 40  # characters of a column name kept for the picker


def decode(data: bytes) -> str:
    """UTF-8 (with or without a BOM), UTF-16 with its BOM, else Windows-1252; ValueError for binary bytes."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ValueError("the file says it is UTF-16 but is not valid UTF-16") from None
    if b"\x00" in data[:65536]:
        raise ValueError("this looks like a binary file (it has NUL bytes), not a CSV text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # numbers are ASCII in every one of these


def number(cell: str) -> float | None:
    """A cell's finite number, or None if it is not one ('' included). '1,5' is not a number here."""
    text = cell.strip()
    if not text or len(text) > 40:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def _rows(text: str) -> list[list[str]]:
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel  # one column, or nothing to tell from
    rows = []
    reader = csv.reader(io.StringIO(text), dialect, strict=True)  # an unclosed quote is an error, not one huge cell
    try:
        for row in reader:
            if len(row) > MAX_COLUMNS:
                raise ValueError(f"row {reader.line_num} has {len(row):,} fields; at most {MAX_COLUMNS} are read")
            if any(cell.strip() for cell in row):
                rows.append(row)
            if len(rows) > LIMITS.max_series_len + 1:
                raise ValueError(f"the file has more than {LIMITS.max_series_len:,} rows; cut it to that many")
    except csv.Error as error:
        raise ValueError(f"the file is not valid CSV near line {reader.line_num} ({str(error)[:80]})") from None
    return rows


def read_columns(data: bytes) -> dict[str, np.ndarray]:
    """Column name -> its values (float64), for each column (at most MAX_OFFERED, MAX_OFFERED_VALUES values in
    all) whose every cell is a finite number.

    The first row is a header when any of its cells is not a number (else columns are named 'column 1', ...).
    ValueError, in words for the visitor, when no column qualifies: it says why for the first few.
    """
    if len(data) > LIMITS.max_csv_mb * 2**20:
        raise ValueError(f"the file is {len(data) / 2**20:.1f} MB; series files up to {LIMITS.max_csv_mb} MB load")
    if not data.strip():
        raise ValueError("the file is empty")
    rows = _rows(decode(data))
    if not rows:
        raise ValueError("the file has no rows")
    header = any(number(cell) is None for cell in rows[0])
    width = max(len(row) for row in rows)
    names = _names(rows[0] if header else [], width)
    body = rows[1:] if header else rows
    columns, why = {}, []
    for k, name in enumerate(names):
        if len(columns) == MAX_OFFERED or (len(columns) + 1) * len(body) > MAX_OFFERED_VALUES:
            break
        values, problem = _column(body, k, first_row=2 if header else 1)
        if problem:
            why.append(f"{name}: {problem}")
        else:
            columns[name] = np.array(values, dtype=np.float64)
    if not columns:
        raise ValueError("no column holds a series of numbers. " + "; ".join(why[:3]))
    return columns


def _names(header: list[str], width: int) -> list[str]:
    names = []
    for k in range(width):
        raw = header[k].strip() if k < len(header) else ""
        name = "".join(c for c in raw if c.isprintable())[:MAX_NAME] or f"column {k + 1}"
        while name in names:
            name += "'"
        names.append(name)
    return names


def _column(body: list[list[str]], k: int, first_row: int = 1) -> tuple[list[float], str]:
    """(values, "") or ([], why the column is not a series of numbers); rows counted as in the file (blank ones skipped)."""
    values = []
    for line, row in enumerate(body, start=first_row):
        cell = row[k] if k < len(row) else ""
        value = number(cell)
        if value is None:
            return [], f"row {line} holds {describe(cell.strip(), 24) if cell.strip() else 'nothing'}, not a number"
        if not math.isfinite(value):
            return [], f"row {line} holds {cell.strip()[:12]!r}: only finite numbers can be forecast"
        if abs(value) > 1e30:
            return [], f"row {line} holds {cell.strip()[:24]!r}, beyond ±1e30"
        values.append(value)
    if len(values) < MIN_POINTS:
        return [], f"{len(values)} value(s); a series needs at least {MIN_POINTS}"
    return values, ""


def is_counter(values: np.ndarray) -> bool:
    """A row number or a date-like count (0, 1, 2, ... or 1990, 1991, ...): every step the same, so nothing to forecast."""
    steps = np.diff(np.asarray(values, dtype=np.float64))
    return steps.size > 0 and bool(np.all(steps == steps[0]))


def first_series_column(columns: dict[str, np.ndarray]) -> str:
    """The column a forecaster is picked for first: the first that is not a counter (tables often start with a
    row number or a year); the first column when every one is."""
    return next((name for name, values in columns.items() if not is_counter(values)), next(iter(columns)))


def checked_columns(data: bytes) -> tuple[str, dict[str, np.ndarray] | str]:
    """In a pool process: ("ok", read_columns(data)) or ("refused", why): a job's error would lose the why."""
    try:
        return "ok", read_columns(data)
    except ValueError as error:
        return "refused", str(error)
