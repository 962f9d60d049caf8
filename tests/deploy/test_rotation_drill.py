"""The 90-day rotation drill: deploy/rotate-secrets.sh end to end on the embedded stack (TLS 1.3
between its services), then everything still decrypts and the owner can still log in."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest

from tests.deploy.stack import DEPLOY, Stack, make_tls
from tests.web.conftest import totp
from tests.web.test_admin_init import EMAIL, GOOD, _run_init, _secret_from_output

pytestmark = pytest.mark.timeout(420)


def _login(stack: Stack, code: str) -> int:
    with stack.http(stack.url) as http:
        r = http.post("/auth/login", json={"email": EMAIL, "passphrase": GOOD, "code": code})
        return r.status_code


def _snapshot(stack: Stack) -> dict[str, str]:
    files = {
        "master": stack.data / "master.key",
        "admin": stack.data / "broker-admin.token",
        "console": stack.data / "keys" / "console.key",
        "gmail": stack.data / "keys" / "mcp-gmail.key",
    }
    return {k: p.read_text() for k, p in files.items()}


def test_rotate_secrets_rotates_everything_and_nothing_breaks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = Stack(tmp_path / "stack", make_tls(tmp_path / "tls"))
    stack.root.mkdir()
    stack.start()
    try:
        for key, value in stack.env().items():
            monkeypatch.setenv(key, value)
        code, out = _run_init([EMAIL, GOOD])
        assert code == 0, out
        recovery = re.findall(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b", out)
        secret = _secret_from_output(out)
        enrolled_window = int(time.time()) // 30
        assert _login(stack, recovery[0]) == 200

        with stack.http(stack.broker_url) as http:
            kid_before = http.get("/health").json()["active_kid"]
        before = _snapshot(stack)

        rotated = stack.run(str(DEPLOY / "rotate-secrets.sh"))
        assert rotated.returncode == 0, rotated.stdout + rotated.stderr
        assert "master key rotated" in rotated.stdout and "data key vault: new version" in rotated.stdout
        assert "Anthropic API key" in rotated.stdout and "Cloudflare Tunnel token" in rotated.stdout
    finally:
        stack.stop()

    previous_keys = sorted(stack.data.glob("master.key.*"))
    assert previous_keys, "the previous master key is kept until the owner has backed up the new one"

    # Restart: the new admin token and new service keys take effect.
    stack.start()
    try:
        after = _snapshot(stack)
        for name in before:
            assert after[name] != before[name], f"{name} was not rotated"
        with stack.http(stack.broker_url) as http:
            assert http.get("/health").json()["active_kid"] != kid_before

        status = stack.aegis("datakeys", "status")
        assert status.returncode == 0, status.stderr
        active = [line.split()[0] for line in status.stdout.splitlines() if " active " in f" {line} "]
        encryption = [kid for kid in active if ".enc." in kid]
        assert len(encryption) >= 5 and all(not kid.endswith(".v1") for kid in encryption), status.stdout

        # The owner still logs in with an authenticator code: the TOTP secret was re-encrypted under the
        # new auth key and its data key re-wrapped under the new master key.
        # The enrolment spent its window's code; the next window's is accepted (one step of skew), so
        # no waiting for the clock.
        at = time.time() + 30 if int(time.time()) // 30 == enrolled_window else time.time()
        assert _login(stack, totp(secret, at)) == 200

        # Every encrypted value decrypts under the new master key, and the audit chain is whole.
        check = stack.run(sys.executable, "-m", "aegis.restore_check")
        assert check.returncode == 0, check.stdout + check.stderr
        assert "audit chain intact" in check.stdout
    finally:
        stack.stop()

    # The previous master key no longer opens anything.
    stale = stack.run(sys.executable, "-m", "aegis.restore_check", AEGIS_MASTER_KEY_FILE=str(previous_keys[0]))
    assert stale.returncode == 1 and "does not open this data" in stale.stderr
