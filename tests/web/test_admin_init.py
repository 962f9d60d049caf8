"""``aegis admin init``: the core with a Keyring + Database, and the command through CliRunner."""

from __future__ import annotations

import asyncio
import base64
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from aegis.cli import app as cli
from aegis.commands import admin
from aegis.runtime import Context
from storage.crypto.keyring import Keyring
from storage.db import Database
from tests.web.conftest import CHEAP_ARGON2, FakeClock, make_keyring, totp
from web.auth.enrolment import AdminSetup
from web.auth.passwords import WeakPassphrase, check_strength
from web.config import ConsoleConfig

EMAIL = "me@example.org"
GOOD = "orbit-lantern-Saffron-27-tide"


@pytest.mark.parametrize(
    ("passphrase", "why"),
    [
        ("short-1A", "at least 12"),
        ("password1234", "common"),
        ("river-Tobias-17-Zq", "name part"),
        ("aaaaaaaaaaaaaaaaaaaa", "predictable"),
        ("abababababab", "predictable"),
    ],
)
def test_weak_passphrases_are_refused_with_a_reason(passphrase: str, why: str) -> None:
    with pytest.raises(WeakPassphrase, match=why):
        check_strength(passphrase, "tobias@example.org")


def test_a_strong_passphrase_passes() -> None:
    check_strength(GOOD, EMAIL)


def _secret_from_output(out: str) -> bytes:
    uri = re.search(r"otpauth://totp/\S+", out)
    assert uri, out
    parsed = urlparse(uri.group(0))
    assert parsed.path == "/Aegis:me@example.org"
    query = parse_qs(parsed.query)
    assert query["issuer"] == ["Aegis"]
    b32 = query["secret"][0]
    return base64.b32decode(b32 + "=" * (-len(b32) % 8))


@pytest.fixture
def setup_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Keyring:
    keyring = make_keyring()
    monkeypatch.setenv("AEGIS_DATABASE_URL", db_url)
    monkeypatch.setenv("AEGIS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AEGIS_SECRETS_DIR", str(tmp_path / "secrets"))

    def fake_keyring(_ctx: Context) -> Keyring:
        return keyring

    monkeypatch.setattr(admin, "load_keyring", fake_keyring)
    return keyring


def _run(inputs: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["admin", "init"], input="\n".join(inputs) + "\n")
    return result.exit_code, result.output


def _run_init(answers: list[str]) -> tuple[int, str]:
    """Answer the prompts in order; the confirmation code is computed from the secret the command printed."""
    remaining = iter(answers)
    printed: list[str] = []
    original_print = Console.print

    def prompt(text: str, **kwargs: object) -> str:
        if "passphrase" in text.lower():
            assert kwargs.get("hide_input") is True  # typed at a hidden prompt, never echoed
        if text == "Code shown by the app":
            return totp(_secret_from_output("".join(printed)), time.time())
        return next(remaining)

    def capture(self: Console, *objects: Any, **kwargs: Any) -> None:
        printed.append(" ".join(str(o) for o in objects))
        original_print(self, *objects, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(typer, "prompt", prompt)
        mp.setattr(Console, "print", capture)
        result = CliRunner().invoke(cli, ["admin", "init"])
    return result.exit_code, result.output + "".join(printed)


def test_cli_enrols_then_demands_the_current_factors(setup_env: Keyring, db_url: str) -> None:
    code, out = _run_init([EMAIL, "short", GOOD])
    assert code == 0, out
    assert "Weak passphrase" in out
    assert "Recovery codes" in out
    recovery = re.findall(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b", out)
    assert len(set(recovery)) == 10
    assert "█" in out or "▀" in out or "▄" in out  # the terminal QR code

    # Running it again without the current factors changes nothing.
    code, out2 = _run_init(["wrong passphrase", "000000"])
    assert code == 1
    assert "Invalid credentials" in out2

    # With the passphrase and a recovery code it replaces the account (and its codes).
    code, out3 = _run_init([GOOD, recovery[0], EMAIL, GOOD + "-2"])
    assert code == 0, out3

    async def old_code_is_gone() -> bool:
        db = Database(db_url)
        try:
            setup = AdminSetup(db, setup_env, ConsoleConfig(argon2=CHEAP_ARGON2))
            return await setup.verify_current(GOOD + "-2", recovery[1])
        finally:
            await db.dispose()

    assert asyncio.run(old_code_is_gone()) is False  # the previous recovery codes were replaced


def test_cli_says_the_broker_must_run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEGIS_DATABASE_URL", db_url)
    monkeypatch.setenv("AEGIS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AEGIS_BROKER_PORT", "9")  # nothing listens there

    def unreachable(ctx: Context) -> Keyring:
        raise admin.BrokerUnreachable(ctx.settings.resolved_broker_url)

    monkeypatch.setattr(admin, "load_keyring", unreachable)
    code, out = _run([])
    assert code == 1
    assert "aegis up" in out and "not reachable" in out


@pytest.mark.anyio
async def test_core_enrolment_without_a_broker(db: Database) -> None:
    clock = FakeClock()
    keyring = make_keyring()
    setup = AdminSetup(db, keyring, ConsoleConfig(clock=clock, argon2=CHEAP_ARGON2))
    assert not await setup.exists()
    enrolment = setup.start(EMAIL, GOOD)
    assert enrolment.confirm("000000" if totp(enrolment.secret, clock.now) != "000000" else "111111", clock.now) is None
    step = enrolment.confirm(totp(enrolment.secret, clock.now), clock.now)
    assert step == int(clock.now) // 30
    codes = await setup.finish(enrolment, step)
    assert len(codes) == 10
    assert await setup.current_email() == EMAIL
    # The confirmation code itself can never be used again; the next step's can.
    assert not await setup.verify_current(GOOD, totp(enrolment.secret, clock.now))
    clock.advance(30)
    assert await setup.verify_current(GOOD, totp(enrolment.secret, clock.now))
