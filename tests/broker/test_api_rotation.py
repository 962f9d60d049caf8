"""Matrix 15: data-key rotation of the vault domain over HTTP, with the background rewrap."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from storage.crypto.field import kid_of
from tests.broker.conftest import Broker
from tests.broker.test_api_support import add_secret, assert_denied, details, read_secret, sql, token_for

pytestmark = pytest.mark.anyio
VALUES = {"one": "dk-canary-1", "two": "dk-canary-2", "three": "dk-canary-3"}


async def _wait_done(broker: Broker, rid: int) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            r = await broker.http.get(f"/v1/admin/rotations/{rid}", headers=broker.admin)
            assert r.status_code == 200, r.text
            status: dict[str, Any] = r.json()
            if status["state"] == "done":
                return status
            await asyncio.sleep(0.01)


async def _dek_kids(broker: Broker) -> set[str]:
    return {kid_of(bytes(row[0])) for row in await sql(broker, "SELECT wrapped_dek FROM secret_versions")}


async def test_vault_data_key_rotation_rewraps_every_version(broker: Broker) -> None:
    for name, value in VALUES.items():
        await add_secret(broker, name, value, resource="host:server1")
    broker.secrets_seen.append("dk-canary-2b")
    await broker.http.put("/v1/secrets/two", json={"value": "dk-canary-2b"}, headers=broker.admin)
    token = await token_for(broker, (await broker.create_key("svc"))["api_key"])
    (old_kid,) = await _dek_kids(broker)

    r = await broker.http.post("/v1/admin/data-keys/vault/rotate", headers=broker.admin)
    assert r.status_code == 202, r.text
    rid = r.json()["rotation"]
    assert r.json()["domain"] == "vault"
    status = await _wait_done(broker, rid)
    target = status["target"]
    assert target != old_kid and status["rows_total"] == 4
    assert await _dek_kids(broker) == {target}
    expected = {**VALUES, "two": "dk-canary-2b"}
    for name, value in expected.items():
        assert (await read_secret(broker, name, token)).json()["value"] == value
    rows = await broker.audit(action="data_key.rotate")
    assert rows[0]["result"] == "allow" and details(rows[0])["rotation"] == rid
    # New versions are written under the new key too.
    broker.secrets_seen.append("dk-canary-1b")
    await broker.http.put("/v1/secrets/one", json={"value": "dk-canary-1b"}, headers=broker.admin)
    assert await _dek_kids(broker) == {target}
    assert (await read_secret(broker, "one", token)).json()["value"] == "dk-canary-1b"


async def test_data_key_rotation_input_is_checked(broker: Broker) -> None:
    r = await broker.http.post("/v1/admin/data-keys/nope/rotate", headers=broker.admin)
    await assert_denied(broker, r, 400, "invalid_domain", "data_key.rotate")
    r = await broker.http.post("/v1/admin/data-keys/vault/rotate")
    await assert_denied(broker, r, 401, "admin_auth_failed", "data_key.rotate")
    r = await broker.http.get("/v1/admin/rotations/999", headers=broker.admin)
    assert r.status_code in (400, 404)
    assert (await broker.last_audit())["action"] == "data_key.status"
