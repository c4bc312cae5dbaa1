"""The csv task's own series in the sidebar: upload a CSV, pick a column. It lives in this session only.

The bytes are read in a pool process (explorer/csvfile.py via explorer/ui/jobs.py), never in the server;
the chosen column is kept on the Session (explorer/ui/session.py), which hands it to the runs, never to the URL.
"""
from __future__ import annotations

import numpy as np
import torch

from explorer import csvfile
from explorer.config import LIMITS
from explorer.tasks.series import check_series
from explorer.ui import jobs, session, state
from explorer.ui.plain import plain

UPLOAD = "csv_upload"  # the file uploader (a widget key)
PICK = "csv_column"  # the column picker (a widget key)


def current() -> np.ndarray | None:
    chosen = session.this().series
    return chosen[1] if chosen else None


def label() -> str:
    chosen = session.this().series
    return chosen[0] if chosen else ""


def _read() -> None:
    """Uploader callback: the file is read in a pool process; a refused file leaves the current series alone."""
    upload, me = state.widget(UPLOAD), session.this()
    if upload is None:
        return
    me.series_error = ""
    if upload.size > LIMITS.max_csv_mb * 2**20:
        me.series_error = f"{upload.name} is {upload.size / 2**20:.1f} MB; series files up to {LIMITS.max_csv_mb} MB load."
        return
    try:
        kind, value = jobs.run(csvfile.checked_columns, upload.getvalue(), should_stop=session.page_closed())
    except jobs.JobError as error:
        kind, value = "refused", str(error).rstrip(".")
    if kind != "ok":
        me.series_error = f"Could not use {upload.name}: {value}. The series you had is unchanged."
        return
    me.series_file = (upload.name, value)
    state.set_widget(PICK, csvfile.first_series_column(value))
    _pick()


def _pick() -> None:
    me = session.this()
    read, column = me.series_file, state.widget(PICK)
    if not read or column not in read[1]:
        return
    name, columns = read
    try:
        check_series(torch.from_numpy(columns[column]))
    except ValueError as error:
        me.series_error = f"Column {column} of {name}: {error}. The series you had is unchanged."
        return
    me.keep_series(f"{column} of {name}", columns[column])


def draw(box) -> None:
    """The uploader, the column picker and what the task trains on now."""
    box.file_uploader("Your own series (CSV)", type=["csv", "txt", "tsv"], key=UPLOAD, on_change=_read,
                      max_upload_size=LIMITS.max_csv_mb,
                      help=f"A column of numbers, one per row, in time order (a header row is fine). Up to "
                           f"{LIMITS.max_csv_mb} MB and {LIMITS.max_series_len:,} rows.")
    read = session.this().series_file
    if read and len(read[1]) > 1:
        box.selectbox("Column", list(read[1]), key=PICK, on_change=_pick,
                      help="Which column is the series. The first picked is the first that is not a counter "
                           "(a row number or a year going up by the same step each row).")
    error = session.this().series_error
    if error:
        box.error(plain(error))  # the file's name and cells are the visitor's
    values = current()
    if values is None:
        box.caption("No file yet: an example series (a yearly wave with a trend, 240 months) stands in.")
    else:
        box.caption(plain(f"Training on {label()}: {len(values):,} values."))
    box.caption("Your series stays in this browser session only: it is not put in the link, so a shared link "
                "opens the example series.")
