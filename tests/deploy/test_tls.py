"""TLS 1.3 between services: the internal CA script, and a real broker serving HTTPS with it."""

from __future__ import annotations

import os
import socket
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from aegis.settings import Settings
from tests.deploy.stack import DEPLOY, Stack, make_tls


def _serial(cert: Path) -> str:
    out = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", str(cert)], capture_output=True, text=True)
    return out.stdout.strip()


def test_the_ca_script_issues_verifiable_certificates_and_is_idempotent(tmp_path: Path) -> None:
    out = tmp_path / "tls"
    first = subprocess.run([str(DEPLOY / "make-ca.sh"), str(out)], capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    for name in ("traefik", "console", "broker", "postgres", "whatsapp-bridge"):
        verify = subprocess.run(
            ["openssl", "verify", "-CAfile", str(out / "ca.crt"), str(out / f"{name}.crt")], capture_output=True
        )
        assert verify.returncode == 0, name
        assert stat.S_IMODE((out / f"{name}.key").stat().st_mode) == 0o600
    sans = subprocess.run(
        ["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", str(out / "traefik.crt")],
        capture_output=True,
        text=True,
    ).stdout
    assert "DNS:aegis.internal" in sans and "DNS:broker.aegis.internal" in sans

    before = _serial(out / "console.crt")
    again = subprocess.run([str(DEPLOY / "make-ca.sh"), str(out)], capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "issued" not in again.stdout and "created" not in again.stdout
    assert _serial(out / "console.crt") == before

    ca = (out / "ca.crt").read_bytes()
    renewed = subprocess.run([str(DEPLOY / "make-ca.sh"), str(out), "--renew"], capture_output=True, text=True)
    assert renewed.returncode == 0 and _serial(out / "console.crt") != before
    assert (out / "ca.crt").read_bytes() == ca  # the CA stays; only service certificates are reissued


def test_tls_settings_come_in_pairs() -> None:
    with pytest.raises(ValidationError, match="AEGIS_TLS_CERT_FILE and AEGIS_TLS_KEY_FILE"):
        Settings(tls_cert_file=Path("/x.crt"))


def _handshake(port: int, ctx: ssl.SSLContext) -> str:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        return str(tls.version())


@pytest.mark.timeout(240)
def test_the_broker_serves_tls13_only_to_clients_that_trust_the_internal_ca(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "stack", make_tls(tmp_path / "tls"))
    stack.root.mkdir()
    stack.start(broker_only=True)
    try:
        trusted = ssl.create_default_context(cafile=str(stack.tls / "ca.crt"))
        assert _handshake(stack.broker_port, trusted) == "TLSv1.3"

        old = ssl.create_default_context(cafile=str(stack.tls / "ca.crt"))
        old.maximum_version = ssl.TLSVersion.TLSv1_2
        with pytest.raises(ssl.SSLError):
            _handshake(stack.broker_port, old)

        stranger = ssl.create_default_context()  # the public roots only
        with pytest.raises(ssl.SSLCertVerificationError):
            _handshake(stack.broker_port, stranger)

        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{stack.broker_port}/health", timeout=5)

        # The containers' health check: healthy only through the internal CA.
        url = f"https://localhost:{stack.broker_port}/health"
        env = {**os.environ, "AEGIS_BROKER_CA_FILE": str(stack.tls / "ca.crt")}
        ok = subprocess.run([sys.executable, "-m", "aegis.healthcheck", url], env=env, timeout=60)
        assert ok.returncode == 0
        env.pop("AEGIS_BROKER_CA_FILE")
        refused = subprocess.run([sys.executable, "-m", "aegis.healthcheck", url], env=env, timeout=60)
        assert refused.returncode == 1
    finally:
        stack.stop()
