"""The embedded stack (``aegis up``) as a real process on free ports, with TLS 1.3 between its parts
(certificates from deploy/make-ca.sh), for the rotation and backup drills."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from broker.tls import client_verify
from storage.crypto.master import generate_master_key_file

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
START_DEADLINE = 120.0


def free_port() -> int:
    """A free port below the kernel's ephemeral range, which the processes Aegis starts bind from."""
    while True:
        port = random.randint(20000, 32000)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def make_tls(out: Path) -> Path:
    """Our internal CA and one certificate for the loopback services; returns the folder."""
    env = {**os.environ, "AEGIS_TLS_SERVICES": "local:localhost,IP:127.0.0.1"}
    subprocess.run([str(DEPLOY / "make-ca.sh"), str(out)], check=True, env=env, capture_output=True, timeout=60)
    return out


@dataclass
class Stack:
    root: Path
    tls: Path
    port: int = field(default_factory=free_port)
    broker_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    runs: int = 0

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def broker_url(self) -> str:
        return f"https://127.0.0.1:{self.broker_port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AEGIS_")}
        env.update(
            AEGIS_DATA_DIR=str(self.data),
            AEGIS_SECRETS_DIR=str(self.root / "no-secrets"),
            AEGIS_PORT=str(self.port),
            AEGIS_BROKER_PORT=str(self.broker_port),
            AEGIS_TLS_CERT_FILE=str(self.tls / "local.crt"),
            AEGIS_TLS_KEY_FILE=str(self.tls / "local.key"),
            AEGIS_BROKER_CA_FILE=str(self.tls / "ca.crt"),
            AEGIS_PYTHON=sys.executable,
            AEGIS_BACKUP_STAGE=str(self.root),
            AEGIS_VOICE="false",  # the drills are about keys and data, not speech
        )
        return env

    def http(self, base: str) -> httpx.Client:
        return httpx.Client(base_url=base, verify=client_verify(self.tls / "ca.crt"), timeout=30, trust_env=False)

    def start(self, *, broker_only: bool = False) -> dict[str, Any]:
        """``aegis up`` (or the broker alone, faster); returns the first healthy /health body."""
        self.runs += 1
        if broker_only:
            self.data.mkdir(parents=True, exist_ok=True, mode=0o700)
            generate_master_key_file(self.data / "master.key")
            upgraded = self.aegis("db", "upgrade")
            assert upgraded.returncode == 0, upgraded.stderr
        command = ["broker", "serve"] if broker_only else ["up"]
        with (self.root / f"up-{self.runs}.log").open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "aegis", *command], env=self.env(), stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_DEADLINE
        with self.http(self.broker_url if broker_only else self.url) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError(f"aegis up exited with {self.proc.returncode}:\n{self.log()}")
                try:
                    r = http.get("/health")
                    if r.status_code == 200 and not r.json().get("sealed"):
                        body: dict[str, Any] = r.json()
                        return body
                except httpx.TransportError:
                    pass
                time.sleep(0.3)
        raise AssertionError(f"aegis up did not become healthy:\n{self.log()}")

    def log(self) -> str:
        return (self.root / f"up-{self.runs}.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=45)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """A script or command with this stack's environment (plus ``env``)."""
        return subprocess.run(
            list(args), env={**self.env(), **env}, capture_output=True, text=True, timeout=240, cwd=self.root
        )

    def aegis(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(sys.executable, "-m", "aegis", *args)
