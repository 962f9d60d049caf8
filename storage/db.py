"""Async engine and transactions for SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any, TypeVar

from sqlalchemy import Dialect, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.util import greenlet_spawn

T = TypeVar("T")


class Database:
    """Owns the engine and hands out transactions. Repositories never commit; callers own the unit of work."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 5) -> None:
        self.url = make_url(url)
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
            kwargs["pool_reset_on_return"] = None
            engine_url = self.url
        else:
            # ``?search_path=...`` selects a PostgreSQL schema (used to isolate tests in one database).
            search_path = self.url.query.get("search_path")
            engine_url = self.url.difference_update_query(["search_path"])
            if isinstance(search_path, str):
                kwargs["connect_args"] = {"server_settings": {"search_path": search_path}}
            kwargs["pool_size"] = pool_size
        self.engine: AsyncEngine = create_async_engine(engine_url, **kwargs)
        # SQLite has one writer at a time. Writers of this process queue on an asyncio lock (first
        # come, first served, woken at once) instead of in SQLite's busy handler, which sleeps in
        # steps of up to 100 ms; the busy timeout still covers writers in other processes.
        self._write_lock: asyncio.Lock | None = None
        self._sync_engine: Engine | None = None
        if self.is_sqlite:
            _sqlite_immediate_transactions(self.engine.sync_engine)
            self._write_lock = asyncio.Lock()
            self._sync_engine = create_engine(
                self.url.set(drivername="sqlite+pysqlite"),
                connect_args={"timeout": 30, "check_same_thread": False},
                pool_reset_on_return=None,
            )
            _sqlite_immediate_transactions(self._sync_engine)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._readers = async_sessionmaker(self.engine.execution_options(**{_READ_ONLY: True}), expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One transaction: commit on success, roll back on any error."""
        async with self._writer(), self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A transaction that only reads. On SQLite it starts deferred, so readers run beside the
        writer (WAL) instead of queueing for the write lock; writing in it is a bug (SQLite refuses
        with "database is locked" under contention). Objects read stay loaded after it ends."""
        async with self._readers() as session, session.begin():
            yield session

    async def write_sync(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one write transaction with a plain (sync) session and commit.

        SQLite: the whole transaction runs in a worker thread on the stdlib driver, one hop
        instead of one per statement; PostgreSQL: in an async transaction through ``run_sync``.
        For short, hot write paths (the audit log's group commit)."""
        if self._sync_engine is None:
            async with self.transaction() as session:
                return await session.run_sync(work)
        engine = self._sync_engine
        async with self._writer():
            return await asyncio.to_thread(_in_transaction, engine, work)

    async def write_sqlite(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """SQLite only: ``work`` on a pooled stdlib connection in one ``BEGIN IMMEDIATE``
        transaction, in a worker thread, without SQLAlchemy around each statement. For the hottest
        write (a group commit of plain audit rows)."""
        if self._sync_engine is None:
            raise RuntimeError("write_sqlite needs a SQLite database")
        engine = self._sync_engine
        async with self._writer():
            return await asyncio.to_thread(_in_raw_transaction, engine, work)

    @asynccontextmanager
    async def driver_connection(self) -> AsyncIterator[Any]:
        """A pooled connection's own driver connection (asyncpg's on PostgreSQL), outside any
        transaction, for hot paths that send their own statements; back to the pool afterwards.
        Cheaper than a SQLAlchemy connection around it."""
        pooled = await self.engine.raw_connection()
        driver = pooled.driver_connection
        try:
            yield driver
        finally:
            closed = getattr(driver, "is_closed", None)
            await greenlet_spawn(pooled.invalidate if closed is not None and closed() else pooled.close)

    @property
    def dialect(self) -> Dialect:
        return self.engine.dialect

    def _writer(self) -> AbstractAsyncContextManager[object]:
        return self._write_lock if self._write_lock is not None else nullcontext()

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._sync_engine is not None:
            self._sync_engine.dispose()


def _in_raw_transaction(engine: Engine, work: Callable[[sqlite3.Connection], T]) -> T:
    pooled = engine.raw_connection()
    try:
        conn = pooled.driver_connection
        assert isinstance(conn, sqlite3.Connection)
        conn.execute("BEGIN IMMEDIATE")
        try:
            out = work(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return out
    finally:
        pooled.close()


def _in_transaction(engine: Engine, work: Callable[[Session], T]) -> T:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        return work(session)


def _sqlite_immediate_transactions(engine: Engine) -> None:
    """SQLite: take the write lock at BEGIN so concurrent writers queue instead of failing.

    The driver's own transaction handling is switched off and every transaction starts with
    ``BEGIN IMMEDIATE``, which also makes savepoints and transactional DDL behave.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(_READ_ONLY) else "BEGIN IMMEDIATE")


_READ_ONLY = "aegis_read_only"
