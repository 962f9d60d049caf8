"""Test harness: no internet, a fresh migrated database per test (SQLite, or PostgreSQL when
``AEGIS_TEST_DATABASE_URL`` names one: each test then gets a database of its own on that server)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pytest_socket import socket_allow_hosts
from sqlalchemy.engine import make_url

from storage import migrate
from storage.db import Database

PG_URL = os.environ.get("AEGIS_TEST_DATABASE_URL")


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Only loopback: any connect() elsewhere raises.
    socket_allow_hosts(["127.0.0.1", "::1"], allow_unix_socket=True)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "aegis.db"
    migrate.upgrade_sync(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL for an empty, migrated database that belongs to this test alone."""
    if PG_URL:
        yield from _pg_database(template=request.getfixturevalue("_pg_template"))
    else:
        template = request.getfixturevalue("_sqlite_template")
        path = tmp_path / "aegis.db"
        shutil.copy(template, path)
        yield f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def empty_db_url(tmp_path: Path) -> Iterator[str]:
    """A URL for a database with no schema at all."""
    if PG_URL:
        yield from _pg_database(template=None)
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"


# PostgreSQL: each test gets its own database, copied from a migrated template (one per xdist
# worker, migrated once), named after the run's database so that CI's cleanup finds them all.


def _pg_admin(sql: str) -> None:
    import asyncio

    import asyncpg

    assert PG_URL is not None
    dsn = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)

    async def run() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)  # CREATE/DROP DATABASE: outside any transaction
        finally:
            await conn.close()

    asyncio.run(run())


def _pg_named(name: str) -> str:
    assert PG_URL is not None
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def _pg_prefix() -> str:
    assert PG_URL is not None
    return str(make_url(PG_URL).database)[:30]


@pytest.fixture(scope="session")
def _pg_template() -> Iterator[str]:
    name = f"{_pg_prefix()}_tpl_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_admin(f'CREATE DATABASE "{name}"')
    migrate.upgrade_sync(_pg_named(name))
    try:
        yield name
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_database(*, template: str | None) -> Iterator[str]:
    name = f"{_pg_prefix()}_t_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield _pg_named(name)
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def is_postgres() -> bool:
    return bool(PG_URL)


def pytest_sessionstart(session: pytest.Session) -> None:
    """A fresh clone: the console's pinned browser assets, as `aegis up` installs them (needs npm)."""
    if not hasattr(session.config, "workerinput"):  # once, in the controller
        from aegis.node_assets import ensure_node_assets

        ensure_node_assets()


# Where the engine matters: the storage layer (migrations, encryption, audit, roles), the broker,
# the agent's stores and jobs, the composition root, and every integration's store through the
# conformance suite. The console's pages, the vendor clients and each server's own tests reach the
# database only through those.
_ON_POSTGRES = (
    "tests/storage/",
    "tests/broker/",
    "tests/agent/",
    "tests/aegis/",
    "tests/integrations/",
    "tests/deploy/",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, run the tests that open a database where the engine matters (:data:`_ON_POSTGRES`):
    the rest ran on SQLite already (CI runs both)."""
    if not PG_URL:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    root = config.rootpath
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        where = item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else ""
        engine = bool(names & {"db_url", "empty_db_url"}) and where.startswith(_ON_POSTGRES)
        (keep if engine or item.get_closest_marker("postgres") else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
