"""Imported once by the forkserver that training processes fork from (explorer/ui/worker.py). Not run elsewhere.

torch is imported here so a training process starts in milliseconds. One thread, before any torch op:
an OpenMP pool started in the forkserver would deadlock in the processes forked from it; each
training process then sets the thread count the server was configured with.
"""
import torch

torch.set_num_threads(1)

import explorer.trainer  # noqa: E402,F401 - the point of this module: import it before any fork
