"""Which replica a browser stays with behind deploy/'s nginx: this replica names itself in a cookie.

A visitor's session state and training process live in one replica's memory, so every request of their
browser must reach that replica. nginx sends a browser's first request (no cookie yet) to the replicas in
turn, so visitors spread evenly; this replica's answer sets `rnnx_route` to its own name (RNNX_ROUTE, given
by the deploy), and nginx's map sends every later request with that cookie to it. Before, nginx hashed a
random cookie to a replica: 8 visitors on 2 replicas split 6/2 or 5/3 as often as not, and visitors queued
for a full replica's pool while the other had free slots (docs/benchmarks.md, visitors).

No Streamlit here: an ASGI middleware that app.py gives to the server.
"""
from __future__ import annotations

import os
import re

COOKIE = "rnnx_route"
NAME = re.compile(r"[a-z0-9_-]{1,32}")


def route() -> str | None:
    """This replica's name in the proxy's map (RNNX_ROUTE), or None when it runs alone. ValueError for a
    name the cookie could not carry as it is."""
    name = os.environ.get("RNNX_ROUTE", "").strip()
    if not name:
        return None
    if not NAME.fullmatch(name):
        raise ValueError(f"RNNX_ROUTE must be 1 to 32 of a-z, 0-9, _ and -; got {name!r}")
    return name


class RouteCookie:
    """Every HTTP answer to a browser whose `rnnx_route` cookie does not name this replica sets it."""

    def __init__(self, app, route: str) -> None:
        self.app = app
        self.cookie = f"{COOKIE}={route}; Path=/; HttpOnly; SameSite=Lax".encode()
        self.pinned = f"{COOKIE}={route}".encode()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or self._pinned(scope):
            await self.app(scope, receive, send)
            return
        https = (b"x-forwarded-proto", b"https") in scope.get("headers", [])  # the proxy speaks TLS to the browser
        header = (b"set-cookie", self.cookie + (b"; Secure" if https else b""))

        async def send_with_cookie(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _pinned(self, scope) -> bool:
        for name, value in scope.get("headers", []):
            if name == b"cookie" and any(part.strip() == self.pinned for part in value.split(b";")):
                return True
        return False
