"""Live frames over plain HTTP: while a run trains, its live-chart element polls /_rnnx/feed/<token> for the
newest frame of its charts. A frame then costs the server one figure build and the browser one fetch, with
no Streamlit rerun: measured, a fragment rerun cost the browser about 70 ms of CPU, drawing aside.
A request for a frame newer than the browser has waits for one (a long poll, up to WAIT_S), so the browser
asks for the next frame while it draws this one, and no request comes back empty at the training pace.

No Streamlit here. A page opens a feed (`open_feed`) with a function from a worker's snapshot to the
figures its element shows; app.py serves ROUTES. A token is random and reaches only the browser session
that opened it (in its element's data); it names a frame builder, never a run or a file. A feed whose
worker is gone, or that nobody polled for FORGET_S, is forgotten.
"""
from __future__ import annotations

import asyncio
import gzip
import ipaddress
import json
import math
import re
import secrets
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PATH = "/_rnnx/feed/"
FORGET_S = 120.0  # a feed nobody polled this long is forgotten (its tab is gone)
MAX_FEEDS = 4096  # feeds kept at once, over every session; the oldest go first
WAIT_S = 1.0  # a request waits this long for a frame newer than the one the browser has, then gets 204
WAIT_STEP_S = 0.015  # how often a waiting request looks at the snapshot's version (in the event loop: no thread)
MAX_WAITING = 2  # requests one feed holds at once (its element has one out); more are answered at once
MAX_WAITING_ALL = 1024  # waiting requests over every feed: a client in a loop cannot pile them up
GZIP_LEVEL = 1  # a frame (about 120 kB of JSON) in 2.3 ms to about half; level 9: 4.6 ms, 5% smaller
# To a browser on this machine: gzip's stored blocks, not compressed (0.05 ms a frame). Sent plain, a frame
# would be compressed by Streamlit's own gzip middleware at level 9, which leaves alone only a response that
# says its encoding: measured, the preset's two feeds then cost the server 3 ms a frame.
LOCAL_GZIP_LEVEL = 0

Frame = Callable[[object, frozenset[str] | None], dict]  # a snapshot, the charts in view (None: all) -> the frame, JSON-ready
Traced = Callable[[frozenset[str] | None], bool]  # the charts in view (None: all) -> they need the run's trace
ONLY = re.compile(r"([a-z0-9_]+(,[a-z0-9_]+){0,31})?")  # ?only=: the names of the charts in view (maybe none)


@dataclass
class Feed:
    token: str
    worker: weakref.ref  # the session's Worker: a forgotten session's feed does not keep it alive
    frame: Frame
    traced: Traced | None = None  # None: every chart needs the trace
    polled: float = field(default_factory=time.monotonic)
    waiting: int = 0  # requests held for a newer frame now
    body: tuple[tuple | None, bytes, bytes, int | None] = (None, b"", b"", None)  # the newest frame: (version,
    # only), JSON, gzipped JSON and its level

    def behind(self, since: int) -> bool:
        """The run trains and has nothing newer than `since` yet: a request for a frame waits. Cheap: no build."""
        worker = self.worker()
        if worker is None:
            return False
        snap = worker.snapshot
        return snap.state == "training" and snap.version <= since

    def paused(self) -> bool:
        """The run was paused (not ended by its budget, a divergence or an error): see PAUSED."""
        worker = self.worker()
        return worker is not None and worker.snapshot.state == "paused"

    def newest(self, since: int, level: int | None = None, only: frozenset[str] | None = None) -> bytes | None | bool:
        """The newest frame as JSON (gzipped at `level` when given) when the snapshot moved past `since`; None when
        it has not; False when the run no longer trains (the page reruns and draws the last frame itself).
        `only`: the charts in the browser's view, the only ones built (None: every chart).
        A frame is built, and compressed, once per snapshot and view, however often it is asked for."""
        worker = self.worker()
        if worker is None:
            return False
        self.polled = time.monotonic()
        worker.touch()  # a tab that polls is a tab that looks
        worker.needs_trace(self.token, self.traced is None or self.traced(only))  # else the process traces less
        snap = worker.snapshot
        if snap.state != "training":
            self.body = (None, b"", b"", None)  # the page draws the last frame itself: let go of this one's bytes
            return False
        if snap.version <= since:
            return None
        built, body, packed, packed_at = self.body
        if built != (snap.version, only):
            body, packed, packed_at = _json({"version": snap.version, **self.frame(snap, only)}), b"", None
        if level is not None and packed_at != level:
            packed, packed_at = gzip.compress(body, compresslevel=level), level
        self.body = ((snap.version, only), body, packed, packed_at)
        return packed if level is not None else body


def _json(frame: dict) -> bytes:
    """JSON the browser can parse: a NaN or infinity left in a figure becomes null (a gap), as plotly draws it."""
    try:
        return json.dumps(frame, allow_nan=False, separators=(",", ":")).encode()
    except ValueError:
        return json.dumps(_finite(frame), separators=(",", ":")).encode()


def _finite(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


_feeds: dict[str, Feed] = {}
_owned: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # worker -> {element key: token}
_lock = threading.Lock()


def open_feed(worker, key: str, frame: Frame, traced: Traced | None = None) -> str:
    """The token of `worker`'s feed for the element `key` (the same token while the worker lives, so the
    browser keeps polling across reruns); `frame` replaces the previous one (the view options may change).
    `traced`: whether the charts in view need the run's trace (Worker.needs_trace); None: they all do."""
    with _lock:
        _forget()
        tokens = _owned.setdefault(worker, {})
        feed = _feeds.get(tokens.get(key, ""))
        if feed is None:
            feed = Feed(secrets.token_urlsafe(24), weakref.ref(worker), frame)
            _feeds[feed.token] = feed
            tokens[key] = feed.token
        feed.frame, feed.traced, feed.polled, feed.body = frame, traced, time.monotonic(), (None, b"", b"", None)
        return feed.token


def _forget() -> None:
    now = time.monotonic()
    for token, feed in list(_feeds.items()):
        if feed.worker() is None or now - feed.polled > FORGET_S:
            del _feeds[token]
    for token in list(_feeds)[:max(0, len(_feeds) - MAX_FEEDS + 1)]:
        del _feeds[token]


STOPPED = b'{"stopped":true}'  # not an error status: a browser logs those to its console
# Paused: by the page's Pause (its run, under way, draws the last frame) or from another page (this one is gone).
# The element stops polling without rerunning its fragment: measured, that rerun came while the Pause's own run
# was being drawn and sent its frame (195 kB) again.
PAUSED = b'{"stopped":true,"rerun":false}'


async def serve(request: Request) -> Response:
    """GET <PATH><token>?since=<version>[&only=<chart>,<chart>]: the newest frame, as soon as there is one newer
    than `since` (waiting up to WAIT_S for it), 204 when none came, {"stopped": true} when the run no longer trains
    or the feed is unknown (the element stops polling and reruns its fragment), PAUSED when it was paused. `only`:
    the names of the charts in the browser's view, the only ones the frame carries (a visitor's laptop shows three
    of the eight)."""
    feed = _feeds.get(request.path_params["token"])
    try:
        since = int(request.query_params.get("since", "-1"))
    except ValueError:
        return Response(status_code=400)
    shown = request.query_params.get("only")
    if shown is not None and not ONLY.fullmatch(shown):
        return Response(status_code=400)
    only = frozenset(filter(None, shown.split(","))) if shown is not None else None
    if feed is None:
        return _stopped()
    level = _gzip_level(request)
    await _wait(feed, since)
    body = await run_in_threadpool(feed.newest, since, level, only)  # builds figures: off the server's event loop
    if body is False:
        return _stopped(PAUSED if feed.paused() else STOPPED)
    if body is None:
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    headers = {"Cache-Control": "no-store", "Vary": "Accept-Encoding"}
    if level is not None:  # compressed here, once per frame, and fast: Streamlit's middleware would at level 9
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)


_waiting_all = 0


async def _wait(feed: Feed, since: int) -> None:
    """Hold the request until the feed has a frame newer than `since`, WAIT_S at most; at once when the feed or
    the server holds as many as it may."""
    global _waiting_all
    if feed.waiting >= MAX_WAITING or _waiting_all >= MAX_WAITING_ALL:
        return
    feed.waiting += 1
    _waiting_all += 1
    try:
        deadline = time.monotonic() + WAIT_S
        while feed.behind(since) and time.monotonic() < deadline:
            await asyncio.sleep(WAIT_STEP_S)
    finally:
        feed.waiting -= 1
        _waiting_all -= 1


def _loopback(host: str) -> bool:
    """127.0.0.0/8 or ::1, also as an IPv4-mapped address (::ffff:127.0.0.1): how a server listening on every
    address (Streamlit's default, one IPv6 socket for both) sees a browser on this machine."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def _gzip_level(request: Request) -> int | None:
    """The gzip level of a frame: None when the browser does not take gzip; GZIP_LEVEL across a network;
    LOCAL_GZIP_LEVEL (stored, not compressed) to a browser on this machine (a loopback address and no proxy's
    X-Forwarded-For: deploy/'s nginx and an Ingress set it), where compressing costs the server 1.6 ms of CPU a
    frame and saves nothing."""
    if "gzip" not in request.headers.get("accept-encoding", ""):
        return None
    local = request.client is not None and _loopback(request.client.host)
    return LOCAL_GZIP_LEVEL if local and "x-forwarded-for" not in request.headers else GZIP_LEVEL


def _stopped(body: bytes = STOPPED) -> Response:
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


def routes(base_url_path: str = "") -> list[Route]:
    base = base_url_path.strip("/")
    return [Route(("/" + base if base else "") + PATH + "{token}", serve, methods=["GET"])]
