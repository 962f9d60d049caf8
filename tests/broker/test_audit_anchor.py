"""The broker signs checkpoints of the audit chain's head on a schedule and when it stops."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from storage.audit import ChainKey, verify_chain
from storage.audit_checkpoint import CheckpointFile
from storage.db import Database
from tests.broker.conftest import FakeClock, start_broker

pytestmark = pytest.mark.anyio


async def _head(db_url: str, key: ChainKey) -> int:
    db = Database(db_url)
    try:
        async with db.transaction() as s:
            report = await verify_chain(s, key=key)
    finally:
        await db.dispose()
    assert report.ok, report
    return report.rows


async def test_a_checkpoint_is_written_at_shutdown_and_matches_the_chain(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "audit-checkpoints.jsonl"
    server, task, state, url = await start_broker(
        db_url, tmp_path, FakeClock(), checkpoint_path=path, checkpoint_seconds=3600
    )
    key = ChainKey.of(state.keys().keyring)
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        r = await http.post(
            "/v1/keys",
            json={"principal": "svc", "scopes": ["x.read"]},
            headers={"X-Admin-Token": state.config.admin_token},
        )
        assert r.status_code == 201, r.text
    assert not path.exists()  # the interval has not come round
    server.should_exit = True
    await task
    cp = CheckpointFile(path, key).latest()
    db = Database(db_url)
    try:
        async with db.transaction() as s:
            report = await verify_chain(s, key=key, checkpoint=cp)
    finally:
        await db.dispose()
    assert cp is not None and cp.seq >= 1
    assert (report.ok, report.rows, report.checkpoint_seq) == (True, cp.seq, cp.seq)
    assert report.keyed_rows == report.rows  # the broker writes keyed rows


async def test_checkpoints_follow_the_head_on_a_schedule(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "audit-checkpoints.jsonl"
    server, task, state, url = await start_broker(
        db_url, tmp_path, FakeClock(), checkpoint_path=path, checkpoint_seconds=0.05
    )
    key = ChainKey.of(state.keys().keyring)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            for name in ("a", "b"):
                r = await http.post(
                    "/v1/keys",
                    json={"principal": name, "scopes": ["x.read"]},
                    headers={"X-Admin-Token": state.config.admin_token},
                )
                assert r.status_code == 201, r.text
        head = await _head(db_url, key)
        async with asyncio.timeout(20):
            while (cp := CheckpointFile(path, key).latest()) is None or cp.seq < head:  # noqa: ASYNC110 - a file
                await asyncio.sleep(0.05)
        assert cp.seq == head
    finally:
        server.should_exit = True
        await task
