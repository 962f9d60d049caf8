"""Matrix 10 and 13: fail-closed audit, the audit chain, and logs that never hold a secret."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NoReturn

import pytest

from storage.audit import AuditError, AuditEvent, AuditLog, ChainKey, verify_chain
from tests.broker.conftest import Broker
from tests.broker.test_api_support import (
    add_secret,
    assert_clean,
    bearer,
    read_secret,
    secrets_of,
    sql,
    token_for,
    unverified,
    wrong_secret,
)

pytestmark = pytest.mark.anyio
VALUE = "fail-closed-canary-31"


def _failing_chain(self: AuditLog, seq: int, prev: str, events: Sequence[AuditEvent]) -> NoReturn:
    """Every write path (a transaction's append, the one-statement mint) builds its rows here."""
    raise AuditError("audit store unavailable (test)")


async def _issued(broker: Broker) -> int:
    return int((await sql(broker, "SELECT COUNT(*) FROM issued_tokens"))[0][0])


async def _chain_ok(broker: Broker) -> int:
    async with broker.state.db.transaction() as s:
        report = await verify_chain(s, key=ChainKey.of(broker.state.keys().keyring))
    assert report.ok, report
    return report.rows


async def test_mint_and_read_fail_closed_when_audit_cannot_be_written(
    broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_secret(broker, "db", VALUE, resource="host:server1")
    key = (await broker.create_key("svc"))["api_key"]
    token = await token_for(broker, key)
    issued, rows = await _issued(broker), await _chain_ok(broker)

    monkeypatch.setattr(AuditLog, "chain", _failing_chain)
    r = await broker.mint(key)
    assert r.status_code == 503, r.text
    assert r.json()["error"] == "audit_unavailable" and "access_token" not in r.json()
    assert await _issued(broker) == issued
    r = await read_secret(broker, "db", token)
    assert r.status_code == 503 and r.json()["error"] == "audit_unavailable"
    assert VALUE not in r.text
    assert_clean(broker, r.text)
    r = await broker.http.post("/v1/secrets", json={"name": "x", "value": "x-canary-9"}, headers=broker.admin)
    assert r.status_code == 503
    r = await broker.http.post("/v1/introspect", json={"token": token}, headers=broker.admin)
    assert r.status_code == 503 and "active" not in r.json()

    monkeypatch.undo()
    assert await _chain_ok(broker) == rows
    assert [s["name"] for s in (await broker.http.get("/v1/secrets", headers=broker.admin)).json()] == ["db"]
    assert (await read_secret(broker, "db", token)).json()["value"] == VALUE


async def test_a_broken_audit_table_fails_closed(broker: Broker) -> None:
    await add_secret(broker, "db", VALUE, resource="host:server1")
    key = (await broker.create_key("svc"))["api_key"]
    token = await token_for(broker, key)
    issued = await _issued(broker)
    await sql(broker, "ALTER TABLE audit_head RENAME TO audit_head_gone")
    r = await broker.mint(key)
    assert r.status_code == 503 and r.json()["error"] == "audit_unavailable"
    assert await _issued(broker) == issued
    r = await read_secret(broker, "db", token)
    assert r.status_code == 503 and VALUE not in r.text
    r = await broker.http.post("/v1/revoke/token", json={"jti": unverified(token)[1]["jti"]}, headers=broker.admin)
    assert r.status_code == 503
    assert (await sql(broker, "SELECT COUNT(*) FROM issued_tokens WHERE revoked_at IS NOT NULL"))[0][0] == 0
    await sql(broker, "ALTER TABLE audit_head_gone RENAME TO audit_head")
    assert (await read_secret(broker, "db", token)).json()["value"] == VALUE


async def test_concurrent_requests_keep_one_valid_chain(broker: Broker) -> None:
    import asyncio

    key = (await broker.create_key("svc"))["api_key"]
    results = await asyncio.gather(
        *(broker.mint(key) for _ in range(15)), *(broker.mint(wrong_secret(key, i)) for i in range(3))
    )
    assert sorted(r.status_code for r in results) == [200] * 15 + [401] * 3
    rows = await _chain_ok(broker)
    mints = await broker.audit(action="token.mint", limit=1000)
    assert len(mints) == 18 and rows == 1 + 18
    assert len({r["seq"] for r in mints}) == 18


async def test_mints_between_another_writers_rows_keep_one_valid_chain(broker: Broker) -> None:
    """A mint chains its row to the head this broker wrote last (PostgreSQL): when another writer
    appended meanwhile, the mint still lands after that row, and the chain stays valid."""
    key = (await broker.create_key("svc"))["api_key"]
    other = AuditLog(lambda v: v, key=ChainKey.of(broker.state.keys().keyring))
    for i in range(3):
        assert (await broker.mint(key)).status_code == 200
        async with broker.state.db.transaction() as s:
            await other.append(s, AuditEvent(actor="mcp:other", action="tool.call", result="allow", trace_id=str(i)))
    assert (await broker.mint(key)).status_code == 200
    assert await _chain_ok(broker) == 1 + 4 + 3
    assert [r["action"] for r in await broker.audit(limit=3)] == ["token.mint", "tool.call", "token.mint"]
    assert await _issued(broker) == 4


async def test_logs_never_contain_secrets(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, broker: Broker
) -> None:
    caplog.set_level(logging.DEBUG)
    await add_secret(broker, "db", VALUE, resource="host:server1")
    created = await broker.create_key("svc")
    key = created["api_key"]
    tokens = [await token_for(broker, key) for _ in range(3)]
    assert (await broker.mint(wrong_secret(key))).status_code == 401
    assert (await broker.mint("aegk_garbage-" + key[-20:])).status_code == 401
    for token in tokens:
        assert (await read_secret(broker, "db", token)).json()["value"] == VALUE
    assert (await broker.http.get("/v1/secrets/db", headers=bearer(key))).status_code == 401
    assert (await broker.http.get("/v1/secrets", headers={"X-Admin-Token": key})).status_code == 401
    await broker.http.post("/v1/introspect", json={"token": tokens[0]}, headers=broker.admin)
    # Provoke the error paths that log: a tampered value and an audit failure.
    vid, value = (await sql(broker, "SELECT id, value FROM secret_versions"))[0]
    await sql(broker, "UPDATE secret_versions SET value = :v WHERE id = :id", v=bytes(value)[:-1] + b"\x00", id=vid)
    assert (await read_secret(broker, "db", tokens[0])).status_code == 500
    await sql(broker, "ALTER TABLE audit_head RENAME TO audit_head_gone")
    assert (await broker.mint(key)).status_code == 503
    await sql(broker, "ALTER TABLE audit_head_gone RENAME TO audit_head")

    out, err = capsys.readouterr()
    logged = "\n".join([out, err, caplog.text, *(str(r.__dict__) for r in caplog.records)])
    assert "integrity check" in logged and "audit write failed" in logged  # the capture works
    for secret in [*secrets_of(broker), VALUE, key.split(".")[1]]:
        assert secret not in logged, "a secret reached the logs"
