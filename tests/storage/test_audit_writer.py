"""Group commit of audit rows (AuditWriter), multi-row appends, and read-only transactions."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from storage.audit import AuditError, AuditEvent, AuditLog, verify_chain
from storage.audit_writer import AuditWriter
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from storage.models import AuditRow, ConsoleSessionRow

pytestmark = pytest.mark.anyio

KEYRING = Keyring([DataKey("audit.idx.v1", os.urandom(32), ACTIVE)])


def _log() -> AuditLog:
    return AuditLog(lambda v: KEYRING.blind_index("audit", v))


def _event(i: int) -> AuditEvent:
    return AuditEvent(f"user-{i}", "access.read", "ok", resource=f"/api/{i}", details={"n": i})


async def _rows(db: Database) -> list[AuditRow]:
    async with db.read() as s:
        return list((await s.scalars(select(AuditRow).order_by(AuditRow.seq))).all())


async def test_append_many_chains_rows_in_order_with_one_head_move(db: Database) -> None:
    log = _log()
    async with db.transaction() as s:
        first = await log.append(s, _event(0))
        rows = await log.append_many(s, [_event(i) for i in range(1, 6)])
        assert await log.append_many(s, []) == []
    assert [r.seq for r in rows] == [2, 3, 4, 5, 6]
    assert rows[0].prev_hash == first.row_hash
    assert all(b.prev_hash == a.row_hash for a, b in itertools.pairwise(rows))
    async with db.read() as s:
        report = await verify_chain(s)
    assert report.ok and report.rows == 6


async def test_concurrent_writes_share_commits_and_form_one_valid_chain(db: Database) -> None:
    writer = AuditWriter(db, _log())
    out = await asyncio.gather(*(writer.write(_event(i)) for i in range(40)))
    # Every caller gets its own committed row; 40 callers needed far fewer than 40 transactions.
    assert sorted(r.seq for r in out) == list(range(1, 41))
    assert sorted(r.actor for r in out) == sorted(f"user-{i}" for i in range(40))
    assert 1 <= writer.batches < 40
    stored = await _rows(db)
    assert [r.seq for r in stored] == list(range(1, 41))
    async with db.read() as s:
        assert (await verify_chain(s)).ok


async def test_max_batch_caps_rows_per_transaction(db: Database) -> None:
    writer = AuditWriter(db, _log(), max_batch=3)
    await asyncio.gather(*(writer.write(_event(i)) for i in range(10)))
    assert writer.batches >= 4  # ceil(10 / 3)
    with pytest.raises(ValueError, match="max_batch"):
        AuditWriter(db, _log(), max_batch=0)


async def test_a_lone_write_commits_at_once_and_is_visible_on_return(db: Database) -> None:
    writer = AuditWriter(db, _log())
    row = await writer.write(_event(7))
    assert writer.batches == 1
    assert [r.row_hash for r in await _rows(db)] == [row.row_hash]


@pytest.mark.parametrize("failure", ["database", "one_bad_event"])
async def test_a_failed_batch_fails_every_caller_and_commits_nothing(db: Database, failure: str) -> None:
    writer = AuditWriter(db, _log())
    await writer.write(_event(0))
    events = [_event(i) for i in range(1, 6)]
    if failure == "one_bad_event":
        events[2] = AuditEvent("x", "y", "ok", details={"not json": object()})
        results = await asyncio.gather(*(writer.write(e) for e in events), return_exceptions=True)
    else:
        async with _broken_head(db):  # the database refuses to move the chain head
            results = await asyncio.gather(*(writer.write(e) for e in events), return_exceptions=True)
    assert all(isinstance(r, AuditError) for r in results), results
    assert all("audit write failed" in str(r) and "disk full" not in str(r) for r in results)
    assert [r.seq for r in await _rows(db)] == [1]
    # The writer recovers: the next write lands and the chain is intact.
    assert (await writer.write(_event(9))).seq == 2
    async with db.read() as s:
        assert (await verify_chain(s)).ok


async def test_writers_of_two_processes_interleave_into_one_chain(db: Database) -> None:
    # Two writers with their own idea of the head (two processes): each notices the other's rows.
    first, second = AuditWriter(db, _log()), AuditWriter(db, _log())
    for round_ in range(5):
        await asyncio.gather(
            *(first.write(_event(100 * round_ + i)) for i in range(3)),
            *(second.write(_event(100 * round_ + 50 + i)) for i in range(3)),
        )
    stored = await _rows(db)
    assert [r.seq for r in stored] == list(range(1, 31))
    async with db.read() as s:
        assert (await verify_chain(s)).ok


@contextlib.asynccontextmanager
async def _broken_head(db: Database) -> AsyncIterator[None]:
    """A trigger refuses to move the chain head, whatever driver path the write takes."""
    if db.is_sqlite:
        create = ["CREATE TRIGGER t_fail BEFORE UPDATE ON audit_head BEGIN SELECT RAISE(ABORT, 'disk full'); END"]
        drop = ["DROP TRIGGER t_fail"]
    else:
        create = [
            "CREATE FUNCTION t_fail() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER t_fail BEFORE UPDATE ON audit_head FOR EACH ROW EXECUTE FUNCTION t_fail()",
        ]
        drop = ["DROP TRIGGER t_fail ON audit_head", "DROP FUNCTION t_fail()"]
    async with db.transaction() as s:
        for sql in create:
            await s.execute(text(sql))
    try:
        yield
    finally:
        async with db.transaction() as s:
            for sql in drop:
                await s.execute(text(sql))


async def test_a_prepared_event_is_built_inside_the_batch_transaction(db: Database) -> None:
    writer = AuditWriter(db, _log())
    seen: list[int] = []

    def prepare(session: Session) -> AuditEvent:
        # Runs in the writer's transaction: it can read, and what it writes commits with the row.
        seen.append(int(session.scalar(select(func.count()).select_from(AuditRow)) or 0))
        return AuditEvent("admin", "access.denied", "denied", reason="session_revoked")

    row = await writer.write(prepare)
    assert seen == [0]
    assert (row.action, row.result, row.reason) == ("access.denied", "denied", "session_revoked")

    def broken(session: Session) -> AuditEvent:
        raise LookupError("no such session")

    with pytest.raises(AuditError, match="LookupError"):
        await writer.write(broken)
    assert len(await _rows(db)) == 1


async def test_a_cancelled_caller_does_not_disturb_the_others(db: Database) -> None:
    writer = AuditWriter(db, _log())
    tasks = [asyncio.create_task(writer.write(_event(i))) for i in range(6)]
    tasks[2].cancel()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(done[2], asyncio.CancelledError)
    assert all(isinstance(r, AuditRow) for i, r in enumerate(done) if i != 2)
    async with db.read() as s:
        assert (await verify_chain(s)).ok


async def test_read_transactions_do_not_wait_for_a_writer(db: Database, is_postgres: bool) -> None:
    async with db.transaction() as w:
        await w.execute(text("UPDATE audit_head SET hash = hash WHERE id = 1"))
        # The write transaction is open and holds the write lock; a reader still gets through.
        async with asyncio.timeout(5):
            async with db.read() as r:
                assert await r.scalar(select(func.count()).select_from(ConsoleSessionRow)) == 0


async def test_sqlite_writers_of_one_process_queue_without_errors(db: Database, is_postgres: bool) -> None:
    if is_postgres:
        pytest.skip("the in-process write lock is SQLite's")

    order: list[int] = []

    async def bump(i: int) -> None:
        async with db.transaction() as s:
            await s.execute(text("UPDATE audit_head SET hash = hash WHERE id = 1"))
            order.append(i)
            await asyncio.sleep(0.005)  # hand the loop to the other writers mid-transaction

    await asyncio.wait_for(asyncio.gather(*(bump(i) for i in range(20))), 10)
    # They took the write lock first come, first served (SQLite's busy handler promises no order).
    assert order == list(range(20))
