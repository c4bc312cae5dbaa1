"""The csv task's own series in the sidebar: upload a CSV, pick a column. It lives in this session only.

The bytes are read in a pool process (explorer/csvfile.py via explorer/ui/jobs.py), never in the server;
the chosen column is kept in session state and handed to the runs (explorer/ui/session.py), never to the URL.
"""
from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st
import torch

from explorer import csvfile
from explorer.config import LIMITS
from explorer.tasks.series import check_series
from explorer.ui import jobs, session, state
from explorer.ui.plain import plain

UPLOAD = "csv_upload"  # the file uploader (a widget key)
PICK = "csv_column"  # the column picker (a widget key)
SERIES = state.CSV_SERIES  # (label, values, fingerprint): what the csv task trains on; absent: the example stands in
COLUMNS = "csv_columns"  # (file name, {column: values}) of the last file read
ERROR = "csv_error"  # why the last file was refused


def current() -> np.ndarray | None:
    chosen = st.session_state.get(SERIES)
    return chosen[1] if chosen else None


def label() -> str:
    chosen = st.session_state.get(SERIES)
    return chosen[0] if chosen else ""


def keep(label_: str, values) -> None:
    """Make `values` the session's series (a loaded run's, or a picked column)."""
    values = np.asarray(values, dtype=np.float64)
    fingerprint = hashlib.sha256(values.tobytes()).hexdigest()  # tells a new series from the last
    st.session_state[SERIES] = (label_, values, fingerprint)


def _read() -> None:
    """Uploader callback: the file is read in a pool process; a refused file leaves the current series alone."""
    upload = st.session_state.get(UPLOAD)
    if upload is None:
        return
    st.session_state[ERROR] = None
    if upload.size > LIMITS.max_csv_mb * 2**20:
        st.session_state[ERROR] = f"{upload.name} is {upload.size / 2**20:.1f} MB; series files up to {LIMITS.max_csv_mb} MB load."
        return
    try:
        kind, value = jobs.run(csvfile.checked_columns, upload.getvalue(), should_stop=session.page_closed())
    except jobs.JobError as error:
        kind, value = "refused", str(error).rstrip(".")
    if kind != "ok":
        st.session_state[ERROR] = f"Could not use {upload.name}: {value}. The series you had is unchanged."
        return
    st.session_state[COLUMNS] = (upload.name, value)
    first = next(iter(value))
    st.session_state[PICK] = first
    _pick()


def _pick() -> None:
    read = st.session_state.get(COLUMNS)
    column = st.session_state.get(PICK)
    if not read or column not in read[1]:
        return
    name, columns = read
    try:
        check_series(torch.from_numpy(columns[column]))
    except ValueError as error:
        st.session_state[ERROR] = f"Column {column} of {name}: {error}. The series you had is unchanged."
        return
    keep(f"{column} of {name}", columns[column])


def draw(box) -> None:
    """The uploader, the column picker and what the task trains on now."""
    box.file_uploader("Your own series (CSV)", type=["csv", "txt", "tsv"], key=UPLOAD, on_change=_read,
                      max_upload_size=LIMITS.max_csv_mb,
                      help=f"A column of numbers, one per row, in time order (a header row is fine). Up to "
                           f"{LIMITS.max_csv_mb} MB and {LIMITS.max_series_len:,} rows.")
    read = st.session_state.get(COLUMNS)
    if read and len(read[1]) > 1:
        box.selectbox("Column", list(read[1]), key=PICK, on_change=_pick, help="Which column is the series.")
    error = st.session_state.get(ERROR)
    if error:
        box.error(plain(error))  # the file's name and cells are the visitor's
    values = current()
    if values is None:
        box.caption("No file yet: an example series (a yearly wave with a trend, 240 months) stands in.")
    else:
        box.caption(plain(f"Training on {label()}: {len(values):,} values."))
    box.caption("Your series stays in this browser session only: it is not put in the link, so a shared link "
                "opens the example series.")
