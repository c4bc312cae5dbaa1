"""explorer/ui/replica.py: a replica behind deploy/'s nginx names itself in the rnnx_route cookie of its answers."""
import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from explorer.ui import replica


def run(coroutine) -> None:
    """In a thread of its own: Playwright's sync API (the browser tests) leaves an event loop running in this one."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


def answer(route: str, cookie: bytes | None, kind: str = "http") -> list[tuple[bytes, bytes]]:
    """The headers the middleware sends for one request with `cookie`."""
    sent = []

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": b"ok"})

    async def send(message):
        sent.append(message)

    headers = [(b"cookie", cookie)] if cookie is not None else []
    run(replica.RouteCookie(app, route)({"type": kind, "headers": headers}, None, send))
    return sent[0]["headers"]


def test_an_answer_sets_the_cookie_until_the_browser_has_this_replicas():
    pin = (b"set-cookie", b"rnnx_route=r2; Path=/; HttpOnly; SameSite=Lax")
    assert pin in answer("r2", None)  # a browser's first request
    assert pin in answer("r2", b"rnnx_route=r1")  # sent here anyway (its replica was down): it stays here now
    assert pin in answer("r2", b"other=1; rnnx_route=r22")
    assert pin not in answer("r2", b"_streamlit_xsrf=abc; rnnx_route=r2")  # pinned already: nothing added
    assert answer("r2", None, kind="websocket") == [(b"content-type", b"text/html")]  # only plain HTTP answers


def test_behind_tls_the_cookie_is_secure():
    sent = []

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "headers": [(b"x-forwarded-proto", b"https")]}
    run(replica.RouteCookie(app, "r1")(scope, None, send))
    assert sent[0]["headers"] == [(b"set-cookie", b"rnnx_route=r1; Path=/; HttpOnly; SameSite=Lax; Secure")]


def test_the_replicas_name_comes_from_the_deploy(monkeypatch):
    monkeypatch.delenv("RNNX_ROUTE", raising=False)
    assert replica.route() is None  # alone: no cookie
    monkeypatch.setenv("RNNX_ROUTE", "r3")
    assert replica.route() == "r3"
    for bad in ("r 3", "r3;Path=/evil", "R3", "x" * 33):
        monkeypatch.setenv("RNNX_ROUTE", bad)
        with pytest.raises(ValueError, match="RNNX_ROUTE"):
            replica.route()
