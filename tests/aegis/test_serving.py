"""The broker's supervisor, against a stand-in broker in a real child process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from aegis.serving import BrokerProcess

pytestmark = pytest.mark.anyio

# A stand-in for ``aegis broker serve``: /health answers ok, or sealed (503) while the file exists.
STAND_IN = """
import http.server, json, os, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        sealed = os.path.exists(sys.argv[2])
        body = json.dumps({"status": "sealed" if sealed else "ok", "sealed": sealed}).encode()
        self.send_response(503 if sealed else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _supervised(tmp_path: Path) -> BrokerProcess:
    port = _port()
    command = (sys.executable, "-c", STAND_IN, str(port), str(tmp_path / "sealed"))
    return BrokerProcess(f"http://127.0.0.1:{port}", backoff=0.1, probe_every=0.5, hung_after=3, command=command)


async def _until(check: Callable[[], bool], seconds: float = 30.0) -> None:
    async with asyncio.timeout(seconds):
        while not check():  # noqa: ASYNC110 - polling another process's state
            await asyncio.sleep(0.05)


async def test_a_killed_broker_is_restarted(tmp_path: Path) -> None:
    broker = _supervised(tmp_path)
    await broker.start(wait_seconds=20)
    try:
        assert broker.proc is not None
        first = broker.proc.pid
        os.kill(first, signal.SIGKILL)
        await _until(lambda: broker.state == "restarting")
        assert broker.status()["up"] is False
        await _until(lambda: broker.state == "up" and broker.proc is not None and broker.proc.pid != first)
        assert broker.restarts == 1
    finally:
        await broker.stop()
    assert broker.state == "stopped" and broker.proc is not None and broker.proc.returncode is not None


async def test_a_hung_broker_is_killed_and_restarted(tmp_path: Path) -> None:
    broker = _supervised(tmp_path)
    await broker.start(wait_seconds=20)
    try:
        assert broker.proc is not None
        first = broker.proc
        os.kill(first.pid, signal.SIGSTOP)  # alive, but answers nothing
        await _until(lambda: broker.proc is not first and broker.state == "up")
        assert first.returncode == -signal.SIGKILL
        assert broker.restarts == 1
    finally:
        await broker.stop()


async def test_a_sealed_broker_is_left_sealed(tmp_path: Path) -> None:
    """``aegis broker seal`` must hold: restarting would unseal it."""
    broker = _supervised(tmp_path)
    await broker.start(wait_seconds=20)
    try:
        assert broker.proc is not None
        pid = broker.proc.pid
        (tmp_path / "sealed").touch()
        await _until(lambda: broker.state == "sealed")
        await asyncio.sleep(2.5)  # five probes: more than enough to be taken for a hang
        assert (broker.state, broker.proc.pid, broker.restarts) == ("sealed", pid, 0)
        (tmp_path / "sealed").unlink()
        await _until(lambda: broker.state == "up")
    finally:
        await broker.stop()
