"""Matrix 2 and 3: key lockout, per-IP failure limiting and request rate limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.broker.conftest import Broker, FakeClock
from tests.broker.test_api_support import (
    assert_clean,
    assert_denied,
    details,
    running_broker,
    unknown_key,
    wrong_secret,
)

pytestmark = pytest.mark.anyio
MINT = "token.mint"


async def test_lockout_after_threshold_bad_secrets_then_recovery(broker: Broker) -> None:
    created = await broker.create_key("svc")
    key = created["api_key"]
    for i in range(4):
        await assert_denied(
            broker, await broker.mint(wrong_secret(key, i)), 401, "bad_secret", MINT, error="invalid_key"
        )
    r = await broker.mint(wrong_secret(key, 4))
    await assert_denied(broker, r, 401, "bad_secret_locked_out", MINT, error="invalid_key")
    detail = (await broker.http.get("/v1/principals/svc", headers=broker.admin)).json()
    assert detail["keys"][0]["locked"] is True
    # Even the right key is refused while locked, and that refusal is audited too.
    await assert_denied(broker, await broker.mint(key), 401, "key_locked", MINT, error="invalid_key")
    broker.clock.advance(299)
    await assert_denied(broker, await broker.mint(key), 401, "key_locked", MINT, error="invalid_key")
    broker.clock.advance(2)
    r = await broker.mint(key)
    assert r.status_code == 200, r.text
    # The failure counter restarted: one more bad secret is a plain bad_secret, not a new lockout.
    await assert_denied(broker, await broker.mint(wrong_secret(key, 9)), 401, "bad_secret", MINT, error="invalid_key")
    assert (await broker.mint(key)).status_code == 200


async def test_a_locked_key_does_not_lock_other_keys(broker: Broker) -> None:
    victim = (await broker.create_key("svc"))["api_key"]
    other = (await broker.create_key("svc"))["api_key"]
    for i in range(5):
        await broker.mint(wrong_secret(victim, i))
    await assert_denied(broker, await broker.mint(victim), 401, "key_locked", MINT, error="invalid_key")
    assert (await broker.mint(other)).status_code == 200


async def test_per_ip_failure_limit_answers_429_with_retry_after(broker: Broker) -> None:
    await broker.create_key("svc")
    for i in range(10):
        await assert_denied(broker, await broker.mint(unknown_key(i)), 401, "unknown_key", MINT, error="invalid_key")
    r = await broker.mint(unknown_key(99))
    row = await assert_denied(broker, r, 429, "rate_limited", MINT)
    assert int(r.headers["Retry-After"]) >= 1
    assert details(row)["after"] == "unknown_key"
    broker.clock.advance(int(r.headers["Retry-After"]))
    await assert_denied(broker, await broker.mint(unknown_key(100)), 401, "unknown_key", MINT, error="invalid_key")


async def test_admin_token_guessing_is_rate_limited(broker: Broker) -> None:
    for i in range(10):
        r = await broker.http.get("/v1/secrets", headers={"X-Admin-Token": f"guess-{i}"})
        await assert_denied(broker, r, 401, "admin_auth_failed", "secret.list")
    r = await broker.http.get("/v1/secrets", headers={"X-Admin-Token": "guess-x"})
    await assert_denied(broker, r, 429, "rate_limited", "secret.list")
    assert int(r.headers["Retry-After"]) >= 1


async def test_ip_request_rate_limit(db_url: str, tmp_path: Path, clock: FakeClock) -> None:
    async with running_broker(db_url, tmp_path, clock, ip_rate=1, ip_burst=3) as b:
        await b.create_key("svc")
        assert (await b.http.get("/v1/principals", headers=b.admin)).status_code == 200
        # A wrong credential is charged to the address.
        assert (await b.mint(unknown_key(1))).status_code == 401
        r = await b.mint(unknown_key(2))
        assert r.status_code == 429, r.text
        assert r.json()["error"] == "rate_limited"
        assert int(r.headers["Retry-After"]) >= 1
        assert_clean(b, r.text)
        # Still limited: even the audit query is refused until the bucket refills.
        assert (await b.http.get("/v1/audit", headers=b.admin)).status_code == 429
        clock.advance(10)
        rows = await b.audit(limit=2)
        assert [(x["action"], x["result"], x["reason"]) for x in rows] == [
            ("audit.query", "deny", "rate_limited"),
            (MINT, "deny", "rate_limited"),
        ]


async def test_per_key_rate_limit(db_url: str, tmp_path: Path, clock: FakeClock) -> None:
    async with running_broker(db_url, tmp_path, clock, key_rate=1, key_burst=2) as b:
        created = await b.create_key("svc")
        assert (await b.mint(created["api_key"])).status_code == 200
        assert (await b.mint(created["api_key"])).status_code == 200
        r = await b.mint(created["api_key"])
        row = await assert_denied(b, r, 429, "rate_limited", MINT)
        assert row["actor"] == f"key:{created['key_id']}"
        assert int(r.headers["Retry-After"]) >= 1
        clock.advance(1)
        assert (await b.mint(created["api_key"])).status_code == 200


async def test_one_keys_flood_does_not_throttle_other_keys_from_the_same_address(
    db_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    async with running_broker(db_url, tmp_path, clock, ip_rate=1, ip_burst=5, key_rate=1, key_burst=3) as b:
        noisy = (await b.create_key("noisy"))["api_key"]
        quiet = (await b.create_key("quiet"))["api_key"]
        statuses = [(await b.mint(noisy)).status_code for _ in range(20)]
        assert statuses[:3] == [200] * 3 and set(statuses[3:]) == {429}
        assert (await b.mint(quiet)).status_code == 200
        assert (await b.mint(quiet)).status_code == 200


async def test_a_token_flood_is_limited_per_key(db_url: str, tmp_path: Path, clock: FakeClock) -> None:
    async with running_broker(db_url, tmp_path, clock, ip_rate=1, ip_burst=5, key_rate=1, key_burst=4) as b:
        noisy = (await b.create_key("noisy"))["api_key"]
        quiet = (await b.create_key("quiet"))["api_key"]
        token = (await b.mint(noisy)).json()["access_token"]
        statuses = [
            (await b.http.get("/v1/secrets/none", headers={"Authorization": f"Bearer {token}"})).status_code
            for _ in range(10)
        ]
        assert 429 in statuses
        r = await b.http.get("/v1/secrets/none", headers={"Authorization": f"Bearer {token}"})
        await assert_denied(b, r, 429, "rate_limited", "secret.read")
        assert (await b.mint(quiet)).status_code == 200
