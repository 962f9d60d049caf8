"""Migrations: from empty to head, in sync with the models, fully reversible, triggers included."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from storage import migrate
from storage.audit import GENESIS, AuditEvent, AuditLog, ChainReport, verify_chain
from storage.db import Database
from storage.models import AuditHeadRow, Base

pytestmark = pytest.mark.anyio

SQLITE_TRIGGERS = {"audit_log_no_update", "audit_log_no_delete"}
PG_TRIGGERS = {"audit_log_no_change", "audit_log_no_truncate"}


@pytest.fixture
async def empty_db(empty_db_url: str) -> AsyncIterator[Database]:
    database = Database(empty_db_url)
    try:
        yield database
    finally:
        await database.dispose()


def _scripts(db: Database) -> ScriptDirectory:
    return ScriptDirectory.from_config(migrate.alembic_config(str(db.url)))


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:

        def names(c: Connection) -> set[str]:
            return set(inspect(c).get_table_names())

        return await conn.run_sync(names)


async def _triggers(db: Database) -> set[str]:
    if db.is_sqlite:
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'"
    else:
        sql = (
            "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND c.relname = 'audit_log' "
            "AND c.relnamespace = current_schema()::regnamespace"
        )
    async with db.engine.connect() as conn:
        return {str(r[0]) for r in (await conn.execute(text(sql))).all()}


async def _leftovers(db: Database) -> set[str]:
    """Every schema object other than Alembic's own version table."""
    if db.is_sqlite:
        sql = "SELECT type || ':' || name FROM sqlite_master"
        allowed = {"table:alembic_version", "index:sqlite_autoindex_alembic_version_1"}
    else:
        sql = (
            "SELECT 'rel:' || relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
            "UNION ALL SELECT 'proc:' || proname FROM pg_proc "
            "WHERE pronamespace = current_schema()::regnamespace "
            "UNION ALL SELECT 'type:' || typname FROM pg_type "
            "WHERE typnamespace = current_schema()::regnamespace AND typtype IN ('e', 'd', 'c') "
            "AND typrelid = 0"
        )
        allowed = {"rel:alembic_version", "rel:alembic_version_pkc"}
    async with db.engine.connect() as conn:
        return {str(r[0]) for r in (await conn.execute(text(sql))).all()} - allowed


async def _assert_at_head(db: Database) -> None:
    script = _scripts(db)
    current = tuple((await migrate.current(db) or "").split(","))
    applied = {r.revision for r in script.revision_map.iterate_revisions(current, "base")}
    assert set(script.get_heads()) <= applied  # every head applied, integrations' branches included
    assert await migrate.diff(db) == []
    assert await _tables(db) == set(Base.metadata.tables) | {"alembic_version"}
    assert await _triggers(db) == (SQLITE_TRIGGERS if db.is_sqlite else PG_TRIGGERS)


async def _assert_at_base(db: Database) -> None:
    assert await migrate.current(db) is None
    assert await _tables(db) == {"alembic_version"}
    assert await _triggers(db) == set()
    assert await _leftovers(db) == set()


async def test_upgrade_from_empty_matches_the_models(empty_db: Database) -> None:
    assert await _tables(empty_db) == set()
    await migrate.upgrade(empty_db)
    await _assert_at_head(empty_db)
    async with empty_db.transaction() as s:
        head = await s.get(AuditHeadRow, 1)
        assert head is not None
        assert (head.seq, head.hash) == (0, GENESIS)
        assert await verify_chain(s) == ChainReport(True, 0)


async def test_downgrade_to_base_and_upgrade_again(empty_db: Database) -> None:
    await migrate.upgrade(empty_db)
    await migrate.downgrade(empty_db, "base")
    await _assert_at_base(empty_db)

    await migrate.upgrade(empty_db)
    await _assert_at_head(empty_db)
    log = AuditLog(lambda v: v.upper())
    async with empty_db.transaction() as s:
        await log.append(s, AuditEvent(actor="owner", action="db.upgrade", result="ok"))
    async with empty_db.transaction() as s:
        assert await verify_chain(s) == ChainReport(True, 1)
    with pytest.raises(DBAPIError, match="append-only"):  # the recreated triggers are live
        async with empty_db.transaction() as s:
            await s.execute(text("DELETE FROM audit_log"))


async def test_every_revision_steps_down_and_up(empty_db: Database) -> None:
    revisions = list(reversed(list(_scripts(empty_db).walk_revisions("base", "heads"))))
    assert revisions, "no migrations found"
    assert revisions[0].revision == "0001"
    core = [r for r in revisions if "mcp_servers" not in str(r.path)]
    branches = [r for r in revisions if "mcp_servers" in str(r.path)]  # integrations' own branches
    for rev in core:
        below = rev.down_revision
        assert below is None or isinstance(below, str), "branched history"
        await migrate.upgrade(empty_db, rev.revision)
        assert await migrate.current(empty_db) == rev.revision
        await migrate.downgrade(empty_db, below or "base")
        assert await migrate.current(empty_db) == below
        if below is None:
            await _assert_at_base(empty_db)
        await migrate.upgrade(empty_db, rev.revision)
        assert "audit_log" in await _tables(empty_db)
    for rev in branches:
        below = rev.down_revision
        assert below is None or isinstance(below, str), "branched history inside a branch"
        await migrate.upgrade(empty_db, rev.revision)
        assert rev.revision in (await migrate.current(empty_db) or "").split(",")
        target = below or f"{next(iter(rev.branch_labels))}@base"
        await migrate.downgrade(empty_db, target)
        assert rev.revision not in (await migrate.current(empty_db) or "").split(",")
        await migrate.upgrade(empty_db, rev.revision)
    await migrate.upgrade(empty_db)
    await _assert_at_head(empty_db)
