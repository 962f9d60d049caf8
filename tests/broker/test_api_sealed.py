"""Matrix 11 and 14: the sealed state, the seal kill switch and master-key rotation."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest

from tests.broker.conftest import Broker, FakeClock
from tests.broker.test_api_support import add_secret, read_secret, running_broker, token_for

pytestmark = pytest.mark.anyio
VALUE = "sealed-canary-4410"
ENDPOINTS = [
    ("GET", "/.well-known/jwks.json"),
    ("POST", "/v1/token"),
    ("POST", "/v1/token/exchange"),
    ("POST", "/v1/introspect"),
    ("POST", "/v1/keys"),
    ("GET", "/v1/secrets"),
    ("GET", "/v1/secrets/db"),
    ("GET", "/v1/audit"),
    ("GET", "/v1/principals"),
    ("POST", "/v1/revoke/key"),
    ("POST", "/v1/admin/seal"),
    ("POST", "/v1/admin/master-key/rotate"),
    ("GET", "/v1/nonexistent"),
]


async def _assert_sealed(b: Broker) -> None:
    health = await b.http.get("/health")
    assert health.status_code == 503 and health.json()["status"] == "sealed"
    for method, path in ENDPOINTS:
        r = await b.http.request(method, path, headers=b.admin)
        assert r.status_code == 503, (method, path, r.text)
        assert r.json()["error"] == "sealed"
        assert b.admin_token not in r.text


async def test_without_a_master_key_the_broker_is_sealed(db_url: str, tmp_path: Path, clock: FakeClock) -> None:
    async with running_broker(db_url, tmp_path, clock, key=False) as b:
        await _assert_sealed(b)
        assert "master" in (await b.http.get("/health")).json()["reason"]


async def test_a_wrong_master_key_keeps_the_broker_sealed(
    broker: Broker, db_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    await add_secret(broker, "db", VALUE, resource="host:server1")
    other = tmp_path / "other"
    async with running_broker(db_url, other, clock) as b:  # a fresh, different key file
        await _assert_sealed(b)
        assert VALUE not in (await b.http.get("/health")).text


async def test_the_seal_kill_switch(broker: Broker) -> None:
    await add_secret(broker, "db", VALUE, resource="host:server1")
    key = (await broker.create_key("svc"))["api_key"]
    token = await token_for(broker, key)
    r = await broker.http.post("/v1/admin/seal", headers={"X-Admin-Token": "nope"})
    assert r.status_code == 401 and (await broker.http.get("/health")).json()["sealed"] is False
    r = await broker.http.post("/v1/admin/seal", headers=broker.admin)
    assert r.status_code == 200 and r.json() == {"sealed": True}
    await _assert_sealed(broker)
    r = await read_secret(broker, "db", token)
    assert r.status_code == 503 and VALUE not in r.text
    assert (await broker.mint(key)).status_code == 503
    assert broker.state.signing == {} and broker.state.unsealed is None


async def test_the_seal_is_audited_and_a_restart_unseals(
    broker: Broker, db_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    await add_secret(broker, "db", VALUE, resource="host:server1")
    assert (await broker.http.post("/v1/admin/seal", headers=broker.admin)).status_code == 200
    async with running_broker(db_url, tmp_path, clock) as b:
        row = (await b.audit(limit=1))[0]
        assert (row["action"], row["result"], row["actor"]) == ("broker.seal", "allow", "admin")
        key = (await b.create_key("svc"))["api_key"]
        assert (await read_secret(b, "db", await token_for(b, key))).json()["value"] == VALUE


async def test_master_key_rotation(broker: Broker, db_url: str, tmp_path: Path, clock: FakeClock) -> None:
    await add_secret(broker, "db", VALUE, resource="host:server1")
    key = (await broker.create_key("svc"))["api_key"]
    token = await token_for(broker, key)
    before = broker.key_path.read_text()
    old_copy = tmp_path / "old" / "master.key"
    old_copy.parent.mkdir(mode=0o700)
    shutil.copy(broker.key_path, old_copy)

    r = await broker.http.post("/v1/admin/master-key/rotate", headers=broker.admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["data_keys_rewrapped"] >= 1 and body["previous_key_file"].endswith("master.key.old1")
    assert before not in r.text and before.split(":")[1].strip() not in r.text
    row = await broker.last_audit()
    assert (row["action"], row["result"]) == ("master_key.rotate", "allow")
    assert before.split(":")[1].strip() not in str(row)

    after = broker.key_path.read_text()
    assert after != before
    assert stat.S_IMODE(broker.key_path.stat().st_mode) == 0o600
    backup = broker.key_path.with_name("master.key.old1")
    assert backup.read_text() == before
    assert not broker.key_path.with_name("master.key.new").exists()

    assert (await read_secret(broker, "db", token)).json()["value"] == VALUE
    assert (await broker.mint(key)).status_code == 200

    async with running_broker(db_url, tmp_path, clock) as b:  # the new key file unseals
        assert (await b.http.get("/health")).json()["sealed"] is False
        fresh = await token_for(b, (await b.create_key("svc2"))["api_key"])
        assert (await read_secret(b, "db", fresh)).json()["value"] == VALUE
    async with running_broker(db_url, old_copy.parent, clock) as b:  # the old key no longer does
        health = await b.http.get("/health")
        assert health.status_code == 503 and health.json()["status"] == "sealed"


async def test_master_key_rotation_needs_the_admin_token(broker: Broker) -> None:
    before = broker.key_path.read_text()
    r = await broker.http.post("/v1/admin/master-key/rotate", headers={"X-Admin-Token": broker.admin_token + "x"})
    assert r.status_code == 401
    assert broker.key_path.read_text() == before
    assert not broker.key_path.with_name("master.key.old1").exists()


async def test_sealed_refusals_are_kept_and_become_keyed_rows_at_unseal(
    db_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    """Sealed, there is no chain key: the refusals (aggregated) wait beside the checkpoints, survive a
    restart, and are written as keyed rows when the broker unseals; the chain still verifies."""
    from storage.audit import ChainKey, verify_chain
    from tests.broker.test_api_support import sql

    checkpoints = tmp_path / "data" / "audit-checkpoints.jsonl"
    pending = checkpoints.with_name("audit-pending.jsonl")
    async with running_broker(db_url, tmp_path, clock, key=False, checkpoint_path=checkpoints) as b:
        await _assert_sealed(b)
        assert await sql(b, "SELECT seq FROM audit_log WHERE action = 'broker.sealed'") == []  # no unkeyed row
        clock.advance(61)
        assert (await b.http.get("/v1/secrets", headers=b.admin)).status_code == 503
        admin_token = b.admin_token
    kept = [json.loads(line) for line in pending.read_text().splitlines()]
    assert [e["action"] for e in kept] == ["broker.sealed"] * 3
    assert kept[1]["details"]["count"] == 13 and kept[1]["details"]["summary"] is True
    assert admin_token not in pending.read_text() and stat.S_IMODE(pending.stat().st_mode) == 0o600

    async with running_broker(db_url, tmp_path, clock, checkpoint_path=checkpoints) as b:  # the key is back
        rows = await sql(b, "SELECT details, result, reason FROM audit_log WHERE action = 'broker.sealed' ORDER BY seq")
        details = [d if isinstance(d, dict) else json.loads(d) for d, *_ in rows]
        assert len(rows) == 3 and all(r[1:] == ("deny", "sealed") for r in rows)
        assert all(d["while_sealed"] is True and d["sealed_at"] for d in details)
        assert details[1]["count"] == 13
        assert not pending.exists()
        async with b.state.db.transaction() as s:
            report = await verify_chain(s, key=ChainKey.of(b.state.keys().keyring))
        assert report.ok and report.keyed_rows == report.rows, report
