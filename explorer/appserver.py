"""The app in a local Streamlit server, and the headless Chromium that drives it: for the UI benchmarks
(explorer/bench_ui.py, bench_presets.py) and the browser tests (tests/browser/conftest.py). Not the app.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("RNNX_CHROMIUM", "/usr/bin/chromium")  # Debian's package
CHROMIUM_ARGS = [
    "--no-sandbox",  # needed as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT_S = 60


class Server(NamedTuple):
    url: str  # http://127.0.0.1:<port>
    port: int
    proc: subprocess.Popen


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.read().strip() == b"ok"
    except OSError:
        return False


def stop(proc: subprocess.Popen) -> None:
    """Stop the server's whole process group: SIGTERM, then SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    for sig, grace_s in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace_s)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(path: Path | None, chars: int = 5000) -> str:
    return path.read_text(errors="replace")[-chars:] if path is not None else "(no log kept)"


def start(log_path: Path | None = None, env: dict[str, str] | None = None) -> Server:
    """Start `streamlit run app.py` (one torch thread, and `env` on top) on a free port and wait until it is
    healthy; stop() it.

    Its output goes to log_path (a file, not a pipe: a full pipe would block the server), or nowhere.
    RuntimeError with the log's end when it exits or is not healthy within START_TIMEOUT_S.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    env = {**os.environ, "RNNX_TORCH_THREADS": "1", **(env or {})}
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") if log_path is not None else open(os.devnull, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not healthy(url):
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode} before it was healthy:\n{_tail(log_path)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit not healthy at {url} after {START_TIMEOUT_S} s:\n{_tail(log_path)}")
            time.sleep(0.2)
    except BaseException:
        stop(proc)
        raise
    return Server(url, port, proc)


@contextlib.contextmanager
def serve(log_path: Path | None = None) -> Iterator[Server]:
    """start() for the length of the block, then stop()."""
    server = start(log_path)
    try:
        yield server
    finally:
        stop(server.proc)


def port_run(count: int) -> int:
    """A port P with P .. P + count free to listen on, below the kernel's ephemeral range (32768 and up on Linux):
    a port picked from that range can be taken by an outgoing connection before a server binds it
    (deploy/local.sh's nginx at P and its replicas at P+1 .. P+count)."""
    for port in range(20_000 + os.getpid() % 5_000, 32_000, 7):
        if all(_bindable(port + k) for k in range(count + 1)):
            return port
    raise RuntimeError("no free ports")


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn and nginx bind
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
