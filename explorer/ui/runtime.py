"""Process-wide settings made once at start-up. torch's thread count is global to the process."""
from __future__ import annotations

import os
import sys

import torch

SWITCH_INTERVAL_S = float(os.environ.get("RNNX_SWITCH_INTERVAL_S", 0.0005))

_done = False


def configure_torch() -> int:
    """RNNX_TORCH_THREADS sets torch's thread count; the default is 1.

    The models here are small: measured on a 2-core machine with the server and a browser running,
    a training step took 4x longer with 2 torch threads than with 1 (threads wait for each other
    whenever a core is busy). Raise it for big hidden sizes on an idle many-core machine.
    """
    global _done
    if not _done:
        wanted = os.environ.get("RNNX_TORCH_THREADS", "")
        threads = int(wanted) if wanted.isdigit() and int(wanted) > 0 else 1
        torch.set_num_threads(threads)
        # Every small torch op releases the GIL; with Python's 5 ms default the training thread then
        # waits behind the page's chart building after each op. A short interval hands it back fast.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        _done = True
    return torch.get_num_threads()


def set_plotly_checks(enabled: bool) -> None:
    """Turn plotly's per-property validation on or off for every figure built in this process.

    Off in the server: chart building runs 3x faster, and the training thread, which shares the
    GIL with it, trains faster while the page redraws. tests/test_plotly_checks.py proves that every
    chart builder makes the identical figure either way, and the chart tests run with checks on.
    """
    import plotly.basedatatypes as bd

    original = _PLOTLY_INITS.setdefault("inits", (bd.BaseFigure.__init__, bd.BasePlotlyType.__init__))
    if enabled:
        bd.BaseFigure.__init__, bd.BasePlotlyType.__init__ = original
        return
    figure_init, object_init = original

    def unchecked_figure(self, *args, **kwargs):
        kwargs.setdefault("_validate", False)
        figure_init(self, *args, **kwargs)

    def unchecked_object(self, *args, **kwargs):
        object_init(self, *args, **kwargs)
        self._validate = False

    bd.BaseFigure.__init__, bd.BasePlotlyType.__init__ = unchecked_figure, unchecked_object


_PLOTLY_INITS: dict = {}
