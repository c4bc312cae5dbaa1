"""Imported once by the forkserver that training processes fork from (explorer/ui/worker.py). Not run elsewhere.

torch is imported here so a training process starts in milliseconds. One thread, before any torch op:
an OpenMP pool started in the forkserver would deadlock in the processes forked from it; each
training process then sets the thread count the server was configured with.
torch._dynamo too: every optimizer's first construction imports it (torch._disable_dynamo), which took
3-5 s in each training process on a loaded 2-core machine, so every Train and Step waited for it.
"""
import torch

torch.set_num_threads(1)

import torch._dynamo  # noqa: E402,F401 - see above: imported once here, not in every training process

import explorer.trainer  # noqa: E402,F401 - the point of this module: import it before any fork
