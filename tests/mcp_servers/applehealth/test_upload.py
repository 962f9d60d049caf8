"""The backfill uploaded from the console in pieces: the real server over an in-process MCP client
parses each piece as it arrives, in order, storing nothing twice."""

from __future__ import annotations

import base64
import datetime as dt
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from sqlalchemy import func, select

from mcp_servers._common import CallGate, audit_log
from mcp_servers.applehealth.models import HealthSampleRow
from mcp_servers.applehealth.server import HealthDeps, build_server
from mcp_servers.applehealth.store import HealthStore
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from tests.mcp_servers.applehealth.test_backfill import HEAD, _export
from tests.mcp_servers.conftest import Clock, Tokens, call, error_text

pytestmark = pytest.mark.anyio
INGEST = "health.ingest"
UPLOAD = "0123456789abcdef0123456789abcdef"


@pytest.fixture
async def server(
    db: Database, make_gate: Callable[[str], CallGate], signing_key: Any, clock: Clock
) -> AsyncIterator[tuple[Client, Tokens, Database]]:
    keys = [DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in ("health", "chain") for p in ("enc", "idx")]
    ring = Keyring(keys)
    store = HealthStore(db, FieldCipher(ring), audit_log(ring, "health"))
    built = build_server(HealthDeps(store=store, gate=make_gate("applehealth"), today=lambda: dt.date(2026, 12, 2)))
    async with Client(built) as client:
        yield client, Tokens(signing_key, clock, "applehealth"), db


async def _rows(db: Database) -> int:
    async with db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(HealthSampleRow)) or 0)


async def _send(client: Client, tokens: Tokens, raw: bytes, piece: int, upload: str = UPLOAD) -> list[Any]:
    out = []
    for offset in range(0, len(raw), piece):
        chunk = raw[offset : offset + piece]
        args = {
            "upload": upload,
            "offset": offset,
            "data": base64.b64encode(chunk).decode(),
            "last": offset + piece >= len(raw),
        }
        out.append(await call(client, tokens, "backfill_chunk", args, INGEST))
    return out


async def test_pieces_in_order_store_every_sample_once(server: tuple[Client, Tokens, Database], tmp_path: Path) -> None:
    client, tokens, db = server
    raw = _export(tmp_path / "export.xml", 20).read_bytes()
    answers = await _send(client, tokens, raw, 7_000)  # pieces cut mid-element
    assert answers[-1] == {"received_bytes": len(raw), "samples": 20 * 26, "stored": 20 * 26, "done": True}
    assert [a["received_bytes"] for a in answers] == sorted(a["received_bytes"] for a in answers)
    assert await _rows(db) == 20 * 26
    again = await _send(client, tokens, raw, 50_000, upload="f" * 32)
    assert again[-1]["stored"] == 0 and await _rows(db) == 20 * 26  # a second upload stores nothing twice


async def test_a_piece_out_of_order_or_not_xml_is_refused(server: tuple[Client, Tokens, Database]) -> None:
    client, tokens, db = server
    first = {"upload": UPLOAD, "offset": 0, "data": base64.b64encode(HEAD.encode()).decode(), "last": False}
    await call(client, tokens, "backfill_chunk", first, INGEST)
    skipped = {**first, "offset": 5}
    result = await client.call_tool("backfill_chunk", skipped, meta=tokens.meta(INGEST))
    assert f"expected offset {len(HEAD.encode())}" in error_text(result)
    unknown = {**first, "upload": "a" * 32, "offset": 10}
    assert "start again from offset 0" in error_text(
        await client.call_tool("backfill_chunk", unknown, meta=tokens.meta(INGEST))
    )
    broken = {"upload": "b" * 32, "offset": 0, "data": base64.b64encode(b"<HealthData><Record").decode(), "last": True}
    assert "ends too early" in error_text(await client.call_tool("backfill_chunk", broken, meta=tokens.meta(INGEST)))
    not_b64 = {**first, "upload": "c" * 32, "data": "%%%"}
    assert "not base64" in error_text(await client.call_tool("backfill_chunk", not_b64, meta=tokens.meta(INGEST)))
    read_only = await client.call_tool("backfill_chunk", {**first, "upload": "d" * 32}, meta=tokens.meta("health.read"))
    assert read_only.is_error and await _rows(db) == 0
