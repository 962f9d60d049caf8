"""PostgreSQL: the application's role cannot switch the audit log's protections off."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from storage.audit import AuditLog, ChainKey, verify_chain
from storage.audit_writer import AuditWriter
from storage.db import Database
from storage.migrate import upgrade_owned
from storage.roles import RoleError, app_role, grant_app_role
from tests.storage.test_audit import _event, hasher

pytestmark = pytest.mark.anyio

KEY = ChainKey(os.urandom(32))


def test_the_app_role_is_the_app_urls_user_when_it_differs() -> None:
    owner = "postgresql+asyncpg://aegis_owner@db/aegis"
    assert app_role("postgresql+asyncpg://aegis_app@db/aegis", owner) == "aegis_app"
    assert app_role(owner, owner) is None
    assert app_role("sqlite+aiosqlite:///x.db", owner) is None


@pytest.fixture
async def app_db(db_url: str, is_postgres: bool) -> AsyncIterator[tuple[Database, Database]]:
    """(owner, app): the test's schema as its owner, and as a fresh login role granted row access."""
    if not is_postgres:
        pytest.skip("roles are PostgreSQL's (SQLite: see the README)")
    role = f"aegis_app_{uuid.uuid4().hex[:10]}"
    owner = Database(db_url)
    async with owner.engine.begin() as conn:
        await conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
    app = Database(make_url(db_url).set(username=role).render_as_string(hide_password=False))
    try:
        await upgrade_owned(app.url.render_as_string(hide_password=False), db_url)  # grants, as the owner
        yield owner, app
    finally:
        await app.dispose()
        async with owner.engine.begin() as conn:
            await conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
            await conn.exec_driver_sql(f'DROP ROLE "{role}"')
        await owner.dispose()


ATTEMPTS = [
    "ALTER TABLE audit_log DISABLE TRIGGER USER",
    "DROP TRIGGER audit_log_no_change ON audit_log",
    "DROP TRIGGER audit_log_no_truncate ON audit_log",
    "DROP FUNCTION aegis_audit_append_only() CASCADE",
    "ALTER TABLE audit_log RENAME TO old_log",
    "DROP TABLE audit_log",
    "TRUNCATE audit_log",
    "DELETE FROM audit_log",
    "UPDATE audit_log SET actor = 'mallory'",
    "DELETE FROM audit_head",
    "INSERT INTO audit_head (id, seq, hash) VALUES (2, 0, 'x')",
    "DROP TABLE audit_head",
    "UPDATE alembic_version SET version_num = '0001'",
    "CREATE TABLE audit_log_copy (seq bigint)",
]


@pytest.mark.parametrize("statement", ATTEMPTS)
async def test_the_app_role_cannot_alter_drop_truncate_or_delete(
    app_db: tuple[Database, Database], statement: str
) -> None:
    owner, app = app_db
    await AuditWriter(app, AuditLog(hasher, key=KEY)).write(_event(1))  # it can append
    with pytest.raises(DBAPIError) as caught:
        async with app.engine.begin() as conn:
            await conn.execute(text(statement))
    assert "permission denied" in str(caught.value) or "must be owner" in str(caught.value)
    async with owner.transaction() as s:
        report = await verify_chain(s, key=KEY)
        triggers = await s.scalar(
            text("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass AND tgenabled = 'O'")
        )
    assert (report.ok, report.rows, triggers) == (True, 1, 2)


async def test_the_app_role_does_its_ordinary_work(app_db: tuple[Database, Database]) -> None:
    _owner, app = app_db
    log = AuditLog(hasher, key=KEY)
    await AuditWriter(app, log).write(_event(1))
    async with app.transaction() as s:
        await log.append(s, _event(2))
        await s.execute(text("DELETE FROM issued_tokens WHERE jti = 'none'"))  # plain tables: full row access
        keys = await s.scalar(text("SELECT count(*) FROM data_keys"))
        report = await verify_chain(s, key=KEY)
    assert (report.ok, report.rows, keys) == (True, 2, 0)


async def test_an_app_role_that_owns_tables_is_refused(db_url: str, is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("roles are PostgreSQL's")
    db = Database(db_url)
    try:
        async with db.engine.connect() as conn:
            user = str((await conn.exec_driver_sql("SELECT current_user")).scalar_one())
        with pytest.raises(RoleError, match="owns tables"):
            await grant_app_role(db, user)
        with pytest.raises(RoleError, match="plain"):
            await grant_app_role(db, 'x"; DROP TABLE audit_log; --')
    finally:
        await db.dispose()
