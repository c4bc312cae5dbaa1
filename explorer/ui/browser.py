"""This browser's id, kept in a cookie, so a reload or the same link opened again finds its runs.

Not the registry of runs (explorer/ui/parking.py). The id is a random 256-bit token made here on the
browser's first visit and written by a tiny components-v2 element (Streamlit 1.67 reads cookies from
the websocket handshake, st.context.cookies, but cannot set them). It is never in the URL: a shared
link must not hand its sender's runs to everyone who opens it. A second cookie says which server
process last held runs for this browser, so a new process (a restart) can say the runs are gone.
The cookies are SameSite=Strict and not HttpOnly (set from the page's JS).
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

import streamlit as st

from explorer.ui.live_chart import in_browser

ID_COOKIE = "rnnx_browser"
RUNS_COOKIE = "rnnx_runs"  # BOOT of the server process that last held runs for this browser, or absent
BOOT = secrets.token_hex(8)  # this server process
MAX_AGE_S = 24 * 3600  # the id outlives the reattach window; a day without a visit forgets it
_ID = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
_BOOT = re.compile(r"[0-9a-f]{16}")

JS = r"""
export default function (component) {
  const { data } = component;
  if (!data) return;
  const secure = location.protocol === 'https:' ? '; Secure' : '';
  const have = new Map(document.cookie.split('; ').filter(Boolean)
    .map((c) => [c.slice(0, c.indexOf('=')), c.slice(c.indexOf('=') + 1)]));
  for (const [name, value] of Object.entries(data.cookies)) {
    if ((have.get(name) || '') === value) continue;
    document.cookie = `${name}=${value}; Path=${data.path}; Max-Age=${value ? data.maxAge : 0}; SameSite=Strict${secure}`;
  }
}
"""
CSS = ".st-key-rnnx-browser { display: none; }"


@dataclass
class Browser:
    id: str | None  # None where no cookie can be kept (AppTest): then nothing can reattach
    runs_on: str  # the runs cookie as this session's first request sent it: a BOOT, or ""


def this() -> Browser:
    """This session's browser, read from its cookies (a new id if it has none). The session reads it once,
    on its first run, and keeps it (explorer/ui/session.py)."""
    if not in_browser():
        return Browser(None, "")
    cookies = st.context.cookies
    given, runs_on = cookies.get(ID_COOKIE, ""), cookies.get(RUNS_COOKIE, "")
    return Browser(given if _ID.fullmatch(given) else secrets.token_urlsafe(32),
                   runs_on if _BOOT.fullmatch(runs_on) else "")


_component = None


def remember(me: Browser, has_runs: bool) -> None:
    """Write the id, and whether this server holds runs for it, to the browser's cookies (where they differ).
    Call once per full run, at its end, so a run started in this script run counts."""
    global _component
    if me.id is None:
        return
    if _component is None:
        _component = st.components.v2.component("rnnx_browser", js=JS, css=CSS, isolate_styles=False)
    base = st.get_option("server.baseUrlPath").strip("/")
    cookies = {ID_COOKIE: me.id, RUNS_COOKIE: BOOT if has_runs else ""}
    with st.sidebar:
        _component(key="rnnx-browser", data={"cookies": cookies, "path": "/" + base, "maxAge": MAX_AGE_S})
