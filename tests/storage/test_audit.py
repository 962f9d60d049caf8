"""The audit log: hash chain, tamper detection, append-only triggers, fail-closed writes, queries."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import bindparam, event, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from typer.testing import CliRunner

from aegis.cli import app
from aegis.commands import audit as audit_command
from storage.audit import (
    GENESIS,
    AuditError,
    AuditEvent,
    AuditLog,
    ChainKey,
    ChainReport,
    Sensitive,
    query,
    row_hash,
    verify_chain,
)
from storage.audit_checkpoint import FILE_NAME, Checkpointer, CheckpointFile, CheckpointPublicKey
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from storage.models import AuditHeadRow, AuditRow, DataKeyRow
from storage.models.base import UTCDateTime

pytestmark = pytest.mark.anyio

KEYRING = Keyring([DataKey("audit.idx.v1", os.urandom(32), ACTIVE)])


def hasher(value: str) -> str:
    return KEYRING.blind_index("audit", value)


def _event(i: int, **kw: Any) -> AuditEvent:
    details = {"n": i, "tags": ["a", "ü"]}
    ev = AuditEvent(f"user-{i}", "mail.read", "ok", f"msg-{i}", None, "127.0.0.1", "ua", f"trace-{i}", details)
    return dataclasses.replace(ev, **kw)


async def _append(db: Database, log: AuditLog, n: int) -> None:
    for i in range(1, n + 1):
        async with db.transaction() as s:
            await log.append(s, _event(i))


async def _verify(db: Database) -> ChainReport:
    async with db.transaction() as s:
        return await verify_chain(s)


async def _rows(db: Database) -> list[AuditRow]:
    async with db.transaction() as s:
        return list((await s.scalars(select(AuditRow).order_by(AuditRow.seq))).all())


async def _as_superuser(db: Database, *statements: Any) -> None:
    """What an attacker with database superuser rights can do: switch the triggers off, then write."""
    async with db.transaction() as s:
        if db.is_sqlite:
            await s.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            await s.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        else:
            await s.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        for stmt in statements:
            await s.execute(text(stmt) if isinstance(stmt, str) else stmt)
        if not db.is_sqlite:
            await s.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))


async def test_appended_rows_chain_from_genesis_to_the_head(db: Database) -> None:
    log = AuditLog(hasher)
    assert await _verify(db) == ChainReport(True, 0)
    await _append(db, log, 5)
    async with db.transaction() as s:
        await log.append(s, _event(6, actor="x" * 300, reason="because"))

    rows = await _rows(db)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5, 6]
    prev = GENESIS
    for r in rows:
        assert r.prev_hash == prev
        assert r.row_hash == row_hash(prev, r)
        prev = r.row_hash
    assert rows[5].actor == "x" * 128
    assert json.loads(rows[0].details or "") == {"n": 1, "tags": ["a", "ü"]}
    async with db.transaction() as s:
        head = await s.get(AuditHeadRow, 1)
    assert head is not None
    assert (head.seq, head.hash) == (6, rows[-1].row_hash)
    assert await _verify(db) == ChainReport(True, 6)


async def test_the_clock_is_stored_in_utc_and_a_naive_one_is_refused(db: Database) -> None:
    plus2 = timezone(timedelta(hours=2))
    async with db.transaction() as s:
        clock = lambda: datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=plus2)  # noqa: E731
        await AuditLog(hasher, clock=clock).append(s, _event(1))
    with pytest.raises(AuditError):
        async with db.transaction() as s:
            naive = lambda: datetime(2025, 3, 1)  # noqa: DTZ001, E731
            await AuditLog(hasher, clock=naive).append(s, _event(2))
    (row,) = await _rows(db)
    assert row.ts == datetime(2025, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert await _verify(db) == ChainReport(True, 1)


_NEW_TS = text("UPDATE audit_log SET ts = :ts WHERE seq = 2").bindparams(
    bindparam("ts", datetime(2020, 1, 1, tzinfo=UTC), type_=UTCDateTime())
)
TAMPERING: dict[str, tuple[tuple[Any, ...], int, str, int]] = {
    "actor": (("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3",), 3, "contents", 2),
    "result": (("UPDATE audit_log SET result = 'denied' WHERE seq = 4",), 4, "contents", 3),
    "details": (("UPDATE audit_log SET details = '{\"n\": 99}' WHERE seq = 2",), 2, "contents", 1),
    "resource": (("UPDATE audit_log SET resource = NULL WHERE seq = 6",), 6, "contents", 5),
    "ts": ((_NEW_TS,), 2, "contents", 1),
    "prev_hash": ((f"UPDATE audit_log SET prev_hash = '{GENESIS}' WHERE seq = 4",), 4, "prev_hash", 3),
    "prev_hash_copied": (
        ("UPDATE audit_log SET prev_hash = (SELECT row_hash FROM audit_log WHERE seq = 1) WHERE seq = 5",),
        5,
        "prev_hash",
        4,
    ),
    "delete_middle": (("DELETE FROM audit_log WHERE seq = 3",), 3, "missing", 2),
    "delete_first": (("DELETE FROM audit_log WHERE seq = 1",), 1, "missing", 0),
    "delete_tail": (("DELETE FROM audit_log WHERE seq >= 5",), 5, "removed", 4),
    "delete_all": (("DELETE FROM audit_log",), 1, "removed", 0),
    "several": (
        (
            "UPDATE audit_log SET actor = 'a' WHERE seq = 5",
            "UPDATE audit_log SET actor = 'b' WHERE seq = 2",
            "DELETE FROM audit_log WHERE seq = 4",
        ),
        2,
        "contents",
        1,
    ),
}


@pytest.mark.parametrize("case", list(TAMPERING))
async def test_tampering_is_detected_at_the_first_broken_link(db: Database, case: str) -> None:
    statements, bad_seq, problem, good_rows = TAMPERING[case]
    await _append(db, AuditLog(hasher), 6)
    assert (await _verify(db)).ok
    await _as_superuser(db, *statements)
    report = await _verify(db)
    assert not report.ok
    assert report.first_bad_seq == bad_seq
    assert problem in (report.problem or "")
    assert report.rows == good_rows


@pytest.mark.parametrize(("seq", "bad_seq", "problem"), [(3, 4, "prev_hash"), (6, 6, "chain head")])
async def test_a_rehashed_row_breaks_the_next_link(db: Database, seq: int, bad_seq: int, problem: str) -> None:
    """Rewriting a row together with its own hash is caught by the next row (or by the head)."""
    await _append(db, AuditLog(hasher), 6)
    row = (await _rows(db))[seq - 1]
    row.actor = "mallory"
    forged = row_hash(row.prev_hash, row)
    await _as_superuser(db, f"UPDATE audit_log SET actor = 'mallory', row_hash = '{forged}' WHERE seq = {seq}")
    report = await _verify(db)
    assert (report.ok, report.first_bad_seq) == (False, bad_seq)
    assert problem in (report.problem or "")


async def test_a_row_forged_beyond_the_head_is_detected(db: Database) -> None:
    """INSERT is allowed, so a forged row past the head needs no trigger bypass; verify catches it."""
    await _append(db, AuditLog(hasher), 3)
    last = (await _rows(db))[-1]
    fake = AuditRow(seq=4, ts=last.ts, actor="m", action="a", result="ok", prev_hash=last.row_hash)
    fake.row_hash = row_hash(last.row_hash, fake)
    async with db.transaction() as s:
        s.add(fake)
    report = await _verify(db)
    assert (report.ok, report.first_bad_seq, report.rows) == (False, 4, 3)
    assert "beyond" in (report.problem or "")


async def test_the_application_cannot_update_or_delete_audit_rows(db: Database) -> None:
    await _append(db, AuditLog(hasher), 3)
    before = [(r.seq, r.actor, r.row_hash) for r in await _rows(db)]
    statements = [
        "UPDATE audit_log SET actor = 'mallory' WHERE seq = 2",
        "UPDATE audit_log SET row_hash = prev_hash",
        "DELETE FROM audit_log WHERE seq = 3",
        "DELETE FROM audit_log",
    ]
    if not db.is_sqlite:
        statements.append("TRUNCATE audit_log")
    for sql in statements:
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.transaction() as s:
                await s.execute(text(sql))
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.transaction() as s:
            row = await s.get(AuditRow, 1)
            assert row is not None
            row.result = "denied"
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.transaction() as s:
            await s.delete(await s.get(AuditRow, 1))
    assert [(r.seq, r.actor, r.row_hash) for r in await _rows(db)] == before
    assert await _verify(db) == ChainReport(True, 3)


def _action_row(kid: str) -> DataKeyRow:
    return DataKeyRow(kid=kid, domain="mail", purpose="enc", version=int(kid[-1]), state="active", kek_id="mk-t")


@pytest.mark.parametrize("failure", ["unserializable_details", "head_update_raises"])
async def test_the_action_fails_when_its_audit_append_fails(db: Database, failure: str) -> None:
    log = AuditLog(hasher)
    async with db.transaction() as s:  # the same action with a working audit write is persisted
        s.add(_action_row("mail.enc.v1"))
        await s.flush()
        await log.append(s, _event(1, action="keys.create"))

    event_ = _event(2, action="keys.create")
    if failure == "unserializable_details":
        event_.details = {"when": object()}

    def refuse(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if failure == "head_update_raises" and statement.lstrip().upper().startswith("UPDATE AUDIT_HEAD"):
            raise RuntimeError("disk full")

    event.listen(db.engine.sync_engine, "before_cursor_execute", refuse)
    try:
        with pytest.raises(AuditError, match="audit write failed"):
            async with db.transaction() as s:
                s.add(_action_row("mail.enc.v2"))
                await s.flush()
                assert await s.get(DataKeyRow, "mail.enc.v2") is not None
                await log.append(s, event_)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", refuse)

    async with db.transaction() as s:
        kids = (await s.scalars(select(DataKeyRow.kid))).all()
        head = await s.get(AuditHeadRow, 1)
    assert list(kids) == ["mail.enc.v1"]
    assert head is not None and head.seq == 1
    assert await _verify(db) == ChainReport(True, 1)


async def test_sensitive_identifiers_are_stored_only_as_keyed_hashes(db: Database) -> None:
    raw = "alice@example.com"
    ev = _event(
        1,
        resource=Sensitive(raw),
        details={"to": Sensitive(raw), "nested": {"cc": [Sensitive(raw), "plain"]}, "count": 2},
    )
    assert raw not in repr(ev)
    async with db.transaction() as s:
        await AuditLog(hasher).append(s, ev)
    async with db.transaction() as s:
        stored = (await s.execute(text("SELECT * FROM audit_log"))).one()

    expected = "h:" + hasher(raw)
    assert expected != "h:" + hashlib.sha256(raw.encode()).hexdigest()[:40]
    assert stored._mapping["resource"] == expected
    details = json.loads(stored._mapping["details"])
    assert details == {"to": expected, "nested": {"cc": [expected, "plain"]}, "count": 2}
    for value in stored:
        assert raw not in str(value)
    other = Keyring([DataKey("audit.idx.v1", os.urandom(32), ACTIVE)])
    assert other.blind_index("audit", raw) != hasher(raw)  # keyed: another key gives another hash
    assert await _verify(db) == ChainReport(True, 1)


async def test_concurrent_writers_form_one_contiguous_chain(db: Database) -> None:
    log = AuditLog(hasher)
    writers, per_writer = 8, 5

    async def writer(w: int) -> None:
        if w % 2:  # some writers append all their rows in one transaction, others one per transaction
            async with db.transaction() as s:
                for i in range(per_writer):
                    await log.append(s, _event(i, actor=f"writer-{w}"))
        else:
            for i in range(per_writer):
                async with db.transaction() as s:
                    await log.append(s, _event(i, actor=f"writer-{w}"))

    await asyncio.gather(*(writer(w) for w in range(writers)))
    rows = await _rows(db)
    total = writers * per_writer
    assert [r.seq for r in rows] == list(range(1, total + 1))
    for w in range(writers):
        mine = [r for r in rows if r.actor == f"writer-{w}"]
        assert [json.loads(r.details or "")["n"] for r in mine] == list(range(per_writer))
        if w % 2:  # a single transaction holds the head, so its rows are adjacent
            assert mine[-1].seq - mine[0].seq == per_writer - 1
    assert await _verify(db) == ChainReport(True, total)


class _Interleaved:
    """A verifying session after each of whose statements another writer commits an append."""

    def __init__(self, inner: AsyncSession, write: Callable[[], Awaitable[None]]) -> None:
        self._inner, self._write = inner, write

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)

        async def call(*a: Any, **k: Any) -> Any:
            out = await method(*a, **k)
            await self._write()
            return out

        return call


async def test_appends_during_a_verification_are_not_reported_as_tampering(db: Database, db_url: str) -> None:
    log = AuditLog(hasher)
    await _append(db, log, 3)
    written = 0

    async def write() -> None:
        nonlocal written
        written += 1
        async with db.transaction() as s:
            await log.append(s, _event(100 + written))

    # SQLite: a plain engine (no BEGIN IMMEDIATE) reads without blocking the writer, like PostgreSQL does.
    engine = create_async_engine(db_url) if db.is_sqlite else db.engine
    try:
        async with AsyncSession(engine) as reader:
            report = await verify_chain(cast(AsyncSession, _Interleaved(reader, write)), batch=2)
            await reader.rollback()
    finally:
        if db.is_sqlite:
            await engine.dispose()
    assert written >= 3
    assert report.ok and report.rows >= 3
    assert await _verify(db) == ChainReport(True, 3 + written)


async def test_query_filters_newest_first_and_pages(db: Database) -> None:
    base = datetime(2025, 1, 1, tzinfo=UTC)
    stamps = iter(base + timedelta(minutes=i) for i in range(10))
    log = AuditLog(hasher, clock=lambda: next(stamps))
    for i in range(10):  # seq = i + 1
        ev = _event(
            i,
            actor="alice" if i % 2 == 0 else "bob",
            action="mail.read" if i < 5 else "mail.send",
            result="denied" if i in (3, 7) else "ok",
            trace_id=f"t{i // 4}",
        )
        async with db.transaction() as s:
            await log.append(s, ev)

    async def seqs(**kw: Any) -> list[int]:
        async with db.transaction() as s:
            return [r.seq for r in await query(s, **kw)]

    assert await seqs() == list(range(10, 0, -1))
    assert await seqs(actor="alice") == [9, 7, 5, 3, 1]
    assert await seqs(action="mail.send", result="denied") == [8]
    assert await seqs(result="denied") == [8, 4]
    assert await seqs(trace_id="t1") == [8, 7, 6, 5]
    assert await seqs(since=base + timedelta(minutes=2), until=base + timedelta(minutes=5)) == [5, 4, 3]
    assert await seqs(since=base + timedelta(minutes=8)) == [10, 9]
    assert await seqs(actor="nobody") == []
    assert await seqs(limit=4) == [10, 9, 8, 7]
    assert await seqs(limit=4, before_seq=7) == [6, 5, 4, 3]
    assert await seqs(limit=4, before_seq=3) == [2, 1]
    assert await seqs(limit=4, before_seq=1) == []
    assert await seqs(actor="bob", before_seq=6) == [4, 2]


def test_cli_verify_exits_nonzero_on_a_broken_chain(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AEGIS_DATABASE_URL", db_url)
    monkeypatch.setenv("AEGIS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("AEGIS_MODE", raising=False)
    root = logging.getLogger()  # build_context replaces the root log handlers and sets the umask
    monkeypatch.setattr(root, "handlers", root.handlers[:])
    monkeypatch.setattr(root, "level", root.level)
    key = ChainKey(os.urandom(32))  # what the broker grants the console (the grant is tested in tests/broker)

    async def granted(_ctx: object) -> ChainKey:
        return key

    monkeypatch.setattr(audit_command, "chain_key", granted)

    async def run(fn: Callable[[Database], Awaitable[object]]) -> None:
        database = Database(db_url)
        try:
            await fn(database)
        finally:
            await database.dispose()

    umask = os.umask(0o077)
    try:
        asyncio.run(run(lambda d: _append(d, AuditLog(hasher), 2)))  # from before the chain was keyed
        asyncio.run(run(lambda d: _append(d, AuditLog(hasher, key=key), 2)))
        ok = CliRunner().invoke(app, ["audit", "verify"])
        asyncio.run(run(lambda d: Checkpointer(d, key, CheckpointFile(tmp_path / FILE_NAME, key)).checkpoint()))
        anchored = CliRunner().invoke(app, ["audit", "verify"])
        pub = tmp_path / "owner-copy.pub"
        pub.write_text((tmp_path / "audit-checkpoints.pub").read_text())
        pinned = CliRunner().invoke(app, ["audit", "verify", "--public-key", str(pub)])
        pub.write_text(CheckpointPublicKey.of(ChainKey(os.urandom(32))).text)
        wrong = CliRunner().invoke(app, ["audit", "verify", "--public-key", str(pub)])
        asyncio.run(run(lambda d: _as_superuser(d, "UPDATE audit_log SET reason = 'x' WHERE seq = 3")))
        broken = CliRunner().invoke(app, ["audit", "verify"])
    finally:
        os.umask(umask)
    assert ok.exit_code == 0, ok.output
    assert "audit chain intact: 4 rows (2 keyed, 2 from before the chain was keyed); no checkpoint" in ok.output
    assert anchored.exit_code == 0, anchored.output
    assert "matches the signed checkpoint of row 4" in anchored.output
    assert pinned.exit_code == 0 and "matches the signed checkpoint of row 4" in pinned.output, pinned.output
    assert wrong.exit_code == 1 and "checkpoints BROKEN" in wrong.output, wrong.output
    assert broken.exit_code == 1, broken.output
    assert "BROKEN at row 3" in broken.output
    assert "2 rows verified" in broken.output


def test_cli_verify_says_when_it_cannot_get_the_chain_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the broker there is no chain key: exit 2 (cannot check), never a false "intact"."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AEGIS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AEGIS_BROKER_URL", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("AEGIS_MODE", raising=False)
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", root.handlers[:])
    monkeypatch.setattr(root, "level", root.level)
    (tmp_path / "keys").mkdir(mode=0o700)
    key = tmp_path / "keys" / "console.key"
    key.write_text("aegis_k_0123456789abcdef_" + "x" * 43 + "\n")
    key.chmod(0o600)
    umask = os.umask(0o077)
    try:
        result = CliRunner().invoke(app, ["audit", "verify"])
    finally:
        os.umask(umask)
    assert result.exit_code == 2, result.output
    assert "cannot get the audit chain key from the broker" in result.output
    assert "intact" not in result.output
