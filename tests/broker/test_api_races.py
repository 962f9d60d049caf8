"""Smaller holes: a key revoked during a mint, a deleted secret's resource, a rolled-back version pointer."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from broker import minting
from tests.broker.conftest import Broker
from tests.broker.test_api_support import add_secret, assert_denied, sql

pytestmark = pytest.mark.anyio


async def test_a_key_revoked_while_a_mint_is_in_flight_mints_nothing(
    broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = await broker.create_key("svc")
    original = minting._authenticate

    async def then_revoked(*args: Any) -> Any:
        found = await original(*args)
        async with broker.state.db.transaction() as s:  # the revocation commits between check and issue
            await s.execute(
                text("UPDATE api_keys SET revoked_at = :t WHERE key_id = :k"),
                {"t": broker.state.now_dt(), "k": created["key_id"]},
            )
        return found

    monkeypatch.setattr(minting, "_authenticate", then_revoked)
    r = await broker.mint(created["api_key"])
    await assert_denied(broker, r, 401, "key_revoked", "token.mint")
    assert await sql(broker, "SELECT jti FROM issued_tokens WHERE revoked_at IS NULL") == []


async def test_a_deleted_secrets_resource_cannot_be_minted_for(broker: Broker) -> None:
    key = (await broker.create_key("svc"))["api_key"]
    await add_secret(broker, "old", "deleted-canary", resource="host:gone")
    assert (await broker.mint(key, resource="host:gone")).status_code == 200
    assert (await broker.http.delete("/v1/secrets/old", headers=broker.admin)).status_code == 200
    r = await broker.mint(key, resource="host:gone")
    await assert_denied(broker, r, 403, "resource_deleted", "token.mint")
    # A resource with no secret at all is not affected.
    assert (await broker.mint(key, resource="host:other")).status_code == 200


async def test_a_version_pointer_rolled_back_in_the_database_is_detected(broker: Broker) -> None:
    from tests.broker.test_api_support import read_secret, token_for

    await add_secret(broker, "db", "old-value-canary", resource="host:server1")
    broker.secrets_seen.append("new-value-canary")
    r = await broker.http.put("/v1/secrets/db", json={"value": "new-value-canary"}, headers=broker.admin)
    assert r.status_code == 200, r.text
    token = await token_for(broker, (await broker.create_key("svc"))["api_key"])
    assert (await read_secret(broker, "db", token)).json()["value"] == "new-value-canary"
    await sql(broker, "UPDATE secrets SET current_version = 1 WHERE name = 'db'")
    r = await read_secret(broker, "db", token)
    await assert_denied(broker, r, 500, "integrity_failure", "secret.read")
    assert "old-value-canary" not in r.text


async def test_the_audit_filter_by_principal_finds_mints_and_reads(broker: Broker) -> None:
    from tests.broker.test_api_support import read_secret, token_for

    await add_secret(broker, "db", "filter-canary", resource="host:server1")
    token = await token_for(broker, (await broker.create_key("svc"))["api_key"])
    assert (await read_secret(broker, "db", token)).status_code == 200
    actions = {row["action"] for row in await broker.audit(principal="svc")}
    assert {"token.mint", "secret.read"} <= actions
    assert await broker.audit(principal="nobody") == []
