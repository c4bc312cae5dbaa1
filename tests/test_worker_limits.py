"""The training process's messages (issue 18.7): an error in training shows only our message on the page, and the
detail goes to the server's log."""
from __future__ import annotations

import logging
import multiprocessing

import torch

from explorer.trainer import ERROR_MESSAGE, serve


def test_an_error_in_training_shows_only_our_message_and_logs_the_detail(caplog):
    parent, child = multiprocessing.Pipe()
    with caplog.at_level(logging.ERROR, logger="explorer.trainer"):
        serve(child, [b"PK\x03\x04 <b>not a run</b>"], 10, 0.1, "normal", torch.get_num_threads(), 0)
    note = parent.recv()
    assert note == {"kind": "error", "message": ERROR_MESSAGE}
    assert "ValueError" in caplog.text  # the library's words are in the log, not on the page

