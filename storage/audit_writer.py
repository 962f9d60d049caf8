"""Group commit for audit rows that stand in their own transaction.

Callers that are not inside a transaction of their own (the console's access check, the agent's
tool gateway) hand their event to :class:`AuditWriter` and wait until it is committed. While one
batch commits, the events that arrive queue up, and the next batch appends them all in one
transaction: under load, many requests share one commit (and one wait for the chain head) instead
of queueing for one each. Each caller still returns only after its own row is durable, and a
failed batch fails every caller in it (fail-closed). Idle, a single event commits at once.

An event may also be given as a function that the batch calls (with a plain, sync session) to
build the event, so a check and the record of its outcome go in the same batch (the console checks
that the session is live this way, without a transaction of its own). On SQLite the check runs in
the batch's own transaction (one worker-thread hop); on PostgreSQL the checks commit in one short
transaction just before the batch's single append statement.

Never call :meth:`AuditWriter.write` from inside an open transaction on the same database: the
batch needs the write lock (SQLite) or the chain head (PostgreSQL) that the caller would hold.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from functools import partial

import asyncpg
from sqlalchemy.orm import Session

from storage.audit import AuditError, AuditEvent, AuditLog
from storage.audit_pg import PgAppender
from storage.db import Database
from storage.models import AuditRow

Prepare = Callable[[Session], AuditEvent]
Waiter = tuple[AuditEvent | Prepare, "asyncio.Future[AuditRow]"]


class AuditWriter:
    def __init__(self, db: Database, log: AuditLog, *, max_batch: int = 256) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._db = db
        self._log = log
        self._pg = PgAppender(log)
        self._max = max_batch
        self._queue: list[Waiter] = []
        self._drainer: asyncio.Task[None] | None = None
        self.batches = 0  # committed transactions, for tests and benchmarks

    async def write(self, event: AuditEvent | Prepare) -> AuditRow:
        """Append ``event`` (or the event ``event(session)`` builds in the batch's transaction) and
        return its row once it is committed. Raises AuditError if it was not."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[AuditRow] = loop.create_future()
        self._queue.append((event, done))
        if self._drainer is None or self._drainer.done():
            self._drainer = loop.create_task(self._drain())
        return await done

    async def _drain(self) -> None:
        while self._queue:
            batch = self._queue[: self._max]
            del self._queue[: len(batch)]
            try:
                plain = [e for e, _ in batch if isinstance(e, AuditEvent)]
                if self._db.is_sqlite and len(plain) == len(batch):  # one thread hop, bare driver
                    work = partial(self._log.append_sqlite, events=plain, dialect=self._db.dialect)
                    rows = await self._db.write_sqlite(work)
                elif self._db.is_sqlite:  # checks that need a session: one thread hop
                    rows = await self._db.write_sync(partial(self._append, batch=batch))
                else:  # PostgreSQL: the checks in one short transaction, then one statement
                    events = plain
                    if len(plain) != len(batch):
                        async with self._db.transaction() as session:
                            events = [e if isinstance(e, AuditEvent) else await session.run_sync(e) for e, _ in batch]
                    rows = await self._append_pg(events)
            except Exception as exc:  # noqa: BLE001 - every failure is handed to the waiting callers
                message = str(exc) if isinstance(exc, AuditError) else f"audit write failed: {type(exc).__name__}"
                for _, done in batch:
                    if not done.done():
                        done.set_exception(AuditError(message))
                continue
            self.batches += 1
            for (_, done), row in zip(batch, rows, strict=True):
                if not done.done():
                    done.set_result(row)

    async def _append_pg(self, events: list[AuditEvent]) -> list[AuditRow]:
        async with self._db.driver_connection() as raw:
            if not isinstance(raw, asyncpg.Connection):
                raise AuditError("audit write failed: not an asyncpg connection")
            return await self._pg.append(raw, events)

    def _append(self, session: Session, batch: Sequence[Waiter]) -> list[AuditRow]:
        events = [e if isinstance(e, AuditEvent) else e(session) for e, _ in batch]
        return self._log.append_rows(session, events)
