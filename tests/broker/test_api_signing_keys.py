"""Signing keys: retirement on time and on a schedule, emergency revocation, bounded atomic rotation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from broker.signing import MAX_PUBLISHED
from broker.verify import VerificationError
from tests.broker.conftest import Broker, FakeClock
from tests.broker.test_api_support import (
    add_secret,
    assert_denied,
    details,
    introspect,
    jwks,
    read_secret,
    running_broker,
    sql,
    token_for,
    verify,
)

pytestmark = pytest.mark.anyio
GRACE = 1800 + 60


async def _kids(broker: Broker) -> set[str]:
    return {k["kid"] for k in (await jwks(broker))["keys"]}


async def _rotate(broker: Broker) -> str:
    r = await broker.http.post("/v1/admin/signing-key/rotate", headers=broker.admin)
    assert r.status_code == 200, r.text
    kid: str = r.json()["active_kid"]
    return kid


async def test_a_retired_key_leaves_the_jwks_and_the_verifier_after_the_grace_period(broker: Broker) -> None:
    await add_secret(broker, "db", "retire-canary", resource="host:server1")
    key = (await broker.create_key("svc"))["api_key"]
    (old_kid,) = await _kids(broker)
    # A token signed by the old key, still inside its lifetime when the grace period ends (a forged
    # long-lived one would be; the broker's own lifetime check is not what retires the key).
    old_token = await token_for(broker, key, ttl_seconds=1800)
    new_kid = await _rotate(broker)
    broker.clock.advance(GRACE - 1)
    assert await _kids(broker) == {old_kid, new_kid}
    broker.clock.advance(1)
    assert await _kids(broker) == {new_kid}
    assert old_kid not in broker.state.keyset.kids and old_kid not in broker.state.signing
    with pytest.raises(VerificationError):
        await verify(broker, old_token)
    # The broker's own routes refuse it too.
    r = await read_secret(broker, "db", old_token)
    assert r.status_code == 401


async def test_the_schedule_marks_retired_keys_in_the_database(db_url: str, tmp_path: Path, clock: FakeClock) -> None:
    async with running_broker(db_url, tmp_path, clock, keyset_refresh_seconds=0.05) as broker:
        (old_kid,) = await _kids(broker)
        await _rotate(broker)
        broker.clock.advance(GRACE)
        async with asyncio.timeout(5):
            while (await sql(broker, "SELECT state FROM signing_keys WHERE kid = :k", k=old_kid))[0][0] != "retired":  # noqa: ASYNC110
                await asyncio.sleep(0.02)


async def test_rotation_is_bounded_and_never_leaves_an_unstartable_state(
    broker: Broker, db_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    key = (await broker.create_key("svc"))["api_key"]
    statuses = []
    for _ in range(100):  # the reported failure: about 100 rotations within the grace period
        r = await broker.http.post("/v1/admin/signing-key/rotate", headers=broker.admin)
        statuses.append(r.status_code)
        clock.advance(10)
    assert statuses[: MAX_PUBLISHED - 1] == [200] * (MAX_PUBLISHED - 1)
    assert set(statuses[MAX_PUBLISHED - 1 :]) == {409}
    refused = await assert_denied(broker, r, 409, "too_many_signing_keys", "signing_key.rotate")
    assert refused["actor"] == "admin"
    assert int(r.headers["Retry-After"]) > 0
    assert len(await _kids(broker)) == MAX_PUBLISHED
    # The broker still mints tokens it accepts itself, and it starts again from this state.
    token = await token_for(broker, key)
    assert (await introspect(broker, token))["active"] is True
    async with running_broker(db_url, tmp_path, clock) as restarted:
        assert (await restarted.http.get("/health")).json()["status"] == "ok"
        assert await _kids(restarted) == await _kids(broker)
    # Once the oldest retires, rotation works again.
    clock.advance(GRACE)
    await _rotate(broker)


async def test_a_database_with_too_many_published_keys_still_unseals(
    broker: Broker, db_url: str, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Written by an older version that did not bound rotation: more keys retiring than the bound.
    monkeypatch.setattr("broker.admin.MAX_PUBLISHED", 3 * MAX_PUBLISHED)
    monkeypatch.setattr("broker.admin.load_rows", lambda *a: broker.state.signing_set)
    for _ in range(2 * MAX_PUBLISHED):
        newest = await _rotate(broker)
    rows = await sql(broker, "SELECT COUNT(*) FROM signing_keys WHERE state = 'retiring'")
    assert rows[0][0] == 2 * MAX_PUBLISHED
    async with running_broker(db_url, tmp_path, clock) as restarted:
        assert (await restarted.http.get("/health")).json() == {"status": "ok", "sealed": False, "active_kid": newest}
        kids = await _kids(restarted)
        assert newest in kids and len(kids) == MAX_PUBLISHED


async def test_emergency_revocation_of_the_active_key_takes_effect_at_once(broker: Broker) -> None:
    await add_secret(broker, "db", "revoke-canary", resource="host:server1")
    key = (await broker.create_key("svc"))["api_key"]
    (kid,) = await _kids(broker)
    token = await token_for(broker, key)
    r = await broker.http.post(f"/v1/admin/signing-key/{kid}/revoke", json={"reason": "leaked"}, headers=broker.admin)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["revoked"] == kid and out["active_kid"] != kid and out["tokens_revoked"] == 1
    assert await _kids(broker) == {out["active_kid"]}
    assert (await read_secret(broker, "db", token)).status_code == 401
    assert (await introspect(broker, token))["active"] is False
    row = (await broker.audit(action="signing_key.revoke"))[0]
    assert row["result"] == "allow" and details(row)["kid"] == kid
    # The new active key works at once.
    fresh = await token_for(broker, key)
    assert (await read_secret(broker, "db", fresh)).json()["value"] == "revoke-canary"


async def test_emergency_revocation_of_a_retiring_key_and_its_refusals(broker: Broker) -> None:
    (old_kid,) = await _kids(broker)
    new_kid = await _rotate(broker)
    r = await broker.http.post(f"/v1/admin/signing-key/{old_kid}/revoke", json={}, headers=broker.admin)
    assert r.status_code == 200, r.text
    assert r.json()["active_kid"] == new_kid
    assert await _kids(broker) == {new_kid}
    r = await broker.http.post(f"/v1/admin/signing-key/{old_kid}/revoke", json={}, headers=broker.admin)
    await assert_denied(broker, r, 404, "unknown_kid", "signing_key.revoke")
    r = await broker.http.post(f"/v1/admin/signing-key/{new_kid}/revoke", json={}, headers={"X-Admin-Token": "no"})
    await assert_denied(broker, r, 401, "admin_auth_failed", "signing_key.revoke")
    assert await _kids(broker) == {new_kid}


async def test_the_client_revokes_a_signing_key(broker: Broker) -> None:
    from broker.client import BrokerClient

    (kid,) = await _kids(broker)
    out = await BrokerClient(broker.http, admin_token=broker.admin_token).revoke_signing_key(kid)
    assert out["revoked"] == kid and await _kids(broker) == {out["active_kid"]}
    assert (await broker.audit(action="signing_key.revoke"))[0]["reason"] == "compromised"
