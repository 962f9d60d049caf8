"""0005_jobs: the job tables match the models, and the migration reverses cleanly."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from storage import migrate
from storage.db import Database
from storage.models import encrypted_columns
from storage.models.jobs import JobRunRow

pytestmark = pytest.mark.anyio
TABLES = {"job_runs", "job_state", "briefings"}


def _touches_ours(item: Any) -> bool:
    text = repr(item)
    return any(f"'{t}'" in text or f"{t}." in text or f"ix_{t}" in text for t in TABLES)


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:

        def names(c: Connection) -> set[str]:
            return set(inspect(c).get_table_names())

        return await conn.run_sync(names)


async def test_the_job_tables_match_the_models(db: Database) -> None:
    assert await _tables(db) >= TABLES
    assert [d for d in await migrate.diff(db) if _touches_ours(d)] == []
    assert ("briefings", "content", "conversation") in {(c.table, c.column, c.domain) for c in encrypted_columns()}


async def test_0005_downgrades_and_upgrades(db: Database) -> None:
    await migrate.downgrade(db, "0004")
    assert not TABLES & await _tables(db)
    await migrate.upgrade(db)
    assert await _tables(db) >= TABLES


async def test_a_slot_can_only_be_recorded_once(db: Database) -> None:
    slot = datetime(2026, 3, 2, 12, 30, tzinfo=UTC)

    def row(rid: str) -> JobRunRow:
        return JobRunRow(id=rid, job_id="sync_emails", scheduled_for=slot, trigger="schedule", outcome="ok", attempts=1)

    async with db.transaction() as s:
        s.add(row("a"))
    with pytest.raises(IntegrityError):
        async with db.transaction() as s:
            s.add(row("b"))
