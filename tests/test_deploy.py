"""deploy/local.sh for real (issue 15): Debian's nginx in front of two replicas, sticky by cookie, websockets upgraded,
per-IP request limits, and everything gone after SIGTERM. Needs nginx (scripts/test.sh installs it as root)."""
from __future__ import annotations

import base64
import http.client
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from explorer import appserver

ROOT = Path(__file__).resolve().parents[1]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

pytestmark = pytest.mark.skipif(not os.path.exists(NGINX) and os.environ.get("CI") != "true",
                                reason="nginx is not installed (scripts/test.sh installs it as root)")


def _free(port: int) -> bool:
    """Nobody listens on the port."""
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _get(port: int, path: str, cookie: str | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def _routes(response: http.client.HTTPResponse) -> list[str]:
    """The sticky cookies nginx set on a response (Streamlit sets its own XSRF cookie beside them)."""
    cookies = [c.split(";")[0] for c in response.msg.get_all("Set-Cookie") or []]
    return [c for c in cookies if c.startswith("rnnx_route=")]


def _upgrade(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall((f"GET /_stcore/stream HTTP/1.1\r\nHost: localhost:{port}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                   f"Sec-WebSocket-Protocol: streamlit\r\nOrigin: http://localhost:{port}\r\n\r\n").encode())
        return s.recv(200).decode(errors="replace")


def test_local_sh_runs_replicas_behind_nginx_and_stops_them_all():
    port = appserver.port_run(2)
    log = ROOT / "artifacts" / "deploy-local.log"
    log.parent.mkdir(exist_ok=True)
    with open(log, "w") as out:
        script = subprocess.Popen(["bash", "deploy/local.sh", "--replicas", "2", "--port", str(port)], cwd=ROOT,
                                  stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while "Ctrl-C stops everything" not in log.read_text():
            assert script.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        both = {f"127.0.0.1:{port + 1}", f"127.0.0.1:{port + 2}"}
        first = _get(port, "/_stcore/health")
        [cookie] = _routes(first)  # a browser's first response pins it
        assert len(cookie) > len("rnnx_route=")
        health = [_get(port, "/_stcore/health", cookie) for _ in range(4)]
        assert all(r.status == 200 for r in [first, *health])
        assert not any(_routes(r) for r in health)  # set once, then kept
        replicas = {r.getheader("X-RNNX-Replica") for r in [first, *health]}
        assert len(replicas) == 1 and replicas <= both  # sticky
        # many browsers behind one address (a lecture hall's NAT) spread evenly over the replicas, each one sticky
        named = {f"127.0.0.1:{port + k}": f"rnnx_route=r{k}" for k in (1, 2)}  # the name local.sh gave each one
        assert cookie == named[replicas.pop()]  # the replica that answered named itself
        firsts = [_get(port, "/_stcore/health") for _ in range(8)]
        answered = [r.getheader("X-RNNX-Replica") for r in firsts]
        assert sorted(answered) == sorted(list(both) * 4)  # in turn: 4 and 4, where a hash of random ids split 6/2 or 5/3
        assert all(_routes(r) == [named[at]] for r, at in zip(firsts, answered))
        for r, at in zip(firsts, answered):
            assert {_get(port, "/_stcore/health", _routes(r)[0]).getheader("X-RNNX-Replica") for _ in range(3)} == {at}
        unknown = {_get(port, "/_stcore/health", f"rnnx_route=visitor{k}").getheader("X-RNNX-Replica") for k in range(8)}
        assert unknown == both  # a cookie that names no replica is a first request again
        assert _upgrade(port).startswith("HTTP/1.1 101")  # the websocket reaches the replica through nginx
        feed = _get(port, "/_rnnx/feed/no-such-token?since=-1", cookie)  # the live charts' feed: the app's route, same replica
        assert feed.status == 200 and feed.getheader("X-RNNX-Replica") == health[0].getheader("X-RNNX-Replica")
        assert feed.getheader("Content-Type") == "application/json"
        statuses = [_get(port, "/_stcore/health").status for _ in range(400)]  # a client in a loop
        assert 429 in statuses and statuses[0] == 200
    finally:
        script.send_signal(signal.SIGTERM)
        script.wait(timeout=60)
    time.sleep(1)
    assert all(_free(port + k) for k in range(3)), "a port is still served after SIGTERM"
    left = subprocess.run(["pgrep", "-s", str(script.pid)], capture_output=True, text=True).stdout.split()
    assert not left, f"processes of the script's session still running: {left}"
