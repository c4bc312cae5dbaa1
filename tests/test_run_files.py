"""Hostile run files (issues 17 and 18): each is crafted here, and each is refused by Run.load with
one ValueError naming the field, before anything the file asks for is allocated."""
import copy
import io
import math
import struct
import zipfile

import numpy as np
import pytest
import torch

from explorer import Run, RunConfig
from explorer.runfile import MAX_PICKLE_BYTES, RunFile

torch.set_num_threads(1)
CONFIG = RunConfig(arch="lstm", task="adding", seq_len=10, hidden_size=8, batch_size=8, seed=0)


@pytest.fixture(scope="module")
def trained() -> Run:
    run = Run(CONFIG)
    run.trace()
    run.train(3)
    run.trace()
    return run


def state_of(run: Run) -> dict:
    """A copy to tamper with (a state dict shares the optimizer's own state dicts)."""
    return copy.deepcopy(run.state())


def saved(state: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def refused(data: bytes, match: str, monkeypatch=None) -> None:
    """Run.load(data) raises ValueError matching `match`, with no tensor read from the file."""
    if monkeypatch is not None:
        monkeypatch.setattr(RunFile, "tensor", lambda self, ref: pytest.fail(f"materialised {ref}"))
    with pytest.raises(ValueError, match=match):
        Run.load(data)


def test_every_arch_and_optimizer_round_trips_with_profiles_and_divergence():
    for config in (CONFIG.replace(bidirectional=True, optimizer="sgd"), CONFIG.replace(arch="gru", optimizer="rmsprop", num_layers=2),
                   CONFIG.replace(arch="rnn", clip_grad_norm=1.0), CONFIG.replace(arch="transformer", task="copy"),
                   CONFIG.replace(arch="rnn", lr=10.0, init="identity", nonlinearity="relu")):
        run = Run(config)
        run.trace()
        run.train(30)
        run.trace()
        loaded = Run.load(run.to_bytes())
        assert loaded.step == run.step and loaded.status == run.status and loaded.message == run.message
        for name, values in run.history.arrays().items():
            np.testing.assert_array_equal(loaded.history.arrays()[name], values)  # NaN where the run diverged
        assert [s for s, _ in loaded.history.profiles] == [s for s, _ in run.history.profiles]
        torch.testing.assert_close(loaded.optimizer.state_dict()["state"], run.optimizer.state_dict()["state"])
    assert loaded.status == "diverged" and loaded.message.startswith("Diverged")  # the last config diverges


def test_a_truncated_run_round_trips_and_trains_on_truncated():
    """bptt travels in the file's config: the loaded run cuts where the saved one did, and its next steps are the
    steps the saved run would have taken."""
    run = Run(CONFIG.replace(arch="gru", bptt=3))
    run.train(3)
    loaded = Run.load(run.to_bytes())
    assert loaded.config.bptt == 3 and loaded.model.bptt == 3
    run.train(2)
    loaded.train(2)
    np.testing.assert_array_equal(loaded.history.loss, run.history.loss)


def test_an_old_file_without_bptt_loads_as_full_bptt(trained):
    state = state_of(trained)
    del state["config"]["bptt"]
    assert Run.load(saved(state)).config.bptt is None


@pytest.mark.parametrize("value, match", [
    (0, r"bptt must be an integer from 1"), (-5, r"bptt must be an integer"), (2.5, r"bptt must be an integer"),
    ("5", r"bptt must be an integer"), (True, r"bptt must be an integer"), (10**30, r"bptt must be an integer"),
])
def test_a_bad_bptt_in_a_file_is_refused(trained, value, match, monkeypatch):
    state = state_of(trained)
    state["config"]["bptt"] = value
    refused(saved(state), r"invalid config: " + match, monkeypatch)


@pytest.mark.parametrize("config, match", [
    (dict(arch="transformer", task="copy"), r"bptt is for the rnn and lstm and gru only"),
    (dict(bidirectional=True), r"bptt must be None \(full BPTT\) for a bidirectional"),
])
def test_bptt_where_it_cannot_apply_is_refused_in_a_file(config, match, monkeypatch):
    state = state_of(Run(CONFIG.replace(**config)))
    state["config"]["bptt"] = 4
    refused(saved(state), r"invalid config: " + match, monkeypatch)


def test_version_1_files_with_profile_lists_still_load(trained):
    state = state_of(trained)
    state["version"] = 1
    state["history"]["profile_values"] = state["history"].pop("profiles").tolist()
    loaded = Run.load(saved(state))
    assert len(loaded.history.profiles) == 2 and loaded.history.profiles[1][1].shape == (1, 1, 10)


# -- issue 17: files that load and then break -----------------------------------------------------

def test_optimizer_state_with_the_wrong_shape_is_refused(trained, monkeypatch):
    state = state_of(trained)
    state["optimizer"]["state"][0]["exp_avg"] = torch.zeros(7, 2)
    refused(saved(state), r"optimizer\.state\[0\]\.exp_avg must be a float32 tensor of shape \(32, 2\)", monkeypatch)


def test_optimizer_state_with_missing_or_extra_slots_is_refused(trained, monkeypatch):
    state = state_of(trained)
    state["optimizer"]["state"][1]["max_exp_avg_sq"] = torch.zeros(32, 8)
    refused(saved(state), r"optimizer\.state\[1\] must hold step, exp_avg, exp_avg_sq", monkeypatch)
    state = state_of(trained)
    state["optimizer"]["state"][99] = state["optimizer"]["state"][0]
    refused(saved(state), r"optimizer\.state must map parameter indices", monkeypatch)


@pytest.mark.parametrize("lr", [1e30, math.nan, 3e-3 * 2])
def test_learning_rate_in_param_groups_must_be_the_configs(trained, lr, monkeypatch):
    state = state_of(trained)
    state["optimizer"]["param_groups"][0]["lr"] = lr
    refused(saved(state), r"optimizer\.param_groups must equal a fresh optimizer's", monkeypatch)


def test_history_with_stride_zero_is_refused(trained, monkeypatch):
    state = state_of(trained)
    state["history"]["stride"] = 0
    refused(saved(state), r"history\.stride must be a positive power of two")


def test_history_with_clip_grad_norm_as_a_string_is_refused(trained):
    state = state_of(trained)
    state["history"]["clip_grad_norm"] = "1.0"
    refused(saved(state), r"history\.clip_grad_norm must be None")


@pytest.mark.parametrize("edit, match", [
    (lambda h: h.update(loss=h["loss"][:-1]), r"history\.loss must be a list .* as long as history\.step"),
    (lambda h: h["metric"].__setitem__(0, math.inf), r"history\.metric must hold finite numbers"),
    (lambda h: h["loss"].__setitem__(-1, math.nan), r"history\.loss must hold finite numbers"),  # status is ok
    (lambda h: h["step"].__setitem__(0, 0.0), r"history\.step must be increasing"),
    (lambda h: h["step"].__setitem__(-1, 1e9), r"history\.step"),
    (lambda h: h.update(extra=1), r"unknown: 'extra'"),
    (lambda h: h.update({n: [float(i) for i in range(1, 2002)] for n in ("step", "loss", "metric", "grad_norm", "wall")}),
     r"history\.step must be a list of at most 2000 floats"),  # the history's size is capped at load
    (lambda h: h.update(metric_name="**bold** [x](http://e.x)"), r"history\.metric_name must be 'mse'"),
    (lambda h: h.update(profile_steps=[0, 10**6]), r"history\.profile_steps must increase"),
    (lambda h: h.update(wall=[w * 1e12 for w in h["wall"]]), r"history\.wall"),
])
def test_history_fields_are_checked(trained, edit, match):
    state = state_of(trained)
    edit(state["history"])
    refused(saved(state), match)


@pytest.mark.parametrize("field, value, match", [
    ("step", -1, r"step must be an integer from 0"), ("step", 10**12, r"step must be an integer"),
    ("step", 3.0, r"step must be an integer"), ("wall", math.nan, r"wall must be seconds"),
    ("wall", 1e300, r"wall must be seconds"), ("status", "pwned", r"status must be"),
    ("message", "line one\nline two", r"message must be one line of plain text"),
    ("message", "x" * 501, r"message must be one line of plain text, at most 500"),
    ("message", ["a list"], r"message must be"),
])
def test_step_wall_status_and_message_are_bounded(trained, field, value, match):
    state = state_of(trained)
    state[field] = value
    refused(saved(state), match)


def test_markdown_in_message_loads_as_the_text_it_is(trained):
    state = state_of(trained)
    state["message"] = "[Your session expired: log in again](https://evil.example/login) <b>hi</b>"
    assert Run.load(saved(state)).message == state["message"]  # shown as plain text: tests/test_untrusted_text.py


def test_unknown_and_missing_top_level_fields_are_refused(trained):
    state = state_of(trained)
    state["payload"] = 1
    refused(saved(state), r"unknown 'payload'")
    del state["payload"], state["wall"]
    refused(saved(state), r"missing wall")


# -- issue 18.2: decompression bombs and zip tricks -----------------------------------------------

def entries(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(info.filename, z.read(info)) for info in z.infolist()]


def rezip(items: list[tuple[str, bytes]], compress: dict[str, int] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in items:
            z.writestr(name, data, compress_type=(compress or {}).get(name, zipfile.ZIP_STORED))
    return buffer.getvalue()


def claim_size(data: bytes, name: str, size: int) -> bytes:
    """Patch the central directory so that entry `name` claims `size` bytes (compressed and not)."""
    start = data.index(b"PK\x01\x02")  # the first directory record
    while True:
        length = struct.unpack_from("<H", data, start + 28)[0]
        extra, comment = struct.unpack_from("<HH", data, start + 30)
        if data[start + 46:start + 46 + length].decode() == name:
            return data[:start + 20] + struct.pack("<II", size, size) + data[start + 28:]
        start += 46 + length + extra + comment


def test_rezipped_file_still_loads(trained):
    """The helpers below change only what each test says."""
    assert Run.load(rezip(entries(trained.to_bytes()))).step == 3


def test_an_extra_entry_of_deflated_zeros_is_refused(trained):
    items = entries(trained.to_bytes()) + [("archive/bomb", bytes(8 * 2**20))]
    data = rezip(items, {"archive/bomb": zipfile.ZIP_DEFLATED})
    assert len(data) < 100_000  # 8 MB of zeros deflate to a few KB
    refused(data, r"unknown entry 'bomb'")


def test_a_deflated_storage_entry_is_refused(trained):
    items = entries(trained.to_bytes())
    name = next(n for n, _ in items if n.endswith("/data/0"))
    refused(rezip(items, {name: zipfile.ZIP_DEFLATED}), r"entry 'data/0' is compressed")


def test_an_entry_claiming_gigabytes_is_refused_before_it_is_read(trained):
    data = rezip(entries(trained.to_bytes()))
    refused(claim_size(data, "archive/data/0", 2**32 - 2), r"entries hold .* bytes, more than 2 x its")


def test_an_unused_storage_entry_is_refused(trained):
    items = entries(trained.to_bytes()) + [("archive/data/999", bytes(1024))]
    refused(rezip(items), r"storage entries that no field uses")


def test_a_pickle_larger_than_the_config_allows_is_refused(trained):
    state = state_of(trained)
    state["message"] = "x" * MAX_PICKLE_BYTES
    refused(saved(state), r"data\.pkl holds .* bytes; at most")


def test_many_tiny_entries_are_refused_before_the_directory_is_parsed():
    data = rezip([(f"archive/data/{i}", b"") for i in range(5000)])
    refused(data, r"lists 5,000 entries")


# -- issue 18.3: tiny tensors that ask for gigabytes ----------------------------------------------

@pytest.mark.parametrize("n", [2**28, 2**31])
def test_an_expanded_weight_is_refused_unread(trained, n, monkeypatch):
    state = state_of(trained)
    state["model"]["rnn.weight_ih_l0"] = torch.zeros(1).expand(n)
    data = saved(state)
    assert len(data) < 50_000
    refused(data, rf"model\.rnn\.weight_ih_l0 must be a float32 tensor of shape \(32, 2\); got a float32 tensor of shape \({n},\)", monkeypatch)


def test_an_expanded_weight_of_the_right_shape_is_refused_unread(trained, monkeypatch):
    state = state_of(trained)
    state["model"]["rnn.weight_ih_l0"] = torch.zeros(1).expand(32, 2)
    refused(saved(state), r"model\.rnn\.weight_ih_l0 must be a dense tensor with a storage of its own", monkeypatch)


def test_a_float64_expanded_optimizer_state_is_refused_unread(trained, monkeypatch):
    state = state_of(trained)
    state["optimizer"]["state"][0]["exp_avg"] = torch.zeros(1, dtype=torch.float64).expand(2**28)
    refused(saved(state), r"optimizer\.state\[0\]\.exp_avg must be a float32 tensor .* got a float64", monkeypatch)


def test_a_history_of_nested_shared_lists_is_refused_quickly(trained, monkeypatch):
    inner = [0.5] * 1000
    middle = [inner] * 1000
    nested = [middle] * 1000  # 10^9 floats when walked, a few KB when pickled
    for where in ("loss", "profile_steps"):
        state = state_of(trained)
        state["history"][where] = nested
        data = saved(state)
        assert len(data) < 50_000
        refused(data, rf"history\.{where} must be")
    state = state_of(trained)
    state["version"] = 1
    del state["history"]["profiles"]
    state["history"]["profile_values"] = nested
    refused(saved(state), r"history\.profile_values must be at most 400 lists of shape \(1, 1, 10\)")


def test_a_sparse_weight_is_refused_unread(trained, monkeypatch):
    state = state_of(trained)
    state["model"]["rnn.weight_ih_l0"] = torch.zeros(32, 2).to_sparse()
    refused(saved(state), r"holds an object this app never saves \(torch\._utils\._rebuild_sparse_tensor\)", monkeypatch)


def test_a_shared_storage_is_refused_unread(trained, monkeypatch):
    state = state_of(trained)
    shared = torch.zeros(32, 2)
    state["optimizer"]["state"][0]["exp_avg"] = shared
    state["optimizer"]["state"][0]["exp_avg_sq"] = shared
    refused(saved(state), r"tensors that share a storage", monkeypatch)


def test_a_non_finite_optimizer_state_is_refused(trained):
    state = state_of(trained)
    state["optimizer"]["state"][2]["exp_avg_sq"][0] = math.inf
    refused(saved(state), r"optimizer\.state\[2\]\.exp_avg_sq has non-finite values")


def test_a_diverged_run_may_end_its_history_with_nan(trained):
    state = state_of(trained)
    state["status"], state["message"] = "diverged", "Diverged at step 3: the loss became nan (gradient norm nan)."
    for name in ("loss", "metric", "grad_norm"):
        state["history"][name][-1] = math.nan
    loaded = Run.load(saved(state))
    assert loaded.status == "diverged" and math.isnan(loaded.history.loss[-1])
    state["history"]["loss"][0] = math.nan  # only the last point
    refused(saved(state), r"history\.loss must hold finite numbers")


def test_a_file_saved_under_any_name_loads(trained, tmp_path):
    path = tmp_path / "my run [v2] (final).pt"  # torch.save names the zip's folder after the file
    trained.save(path)
    assert Run.load(path).step == trained.step


def test_more_gradient_profiles_than_the_cap_are_refused_unread(trained, monkeypatch):
    state = state_of(trained)
    state["history"]["profiles"] = torch.zeros(401, 1, 1, 10)
    state["history"]["profile_steps"] = list(range(401))
    refused(saved(state), r"history\.profiles must be \(at most 400, L, D, T\)", monkeypatch)


def test_huge_integers_in_a_file_are_described_not_printed(trained):
    for where in ("config", "history", "top"):
        state = state_of(trained)
        {"config": state["config"], "history": state["history"], "top": state}[where]["seq_len" if where == "config" else "stride" if where == "history" else "step"] = 10**5000
        with pytest.raises(ValueError) as refusal:
            Run.load(saved(state))
        assert "digits" not in str(refusal.value) and len(str(refusal.value)) < 400, str(refusal.value)
    state = state_of(trained)
    state[10**5000] = 1
    refused(saved(state), r"unknown an integer of 16,610 bits")


def test_a_pickle_naming_a_far_memo_slot_allocates_nothing(trained):
    """Ten bytes (LONG_BINPUT 2**23) made the C unpickler allocate 128 MB for its memo array."""
    import tracemalloc

    far = b"\x80\x02N" + b"r" + struct.pack("<I", 2**23) + b"."
    items = [(name, far if name.endswith("/data.pkl") else data) for name, data in entries(trained.to_bytes())]
    data = rezip(items)
    tracemalloc.start()
    try:
        refused(data, r"no 'rnn-explorer-run' header")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, f"{peak / 2**20:.0f} MB"


@pytest.mark.parametrize("pickle_bytes, python_says", [
    (b"\x80\x06N.", "unsupported pickle protocol"),
    (b"\x80\x02I<a href=x>\n.", "invalid literal"),  # Python's message would echo the file's bytes
    (b"\x80\x02F1e5000x\n.", "could not convert"),
])
def test_a_malformed_pickle_gets_our_words_not_pythons(trained, pickle_bytes, python_says):
    items = [(name, pickle_bytes if name.endswith("/data.pkl") else data) for name, data in entries(trained.to_bytes())]
    with pytest.raises(ValueError, match=r"not an RNN Explorer run file, or a damaged one \(\w+\)") as refusal:
        Run.load(rezip(items))
    assert python_says not in str(refusal.value) and "href" not in str(refusal.value)


def test_a_missing_path_and_a_boolean_version_are_value_errors(trained, tmp_path):
    with pytest.raises(ValueError, match="cannot read"):
        Run.load(tmp_path / "nowhere.pt")
    state = state_of(trained)
    state["version"] = True
    refused(saved(state), r"run file version True is not supported")


def test_a_path_is_read_through_an_open_file_that_is_closed_after(trained, tmp_path, monkeypatch):
    import builtins

    opened = []
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda *a, **k: opened.append(real_open(*a, **k)) or opened[-1])
    (tmp_path / "bad.pt").write_bytes(b"PK not a zip")
    trained.save(tmp_path / "good.pt")
    with pytest.raises(ValueError):
        Run.load(tmp_path / "bad.pt")
    assert Run.load(tmp_path / "good.pt").step == trained.step
    assert len(opened) == 2 and all(f.closed for f in opened)
