"""Lockout per client address with a slower account-wide limit: the owner keeps a way in, an
attacker spread over many addresses still gets no more guesses than one address got before."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from storage.models import LoginAddressRow
from tests.web.conftest import CHEAP_ARGON2, Console, FakeClock
from web.config import ConsoleConfig

pytestmark = pytest.mark.anyio

HOME = "198.51.100.7"  # where the owner usually logs in from


@pytest.fixture
def console_config(clock: FakeClock) -> ConsoleConfig:
    # The test client is the trusted proxy (as the tunnel's local end is), so X-Forwarded-For picks the address.
    return ConsoleConfig(
        clock=clock,
        argon2=CHEAP_ARGON2,
        auth_rate=(100.0, 1000),
        api_rate=(1000.0, 5000),
        trusted_proxies=("127.0.0.1",),
    )


async def _login(console: Console, ip: str, code: str | None = None, **overrides: str) -> httpx.Response:
    body = {"email": console.email, "passphrase": console.passphrase, "code": code or console.fresh_code()}
    return await console.http.post("/auth/login", json=body | overrides, headers={"X-Forwarded-For": ip})


async def _fail_until_locked(console: Console, ip: str) -> None:
    """Ten wrong passphrases from ``ip``, waiting out each backoff, as a patient attacker would."""
    for n in range(1, 11):
        r = await _login(console, ip, console.code(), passphrase=f"guess-{n}")
        assert r.status_code == 401, (n, r.text)
        if n < 10:
            console.clock.advance(2 ** max(0, n - 3))


async def test_an_attacker_locks_only_its_own_address(console: Console) -> None:
    """Before: ten bad logins from anywhere locked the owner out for 15 minutes."""
    await _fail_until_locked(console, "203.0.113.5")
    refused = await _login(console, "203.0.113.5")  # even with every factor right
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 14 * 60
    assert (await _login(console, HOME)).status_code == 200  # a first login from here: still fine


async def test_guesses_spread_over_addresses_hit_the_account_limit_but_not_the_owner(console: Console) -> None:
    assert (await _login(console, HOME)).status_code == 200  # the owner's usual place
    for n in range(20):  # one guess per address: no address ever reaches its own backoff
        r = await _login(console, f"203.0.113.{n + 1}", console.code(), passphrase=f"guess-{n}")
        assert r.status_code == 401, n
    # From now on a new address is refused before anything is checked, right factors or not:
    # 20 evaluated guesses per 30 minutes at most, however many addresses the attacker has.
    for n in range(30):
        r = await _login(console, f"192.0.2.{n + 1}")
        assert r.status_code == 429, n
        assert int(r.headers["retry-after"]) > 29 * 60 - 30 * n  # each fresh code moves the clock on
    assert (await _login(console, HOME)).status_code == 200  # the owner from home
    recovery = await _login(console, "100.64.0.9", console.recovery_codes[0])  # the owner travelling
    assert recovery.status_code == 200, recovery.text
    tokens = (await _login(console, HOME)).json()
    reasons = [
        r["reason"]
        for r in await console.audit(tokens["access_token"], action="auth.login", limit=100)
        if r["result"] != "ok"
    ]
    assert reasons.count("bad_passphrase") == 20
    assert reasons.count("locked") == 30
    locks = await console.audit(tokens["access_token"], action="auth.lockout")
    assert [r["details"]["scope"] for r in locks] == ["account"]  # once, when the 20th failure came in


async def test_a_recovery_code_cannot_be_guessed_past_the_address_limit(console: Console) -> None:
    """Recovery codes bypass only the account-wide lock, never the address's own."""
    for n in range(10):
        r = await _login(console, "203.0.113.77", f"AAAA-BBBB-{n:04d}")
        assert r.status_code == 401, n
        console.clock.advance(2 ** max(0, n - 2))
    assert (await _login(console, "203.0.113.77", console.recovery_codes[1])).status_code == 429
    console.clock.advance(15 * 60)
    assert (await _login(console, "203.0.113.77", console.recovery_codes[1])).status_code == 200


async def test_addresses_that_only_failed_are_forgotten_after_a_day(console: Console) -> None:
    assert (await _login(console, HOME)).status_code == 200
    await _fail_until_locked(console, "203.0.113.5")
    assert await _addresses(console) == 2
    console.clock.advance(25 * 3600)
    assert (await _login(console, "203.0.113.6", passphrase="guess")).status_code == 401
    assert await _addresses(console) == 2  # home (kept: the owner logged in from it) and the new one
    assert (await _login(console, "203.0.113.5")).status_code == 200  # the forgotten one starts afresh


async def _addresses(console: Console) -> int:
    async with console.db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(LoginAddressRow)) or 0)
