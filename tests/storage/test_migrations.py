"""Migrations: from empty to head, in sync with the models, fully reversible, triggers included."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest
from alembic.script import Script, ScriptDirectory
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


def _heads(db: Database) -> str:
    """What ``alembic_version`` holds at heads: every head that no other head depends on (an
    integration's branch ``depends_on`` the core revision it needs, which it then stands for)."""
    scripts = _scripts(db)

    def below(rev: str) -> set[str]:
        script = scripts.get_revision(rev)
        assert script is not None
        direct = {*_names(script.down_revision), *_names(script.dependencies)}
        return direct.union(*(below(r) for r in direct))

    heads = set(scripts.get_heads())
    implied = set().union(*(below(h) for h in heads))
    return ",".join(sorted(heads - implied))


def _names(value: str | Sequence[str] | None) -> set[str]:
    if value is None:
        return set()
    return {value} if isinstance(value, str) else set(value)


def _core_chain(scripts: ScriptDirectory) -> list[str]:
    """The core revisions, oldest first (integration branches hang off it through ``depends_on``)."""
    chain: list[str] = []
    rev: Script | None = scripts.get_revision("0001")
    while rev is not None:
        chain.append(rev.revision)
        children = sorted(rev.nextrev)
        assert len(children) <= 1, "branched core history"
        rev = scripts.get_revision(children[0]) if children else None
    return chain


async def _assert_at_head(db: Database) -> None:
    assert await migrate.current(db) == _heads(db)
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
    scripts = _scripts(empty_db)
    core = _core_chain(scripts)
    revisions = [scripts.get_revision(r) for r in core]
    assert revisions, "no migrations found"
    for rev in revisions:
        assert rev is not None
        below = rev.down_revision
        assert below is None or isinstance(below, str), "branched core history"
        await migrate.upgrade(empty_db, rev.revision)
        assert await migrate.current(empty_db) == rev.revision
        await migrate.downgrade(empty_db, below or "base")
        assert await migrate.current(empty_db) == below
        if below is None:
            await _assert_at_base(empty_db)
        await migrate.upgrade(empty_db, rev.revision)
        assert "audit_log" in await _tables(empty_db)
    await migrate.upgrade(empty_db)
    await _assert_at_head(empty_db)
    for root in scripts.get_bases():  # each integration branch steps down and up on its own
        branch = scripts.get_revision(root)
        if root == core[0] or branch is None:
            continue
        label = sorted(branch.branch_labels)[0]
        await migrate.downgrade(empty_db, f"{label}@base")
        assert root not in (await migrate.current(empty_db) or "").split(",")
        await migrate.upgrade(empty_db)
    await _assert_at_head(empty_db)
