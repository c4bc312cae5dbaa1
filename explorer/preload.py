"""Imported once by the forkserver that training processes fork from (explorer/ui/worker.py). Not run elsewhere.

torch is imported here so a training process starts in milliseconds. One thread, before any torch op:
an OpenMP pool started in the forkserver would deadlock in the processes forked from it; each
training process then sets the thread count the server was configured with.
torch._dynamo too: every optimizer's first construction imports it (torch._disable_dynamo), which took
3-5 s in each training process on a loaded 2-core machine, so every Train and Step waited for it.
Then one tiny training step and trace of each architecture: what a process does first (lazy imports, first
calls into autograd and the optimizer) is done once here. Measured on the default setup, Worker.step (a Step's
process, from start to its answer) took 101 ms without this and 54 ms with it; a fresh process's first
train_step 40 ms against 5 ms.
"""
import torch

torch.set_num_threads(1)

import torch._dynamo  # noqa: E402,F401 - see above: imported once here, not in every training process

import explorer.trainer  # noqa: E402,F401 - the point of this module: import it before any fork


def _warm_up() -> None:
    from explorer.config import ARCHITECTURES, RunConfig
    from explorer.run import Run

    for arch in ARCHITECTURES:
        try:
            run = Run(RunConfig(arch=arch, task="sine", hidden_size=8, seq_len=5, batch_size=2))
            run.train_step()
            Run.load(run.to_bytes()).trace()
        except Exception:  # noqa: BLE001 - a warm-up never stops the forkserver; the process does it again
            pass


_warm_up()
