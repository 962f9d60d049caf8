from __future__ import annotations

import pytest

from tests.broker.conftest import Broker

pytestmark = pytest.mark.anyio


async def test_key_mint_read_secret_end_to_end(broker: Broker) -> None:
    health = (await broker.http.get("/health")).json()
    assert health["status"] == "ok"
    r = await broker.http.post(
        "/v1/secrets",
        json={"name": "ssh-pass:server1", "value": "hunter2-canary", "resource": "host:server1"},
        headers=broker.admin,
    )
    assert r.status_code == 201, r.text
    key = await broker.create_key("charon", max_scopes=["secrets.read"], max_resources=["host:server1"])
    minted = await broker.mint(key["api_key"])
    assert minted.status_code == 200, minted.text
    token = minted.json()["access_token"]
    r = await broker.http.get("/v1/secrets/ssh-pass:server1", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert r.json()["value"] == "hunter2-canary"
    last = await broker.last_audit()
    assert last["action"] == "secret.read" and last["result"] == "allow"
