"""Test harness: no internet, a fresh migrated database per test (SQLite, or PostgreSQL when
``AEGIS_TEST_DATABASE_URL`` names one)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pytest_socket import socket_allow_hosts

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
        yield from _pg_schema(migrated=True)
    else:
        template = request.getfixturevalue("_sqlite_template")
        path = tmp_path / "aegis.db"
        shutil.copy(template, path)
        yield f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def empty_db_url(tmp_path: Path) -> Iterator[str]:
    """A URL for a database with no schema at all."""
    if PG_URL:
        yield from _pg_schema(migrated=False)
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"


def _pg_schema(*, migrated: bool) -> Iterator[str]:
    """PostgreSQL: each test gets its own schema inside the run's database, selected by search_path."""
    import asyncio

    assert PG_URL is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"

    async def run(sql: str) -> None:
        admin = Database(PG_URL)  # one engine per event loop: asyncpg connections belong to their loop
        try:
            async with admin.engine.begin() as conn:
                await conn.exec_driver_sql(sql)
        finally:
            await admin.dispose()

    asyncio.run(run(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}search_path={schema}"
    if migrated:
        migrate.upgrade_sync(url)
    try:
        yield url
    finally:
        asyncio.run(run(f'DROP SCHEMA "{schema}" CASCADE'))


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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, run only the tests that open a database: the rest ran on SQLite already and
    do not depend on the database engine (CI runs both)."""
    if not PG_URL:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        (keep if names & {"db_url", "empty_db_url"} or item.get_closest_marker("postgres") else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
