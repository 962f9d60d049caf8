"""Async engine and transactions for SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


class Database:
    """Owns the engine and hands out transactions. Repositories never commit; callers own the unit of work."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 5) -> None:
        self.url = make_url(url)
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
            engine_url = self.url
        else:
            # ``?search_path=...`` selects a PostgreSQL schema (used to isolate tests in one database).
            search_path = self.url.query.get("search_path")
            engine_url = self.url.difference_update_query(["search_path"])
            if isinstance(search_path, str):
                kwargs["connect_args"] = {"server_settings": {"search_path": search_path}}
            kwargs["pool_size"] = pool_size
        self.engine: AsyncEngine = create_async_engine(engine_url, **kwargs)
        if self.is_sqlite:
            _sqlite_immediate_transactions(self.engine)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One transaction: commit on success, roll back on any error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_immediate_transactions(engine: AsyncEngine) -> None:
    """SQLite: take the write lock at BEGIN so concurrent writers queue instead of failing.

    The driver's own transaction handling is switched off and every transaction starts with
    ``BEGIN IMMEDIATE``, which also makes savepoints and transactional DDL behave.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
