"""The live feed (explorer/ui/feed.py): a token per element and worker, a frame only when the snapshot moved on,
built once per snapshot, nothing once the run stops training, and the route's answers."""
import asyncio
import gc
import gzip
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.requests import Request

from explorer.ui import feed


class FakeWorker:
    """What a feed reads of a Worker: the newest snapshot, touch() and needs_trace()."""

    def __init__(self):
        self.snapshot = Snap("training", 1)
        self.touched = 0
        self.needs = []

    def touch(self):
        self.touched += 1

    def needs_trace(self, feed, needed):
        self.needs.append(needed)


class Snap:
    def __init__(self, state, version, value=0.5):
        self.state, self.version, self.value = state, version, value


def counting_frame(calls, names=("loss_chart",)):
    def frame(snap, only):
        calls.append(snap.version)
        return {"charts": [{"key": f"run0-{name}", "value": snap.value} for name in names if only is None or name in only]}
    return frame


def get(token, since, headers=(), client=None, only=None):
    query = f"since={since}" + (f"&only={only}" if only is not None else "")
    scope = {"type": "http", "method": "GET", "path": feed.PATH + token, "headers": list(headers), "client": client,
             "query_string": query.encode(), "path_params": {"token": token}}
    # in a thread of its own: Playwright's sync API (the browser tests) leaves an event loop running in this one
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, feed.serve(Request(scope))).result()


def test_one_token_per_worker_and_element_kept_across_reruns():
    a, b = FakeWorker(), FakeWorker()
    token = feed.open_feed(a, "run0", counting_frame([]))
    assert feed.open_feed(a, "run0", counting_frame([])) == token  # the browser keeps polling the same url
    assert feed.open_feed(a, "run1", counting_frame([])) != token
    assert feed.open_feed(b, "run0", counting_frame([])) != token
    assert len(token) >= 32  # 24 random bytes: not guessable


def test_a_frame_only_when_the_snapshot_moved_on_and_built_once_per_snapshot(monkeypatch):
    worker, calls = FakeWorker(), []
    token = feed.open_feed(worker, "run0", counting_frame(calls))
    first = get(token, -1)
    assert first.status_code == 200 and json.loads(first.body)["version"] == 1
    assert get(token, -1).body == first.body and calls == [1]  # asked again: the same bytes, no second build
    packed = get(token, -1, [(b"accept-encoding", b"gzip, deflate")])
    assert packed.headers["content-encoding"] == "gzip" and gzip.decompress(packed.body) == first.body
    assert calls == [1]
    monkeypatch.setattr(feed, "WAIT_S", 0.05)
    assert get(token, 1).status_code == 204  # nothing newer, after waiting for it
    worker.snapshot = Snap("training", 2, value=float("nan"))
    body = json.loads(get(token, 1).body)
    assert body["version"] == 2 and body["charts"][0]["value"] is None  # NaN goes as null: JSON the browser parses
    assert calls == [1, 2] and worker.touched >= 4  # polling keeps the worker alive


def test_a_frame_carries_only_the_charts_in_the_browsers_view():
    worker, calls = FakeWorker(), []
    token = feed.open_feed(worker, "run0", counting_frame(calls, names=("loss_chart", "gate_heatmaps", "prediction_chart")))
    keys = lambda answer: [c["key"] for c in json.loads(answer.body)["charts"]]
    assert keys(get(token, -1)) == ["run0-loss_chart", "run0-gate_heatmaps", "run0-prediction_chart"]
    assert keys(get(token, -1, only="gate_heatmaps,loss_chart")) == ["run0-loss_chart", "run0-gate_heatmaps"]
    assert keys(get(token, -1, only="gate_heatmaps,loss_chart")) == ["run0-loss_chart", "run0-gate_heatmaps"]
    assert calls == [1, 1]  # built once per snapshot and view: the same view again is not built again
    assert keys(get(token, -1, only="")) == []  # every chart scrolled away: the status lines still come
    for bad in ("<script>", "a b", ",".join(["x"] * 40)):
        assert get(token, -1, only=bad).status_code == 400


def test_each_poll_says_whether_the_charts_in_view_need_the_trace():
    worker = FakeWorker()
    curves = lambda only: only is None or not only <= {"loss_chart"}  # as explorer/ui/panels.py: traced
    token = feed.open_feed(worker, "run0", counting_frame([], names=("loss_chart", "gate_heatmaps")), curves)
    get(token, -1)
    get(token, -1, only="loss_chart")
    get(token, -1, only="")
    get(token, -1, only="gate_heatmaps,loss_chart")
    assert worker.needs == [True, False, False, True]
    plain = FakeWorker()
    get(feed.open_feed(plain, "run0", counting_frame([])), -1, only="loss_chart")
    assert plain.needs == [True]  # a page that did not say: every chart needs it


def test_frames_are_compressed_across_a_network_only():
    worker = FakeWorker()  # kept: a feed holds its worker weakly
    token = feed.open_feed(worker, "run0", lambda snap, only: {"charts": [{"key": "run0-loss_chart", "value": "ab" * 500}]})
    gzip_ok = (b"accept-encoding", b"gzip")
    plain = get(token, -1, client=("127.0.0.1", 50000)).body
    local = get(token, -1, [gzip_ok], client=("127.0.0.1", 50000))  # a browser on this machine
    # gzip's stored blocks: no compressing, and Streamlit's own gzip middleware leaves an encoded response alone
    assert local.headers["content-encoding"] == "gzip" and gzip.decompress(local.body) == plain
    assert len(local.body) > len(plain) and json.loads(plain)["version"] == 1
    for host in ("::1", "::ffff:127.0.0.1"):  # the same browser, seen by a server listening on IPv6 and IPv4 at once
        assert get(token, -1, [gzip_ok], client=(host, 50000)).body == local.body, host
    far = get(token, -1, [gzip_ok], client=("10.1.2.3", 50000))
    assert far.headers["content-encoding"] == "gzip" and len(far.body) < len(plain)  # compressed
    assert get(token, -1, [gzip_ok], client=("::ffff:10.1.2.3", 50000)).body == far.body
    proxied = [gzip_ok, (b"x-forwarded-for", b"10.1.2.3")]  # nginx on this machine, the browser elsewhere
    assert get(token, -1, proxied, client=("127.0.0.1", 50000)).body == far.body
    assert "content-encoding" not in get(token, -1, client=("10.1.2.3", 50000)).headers  # the browser did not ask


def test_a_request_for_a_newer_frame_waits_for_it():
    worker, calls = FakeWorker(), []
    token = feed.open_feed(worker, "run0", counting_frame(calls))
    assert get(token, -1).status_code == 200

    def publish():  # the training process's next snapshot, while the request waits
        time.sleep(0.2)
        worker.snapshot = Snap("training", 2)

    with ThreadPoolExecutor(1) as pool:
        pool.submit(publish)
        answer = get(token, 1)
    assert answer.status_code == 200 and json.loads(answer.body)["version"] == 2 and calls == [1, 2]


def test_a_client_cannot_pile_up_waiting_requests(monkeypatch):
    worker = FakeWorker()
    token = feed.open_feed(worker, "run0", counting_frame([]))
    monkeypatch.setattr(feed, "WAIT_S", 1.0)
    scope = lambda: {"type": "http", "method": "GET", "path": feed.PATH + token, "headers": [],  # noqa: E731
                     "query_string": b"since=1", "path_params": {"token": token}, "client": None}

    async def many():  # 20 requests at once for a frame that does not come, and a look at what is held
        requests = [asyncio.ensure_future(feed.serve(Request(scope()))) for _ in range(20)]
        await asyncio.sleep(0.3)
        held = (feed._feeds[token].waiting, feed._waiting_all)  # noqa: SLF001
        return held, [answer.status_code for answer in await asyncio.gather(*requests)]

    with ThreadPoolExecutor(1) as pool:
        held, codes = pool.submit(asyncio.run, many()).result()
    assert held == (feed.MAX_WAITING, feed.MAX_WAITING) == (2, 2)  # the other 18 were answered at once
    assert codes == [204] * 20
    assert feed._feeds[token].waiting == 0 and feed._waiting_all == 0  # noqa: SLF001


def test_a_waiting_request_ends_when_the_run_stops():
    worker = FakeWorker()
    token = feed.open_feed(worker, "run0", counting_frame([]))

    def pause():
        time.sleep(0.1)
        worker.snapshot = Snap("paused", 1)

    with ThreadPoolExecutor(1) as pool:
        pool.submit(pause)
        assert json.loads(get(token, 1).body) == {"stopped": True, "rerun": False}


@pytest.mark.parametrize("state", ["paused", "done", "stopped", "queued"])
def test_nothing_once_the_run_stops_training(state):
    worker = FakeWorker()
    token = feed.open_feed(worker, "run0", counting_frame([]))
    worker.snapshot = Snap(state, 5)
    # the element stops polling; the page draws the last frame: a Pause's run is under way, else the element reruns it
    assert json.loads(get(token, -1).body) == ({"stopped": True, "rerun": False} if state == "paused" else {"stopped": True})


def test_unknown_tokens_bad_queries_and_forgotten_workers():
    assert get("not-a-token", -1).body == feed.STOPPED
    worker = FakeWorker()
    token = feed.open_feed(worker, "run0", counting_frame([]))
    assert get(token, "x").status_code == 400
    del worker
    gc.collect()
    assert get(token, -1).body == feed.STOPPED  # the feed does not keep a session's worker alive
    feed.open_feed(FakeWorker(), "run0", counting_frame([]))  # opening a feed forgets the dead ones
    assert token not in feed._feeds  # noqa: SLF001


def test_the_route_sits_under_the_base_url_path():
    assert feed.routes()[0].path == "/_rnnx/feed/{token}"
    assert feed.routes("/demo/")[0].path == "/demo/_rnnx/feed/{token}"
