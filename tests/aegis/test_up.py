"""``aegis up`` as a real process: data folder, master key, migrations, /health, clean stop, refusals."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic.script import ScriptDirectory

from storage import migrate
from storage.crypto.master import generate_master_key_file

START_DEADLINE = 90.0  # the broker, two MCP servers and the agent start first
STOP_DEADLINE = 45.0  # a loaded 2-core machine takes seconds just to import and shut down
NOTICE = "Created a new master key at"
AEGIS = [sys.executable, "-c", "from aegis.cli import main; main()", "up"]


def _free_port() -> int:
    """A free port below the kernel's ephemeral range: the processes Aegis starts bind port 0 (the
    WhatsApp bridge, the MCP servers' clients), and one of them could otherwise be handed this port
    between our check and the console binding it."""
    while True:
        port = random.randint(20000, 32000)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


@dataclass
class Run:
    proc: subprocess.Popen[bytes]
    port: int
    out: Path
    err: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stdout(self) -> str:
        return self.out.read_text()

    def stderr(self) -> str:
        return self.err.read_text()

    def wait_healthy(self) -> dict[str, Any]:
        """Poll /health until it answers 200; fail early if the process dies. A 503 while a part is
        still starting, or missed one probe on a loaded machine (the bridge's 2 s ping), is polled
        through; one that lasts to the deadline fails with its body."""
        deadline = time.monotonic() + START_DEADLINE
        last = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"aegis up exited with {self.proc.returncode}:\n{self.stderr()}")
            try:
                response = httpx.get(f"{self.url}/health", timeout=1.0)
            except httpx.TransportError:
                threading.Event().wait(0.05)
                continue
            if response.status_code == 503:
                last = response.text
                threading.Event().wait(0.2)
                continue
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body
        pytest.fail(f"aegis up did not answer /health with 200 within {START_DEADLINE}s: {last}\n{self.stderr()}")

    def stop(self, sig: int = signal.SIGINT) -> int:
        self.proc.send_signal(sig)
        return self.wait()

    def wait(self) -> int:
        try:
            return self.proc.wait(timeout=STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            pytest.fail(f"aegis up still running {STOP_DEADLINE}s later:\n{self.stderr()}")


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Any]:
    """Start ``aegis up`` in tmp_path; every process still running at teardown is killed."""
    runs: list[Run] = []

    def _start(**extra_env: str) -> Run:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AEGIS_")}
        port = _free_port()
        # Voice is its own tests' (tests/voice, tests/web/test_voice*): its speech models stay unloaded here.
        env.update(AEGIS_PORT=str(port), AEGIS_BROKER_PORT=str(_free_port()), NO_COLOR="1", AEGIS_VOICE="false")
        env.update(extra_env)
        n = len(runs)
        out, err = tmp_path / f"stdout-{n}.txt", tmp_path / f"stderr-{n}.txt"
        with out.open("wb") as fo, err.open("wb") as fe:
            proc = subprocess.Popen(AEGIS, cwd=tmp_path, env=env, stdout=fo, stderr=fe)
        run = Run(proc, port, out, err)
        runs.append(run)
        return run

    yield _start
    for run in runs:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait(timeout=STOP_DEADLINE)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _flat(text: str) -> str:
    """The console wraps long lines; compare with whitespace collapsed."""
    return " ".join(text.split())


def _head() -> str | None:
    """The heads Alembic records at the top: an integration branch's head stands for the core head it
    depends on."""
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    heads = set(script.get_heads())
    below = {r.revision for h in heads for r in script.iterate_revisions(h, "base") if r.revision != h}
    return ",".join(sorted(heads - below)) or None


def _listeners(port: int) -> set[str] | None:
    """Addresses listening on ``port`` according to /proc/net/tcp{,6}; None without procfs."""
    found: set[str] = set()
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].exists():
        return None
    for table in tables:
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state != "0A" or int(hex_port, 16) != port:  # 0A = LISTEN
                continue
            raw = bytes.fromhex(address)
            if len(raw) == 4:
                found.add(socket.inet_ntop(socket.AF_INET, raw[::-1]))
            else:  # four little-endian 32-bit words
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                found.add(socket.inet_ntop(socket.AF_INET6, words))
    return found


@pytest.mark.timeout(300)  # two whole starts and stops, on a loaded 2-core machine
def test_first_start_serves_health_on_loopback_only_stops_cleanly_and_a_second_reuses_the_key(
    start: Any, tmp_path: Path
) -> None:
    run = start()
    body = run.wait_healthy()
    if _listeners(1) is not None:  # /proc/net/tcp lists the listening sockets
        assert _listeners(run.port) == {"127.0.0.1"}
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["schema"] == _head()
    assert body["schema"]
    assert body["parts"]["broker"] == {"state": "up", "up": True, "restarts": 0, "error": None}

    data = tmp_path / "data"
    key = data / "master.key"
    db = data / "aegis.db"
    assert _mode(data) == 0o700
    assert _mode(key) == 0o600
    assert db.is_file()
    assert _mode(db) & 0o077 == 0, oct(_mode(db))

    assert run.stop(signal.SIGINT) == 0, run.stderr()  # Ctrl-C; SIGTERM: the second start below
    assert "aegis stopped" in run.stderr()
    checkpoint = json.loads((data / "audit-checkpoints.jsonl").read_text().splitlines()[-1])  # the broker's last
    assert checkpoint["seq"] >= 1 and len(checkpoint["sig"]) == 86  # an Ed25519 signature, base64url
    notice = run.stdout()
    assert f"{NOTICE} {key.resolve()}" in notice  # the path is printed whole, on one line
    assert "Back this file up" in _flat(notice)
    content = key.read_bytes()
    # First start, no admin yet: one line with the address and a one-time setup link, in the terminal
    # only (the token is in no log line).
    line = next(x for x in notice.splitlines() if x.startswith("Aegis console: "))
    assert "/setup?token=" in line
    token = line.rsplit("token=", 1)[1].strip()
    assert len(token) >= 40 and token not in run.stderr()

    second = start()
    body = second.wait_healthy()
    assert body["schema"] == _head()
    assert second.stop(signal.SIGTERM) == 0, second.stderr()  # docker stop: a normal end too
    assert "aegis stopped" in second.stderr()
    assert NOTICE not in second.stdout()
    # Still no admin: a new link, the old token no longer printed.
    again = next(x for x in second.stdout().splitlines() if x.startswith("Aegis console: "))
    assert "/setup?token=" in again and token not in again
    assert key.read_bytes() == content
    assert _mode(key) == 0o600


def _existing_key(tmp_path: Path) -> Path:
    key = tmp_path / "data" / "master.key"
    assert generate_master_key_file(key)
    return key


@pytest.mark.parametrize("mode", [0o644, 0o640], ids=["0644", "0640"])
def test_refuses_a_key_open_to_others(start: Any, tmp_path: Path, mode: int) -> None:
    key = _existing_key(tmp_path)
    content = key.read_bytes()
    os.chmod(key, mode)
    run = start()
    assert run.wait() == 2
    message = _flat(run.stderr())
    assert "data/master.key" in message
    assert f"mode {mode:04o}" in message
    assert "chmod 600 data/master.key" in message
    assert key.read_bytes() == content  # refused, not replaced
    assert NOTICE not in run.stdout()
    assert not (tmp_path / "data" / "aegis.db").exists()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("changethis\n", "not in the aegis-master-key-v1 format"),
        ("", "not in the aegis-master-key-v1 format"),
        ("aegis-master-key-v1:" + "ab" * 16 + "\n", "must be 32 bytes"),
        ("aegis-master-key-v1:" + "zz" * 32 + "\n", "malformed"),
    ],
    ids=["placeholder", "empty", "short", "not-hex"],
)
def test_refuses_a_bad_key_file(start: Any, tmp_path: Path, content: str, reason: str) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    key = data / "master.key"
    key.write_text(content)
    os.chmod(key, 0o600)
    run = start()
    assert run.wait() == 2
    message = _flat(run.stderr())
    assert "data/master.key" in message
    assert reason in message
    assert key.read_text() == content
    assert "Traceback" not in message


def test_refuses_a_public_bind(start: Any, tmp_path: Path) -> None:
    run = start(AEGIS_HOST="0.0.0.0")  # noqa: S104 - must be refused
    assert run.wait() == 2
    message = _flat(run.stderr())
    assert "invalid configuration" in message
    assert "refusing to bind '0.0.0.0'" in message
    assert "AEGIS_ALLOW_PUBLIC_BIND=true" in message
    assert not (tmp_path / "data").exists()


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the direct children of ``pid``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append((int(entry.name), cmd))
    return found


def _health(run: Run) -> tuple[int, dict[str, Any]]:
    r = httpx.get(f"{run.url}/health", timeout=2.0)
    body: dict[str, Any] = r.json()
    return r.status_code, body


def test_the_broker_is_restarted_after_kill_9_and_health_says_so_meanwhile(start: Any) -> None:
    if not Path("/proc/self/stat").exists():
        pytest.skip("no /proc to find the broker's process")
    run = start()
    run.wait_healthy()
    brokers = [pid for pid, cmd in _children(run.proc.pid) if "broker serve" in cmd]
    assert len(brokers) == 1, _children(run.proc.pid)
    os.kill(brokers[0], signal.SIGKILL)
    seen: list[tuple[int, str]] = []
    deadline = time.monotonic() + START_DEADLINE
    while time.monotonic() < deadline:
        status, body = _health(run)
        seen.append((status, body["parts"]["broker"]["state"]))
        if body["parts"]["broker"]["restarts"] == 1 and body["parts"]["broker"]["up"]:
            break
        threading.Event().wait(0.05)
    else:
        pytest.fail(f"the broker did not come back: {seen[-3:]}\n{run.stderr()}")
    assert (503, "restarting") in seen  # not "ok" while it was down
    assert (status, body["status"]) == (200, "ok")
    again = [pid for pid, cmd in _children(run.proc.pid) if "broker serve" in cmd]
    assert len(again) == 1 and again != brokers
    assert "the broker exited; restarting it" in run.stderr()
    assert run.stop() == 0, run.stderr()
    assert not Path(f"/proc/{again[0]}").exists()  # the restarted broker is stopped with the rest
