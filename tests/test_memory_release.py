"""Issue 18.6: when a browser's slot closes, nothing the ended session held keeps its runs, traces or tensors alive,
and the memory goes back to the system. Streamlit keeps an ended session (its state and its fragments, whose
arguments hold the worker) in its reconnect store; here a session's SessionState and MemoryFragmentStorage stand in
for it, held by the test as that store holds them."""
import functools
import gc
import json
import subprocess
import sys
import weakref
from pathlib import Path

from streamlit.runtime.fragment import MemoryFragmentStorage
from streamlit.runtime.state import SafeSessionState, SessionState

from explorer import Run, RunConfig
from explorer.ui import slot as slot_module
from explorer.ui.parking import Parking
from explorer.ui.pool import TrainerPool
from explorer.ui.worker import Worker
from tests.test_parking import wait_for

REPO = Path(__file__).resolve().parents[1]


def ended_session(slot: slot_module.Slot, worker: Worker, session_id: str):
    """A session's leftovers as Streamlit keeps them: the slot in its state, the live fragment's call with the worker."""
    values = SafeSessionState(SessionState(), yield_callback=lambda: None)
    values["rnnx_session"] = slot  # the Session object holds the slot
    values["inspect_view"] = worker.snapshot.runs[0].trace
    fragments = MemoryFragmentStorage()
    fragments.register("live", functools.partial(lambda w, training: None, worker, False))
    slot.used_by(session_id, values, fragments)
    return values, fragments


def test_a_closed_slot_leaves_no_run_trace_or_tensor_alive_in_its_ended_session():
    parking = Parking(keep_s=0.05, max_parked=8)
    slot = slot_module.Slot("me")
    parking.add(slot)
    parking.hold(slot)
    config = RunConfig(arch="lstm", seq_len=20, hidden_size=16, batch_size=8)
    worker = slot.replace(Worker([Run(config)], pool=TrainerPool(1)), ((config,), None))
    store = [ended_session(slot, worker, "session-1")]  # what Streamlit's reconnect store holds
    alive = [weakref.ref(worker), weakref.ref(worker.runs[0]), weakref.ref(next(worker.runs[0].model.parameters()))]
    del worker
    parking.let_go(slot)
    assert wait_for(lambda: parking.parked == 0)  # the window passed: the slot closed
    gc.collect()
    assert [ref() is None for ref in alive] == [True, True, True]
    values, fragments = store[0]
    assert values.filtered_state == {} and not fragments.contains("live")


def test_a_reload_that_takes_the_slot_over_empties_the_ended_page_state():
    slot = slot_module.Slot("me")
    config = RunConfig(arch="gru", seq_len=10, hidden_size=8, batch_size=8)
    worker = slot.replace(Worker([Run(config)], pool=TrainerPool(1)), ((config,), None))
    values, fragments = ended_session(slot, worker, "old")
    slot.forget_sessions()  # _slot() calls it when a new session claims the slot
    assert values.filtered_state == {} and not fragments.contains("live")
    assert slot.worker is worker  # the run itself goes on in the new page
    slot.close()


def test_an_ended_session_s_uploaded_file_goes_with_its_slot(monkeypatch):
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
    from streamlit.runtime.uploaded_file_manager import UploadedFileRec

    uploads = MemoryUploadedFileManager("/_stcore/upload_file")
    runtime = type("FakeRuntime", (), {"uploaded_file_mgr": uploads})()
    monkeypatch.setattr(slot_module.Runtime, "exists", staticmethod(lambda: True))
    monkeypatch.setattr(slot_module.Runtime, "instance", staticmethod(lambda: runtime))
    slot = slot_module.Slot("me")
    config = RunConfig(arch="gru", seq_len=10, hidden_size=8, batch_size=8)
    worker = slot.replace(Worker([Run(config)], pool=TrainerPool(1)), ((config,), None))
    ended_session(slot, worker, "old")
    uploads.add_file("old", UploadedFileRec("f1", "run.pt", "application/octet-stream", bytes(2**20)))
    uploads.add_file("other", UploadedFileRec("f2", "run.pt", "application/octet-stream", b"x"))
    slot.close()
    assert uploads.get_files("old", ["f1"]) == [] and len(uploads.get_files("other", ["f2"])) == 1


HEAVY_SESSIONS = """
import gc, json, sys, time
import torch
torch.set_num_threads(1)
from explorer import RunConfig
from explorer.ui import opening, slot as slot_module
from explorer.ui.parking import Parking
from explorer.ui.runtime import give_back_memory
from tests.test_memory_release import ended_session
from tests.test_parking import wait_for

def rss():
    return next(int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmRSS"))

parking = Parking(keep_s=0.05, max_parked=8)
small = RunConfig(arch="lstm", seq_len=20, hidden_size=8, batch_size=8)
heavy = RunConfig(arch="lstm", seq_len=1000, hidden_size=300, batch_size=8)
def visit(config, name):
    slot = slot_module.Slot(name)
    parking.add(slot)
    parking.hold(slot)
    worker = slot.replace(opening.new_worker((config,)), ((config,), None))
    store.append(ended_session(slot, worker, name))
    return slot
store = []
parking.let_go(visit(small, "warm"))  # imports, the forkserver, the allocator's first arenas
assert wait_for(lambda: parking.parked == 0)
give_back_memory()
baseline = rss()
slots = [visit(heavy, f"heavy-{i}") for i in range(2)]
held = rss()
for slot in slots:
    parking.let_go(slot)
assert wait_for(lambda: parking.parked == 0, timeout=30)
time.sleep(0.5)
give_back_memory()  # what Slot.close starts in a thread, once more after the last
print(json.dumps({"baseline": baseline, "held": held, "after": rss()}))
"""


def test_the_memory_two_heavy_sessions_held_goes_back_when_their_slots_close():
    """In a process of its own: RSS after two heavy sessions end is back within a quarter of what they held."""
    out = subprocess.run([sys.executable, "-c", HEAVY_SESSIONS], cwd=REPO, capture_output=True, text=True,
                         timeout=600, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-3000:]
    mb = json.loads(out.stdout.strip().splitlines()[-1])
    held = mb["held"] - mb["baseline"]
    assert held > 60, mb  # the sessions really held their traces (two of (8, 1000, 300) per internal)
    assert mb["after"] - mb["baseline"] < 0.25 * held, mb
