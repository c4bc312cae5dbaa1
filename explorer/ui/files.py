"""Download the session's run and upload one back: Run.save, and Run.load's checks in a pool process (explorer/ui/opening.py)."""
from __future__ import annotations

import weakref
from functools import partial

import streamlit as st

from explorer.config import LIMITS
from explorer.ui import jobs, opening, session, state
from explorer.ui.plain import plain
from explorer.ui.worker import Worker

UPLOAD = "run_upload"


def _load_uploaded() -> None:
    """Uploader callback (runs before the script, so it may set the sidebar)."""
    upload, me = state.widget(UPLOAD), session.this()
    if upload is None:
        return
    if upload.size > LIMITS.max_upload_mb * 2**20:
        me.upload_error = f"That file is {upload.size / 2**20:.1f} MB; runs up to {LIMITS.max_upload_mb} MB load."
        return
    try:  # read, checked and traced in a pool process under its memory limit: a hostile file cannot grow the server
        worker = opening.uploaded_worker(upload.getvalue(), should_stop=session.page_closed())
    except jobs.JobError as error:  # Run.load's message, or the pool's (out of memory, busy): ours only
        me.upload_error = f"Could not load {upload.name}: {str(error).rstrip('.')}. The current run is unchanged."
        return
    me.adopt(worker, upload.name)


def save_and_load(worker: Worker) -> None:
    with st.expander("Save or load a run"):
        run = worker.runs[0]
        st.download_button(
            "Download run", data=partial(_bytes, weakref.ref(worker)), mime="application/octet-stream",
            file_name=f"rnn-explorer-{run.config.arch}-{run.config.task}-step{run.step}.pt",
            help="Config, weights, optimizer state and history in one file (Run.load reads it in a notebook).",
            disabled=worker.training, on_click="ignore",
        )
        st.file_uploader("Load a run", type=["pt"], key=UPLOAD, on_change=_load_uploaded,
                         max_upload_size=LIMITS.max_upload_mb,
                         help="A file saved here or by Run.save(). Nothing in it is executed.")
        error = session.this().upload_error
        if error:
            st.error(plain(error))  # the file name and the file's values are the visitor's


def _bytes(ref: weakref.ref) -> bytes:
    """The run's file, made when the button is clicked. A weak reference: Streamlit keeps this callable
    after the session ends, and it must not keep the session's worker (and its runs) alive."""
    worker = ref()
    if worker is None:
        return b""
    with worker.models():
        return worker.runs[0].to_bytes()
