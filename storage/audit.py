"""The tamper-evident, append-only audit log.

Each row's hash covers the previous row's hash and the row's own fields. Appends lock the single
``audit_head`` row, so concurrent writers form one correct chain. The append runs in the caller's
transaction: if it fails, the action it records fails with it (fail-closed).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import asyncpg
from sqlalchemy import Dialect, Table, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from storage.crypto.keyring import Keyring
from storage.models import AuditHeadRow, AuditRow
from storage.models.base import utcnow

GENESIS = "0" * 64
Hasher = Callable[[str], str]


class AuditError(Exception):
    """The audit log could not be written; the action must not proceed."""


@dataclass(frozen=True, slots=True)
class Sensitive:
    """An identifier that must be stored as a keyed hash, never raw."""

    value: str

    def __repr__(self) -> str:
        return "Sensitive(**)"


@dataclass(slots=True)
class AuditEvent:
    actor: str
    action: str
    result: str
    resource: str | Sensitive | None = None
    reason: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None
    trace_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


def _canonical(row: AuditRow) -> bytes:
    # Always hashed in UTC: the database hands the timestamp back in UTC whatever zone it was written in.
    ts = row.ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    payload = [
        row.seq,
        ts,
        row.actor,
        row.action,
        row.resource,
        row.source_ip,
        row.user_agent,
        row.trace_id,
        row.result,
        row.reason,
        row.details,
    ]
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def row_hash(prev: str, row: AuditRow) -> str:
    """The unkeyed (version 1) link: rows written before the chain was keyed."""
    return hashlib.sha256(prev.encode("ascii") + b"\n" + _canonical(row)).hexdigest()


class ChainKey:
    """The key of the keyed chain (version 2): each link is HMAC-SHA256 over the previous hash and
    the row. The database never holds it: it is derived from the ``chain`` data key, which is
    stored wrapped by the master key that only the broker reads."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the audit chain key must be at least 32 bytes")
        self._base = hmac.new(key, b"aegis-audit-v2\n", hashlib.sha256)
        self.checkpoint_key = hmac.new(key, b"aegis/audit-checkpoint/v1", hashlib.sha256).digest()

    @classmethod
    def of(cls, keyring: Keyring) -> ChainKey:
        """The chain key of a keyring granted the ``chain`` domain (raises KeyUnavailable if not)."""
        return cls(hmac.new(keyring.index_key("chain"), b"aegis/audit-chain/v1", hashlib.sha256).digest())

    def row_hash(self, prev: str, row: AuditRow) -> str:
        mac = self._base.copy()
        mac.update(prev.encode("ascii") + b"\n" + _canonical(row))
        return mac.hexdigest()

    def __repr__(self) -> str:
        return "ChainKey(**)"


class AuditLog:
    """Appends audit rows. ``hasher`` turns sensitive identifiers into keyed hashes; with ``key`` the
    chain is keyed (every production writer passes it)."""

    def __init__(self, hasher: Hasher, *, clock: Callable[[], datetime] = utcnow, key: ChainKey | None = None) -> None:
        self._hash = hasher
        self._clock = clock
        self._link = key.row_hash if key is not None else row_hash

    def _value(self, v: Any) -> Any:
        if isinstance(v, Sensitive):
            return "h:" + self._hash(v.value)
        if isinstance(v, Mapping):
            return {str(k): self._value(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [self._value(x) for x in v]
        return v

    async def append(self, session: AsyncSession, event: AuditEvent) -> AuditRow:
        """Append in the caller's transaction. Raises AuditError; the caller's transaction then fails."""
        return (await self.append_many(session, [event]))[0]

    async def append_many(self, session: AsyncSession, events: Sequence[AuditEvent]) -> list[AuditRow]:
        """:meth:`append_rows` in the caller's async transaction (on PostgreSQL straight on asyncpg)."""
        try:
            raw = (await session.connection()).sync_connection.connection.driver_connection  # type: ignore[union-attr]
            if isinstance(raw, asyncpg.Connection) and events:
                return await self._append_asyncpg(session, raw, events)
            return await session.run_sync(self.append_rows, events)
        except AuditError:
            raise
        except Exception as exc:
            raise AuditError(f"audit write failed: {type(exc).__name__}") from exc

    async def _append_asyncpg(
        self, session: AsyncSession, raw: asyncpg.Connection, events: Sequence[AuditEvent]
    ) -> list[AuditRow]:
        """The hot path on PostgreSQL: the head moves through SQLAlchemy (which also opens the
        session's transaction on the connection), the rows and the new hash go straight to asyncpg
        on that same connection and transaction."""
        top, prev = (await session.execute(_ADVANCE, {"n": len(events)})).one()
        if not raw.is_in_transaction():
            raise AuditError("audit write failed: no transaction")
        rows = self.chain(int(top) - len(events), str(prev), events)
        await raw.executemany(_PG_INSERT, [tuple(getattr(r, c) for c in _COLUMNS) for r in rows])
        await raw.execute(_PG_SET_HASH, rows[-1].row_hash)
        return rows

    def append_sqlite(self, conn: sqlite3.Connection, events: Sequence[AuditEvent], dialect: Dialect) -> list[AuditRow]:
        """:meth:`append_rows` on a bare stdlib connection already in a write transaction."""
        try:
            top, prev = conn.execute(_SQLITE_ADVANCE, (len(events),)).fetchone()
            rows = self.chain(int(top) - len(events), str(prev), events)
            self._insert_sqlite(conn, rows, dialect)
        except AuditError:
            raise
        except Exception as exc:
            raise AuditError(f"audit write failed: {type(exc).__name__}") from exc
        return rows

    @staticmethod
    def _insert_sqlite(conn: sqlite3.Connection, rows: Sequence[AuditRow], dialect: Dialect) -> None:
        ts = _LOG.c.ts.type.bind_processor(dialect)
        assert ts is not None
        conn.executemany(
            _SQLITE_INSERT, [tuple(ts(r.ts) if c == "ts" else getattr(r, c) for c in _COLUMNS) for r in rows]
        )
        conn.execute(_SQLITE_SET_HASH, (rows[-1].row_hash,))

    def chain(self, seq: int, prev: str, events: Sequence[AuditEvent]) -> list[AuditRow]:
        """Rows for ``events`` following the row ``seq`` whose hash is ``prev`` (not written)."""
        rows: list[AuditRow] = []
        for event in events:
            seq += 1
            row = self._row(seq, prev, event)
            prev = row.row_hash
            rows.append(row)
        return rows

    def append_rows(self, session: Session, events: Sequence[AuditEvent]) -> list[AuditRow]:
        """Append several rows in the caller's transaction, in order, with three statements on
        prebuilt Core constructs whatever their number: move the head on by ``len(events)`` (this
        locks it until the caller commits), insert the rows, set the head's hash to the last row's."""
        if not events:
            return []
        try:
            raw = _sqlite_driver(session)
            if raw is not None:
                return self.append_sqlite(raw, events, session.get_bind().dialect)
            top, prev = session.execute(_ADVANCE, {"n": len(events)}).one()
            rows = self.chain(int(top) - len(events), str(prev), events)
            session.execute(_INSERT, [{c: getattr(r, c) for c in _COLUMNS} for r in rows])
            session.execute(_SET_HASH, {"new_hash": rows[-1].row_hash})
        except AuditError:
            raise
        except Exception as exc:
            raise AuditError(f"audit write failed: {type(exc).__name__}") from exc
        return rows

    def _row(self, seq: int, prev: str, event: AuditEvent) -> AuditRow:
        details = self._value(dict(event.details)) if event.details else None
        ts = self._clock()
        if ts.tzinfo is None:
            raise AuditError("audit clock returned a naive datetime")
        row = AuditRow(
            seq=seq,
            ts=ts.astimezone(UTC),
            actor=event.actor[:128],
            action=event.action[:64],
            resource=_clip(self._value(event.resource), 256),
            source_ip=_clip(event.source_ip, 64),
            user_agent=_clip(event.user_agent, 256),
            trace_id=_clip(event.trace_id, 64),
            result=event.result[:16],
            reason=_clip(event.reason, 256),
            details=json.dumps(details, sort_keys=True, separators=(",", ":")) if details else None,
            prev_hash=prev,
        )
        row.row_hash = self._link(prev, row)
        return row


_LOG = cast(Table, AuditRow.__table__)
_HEAD = cast(Table, AuditHeadRow.__table__)
_ADVANCE = (
    _HEAD.update().where(_HEAD.c.id == 1).values(seq=_HEAD.c.seq + bindparam("n")).returning(_HEAD.c.seq, _HEAD.c.hash)
)
_COLUMNS = tuple(col.key for col in _LOG.columns)
_INSERT = _LOG.insert()
_SET_HASH = _HEAD.update().where(_HEAD.c.id == 1).values(hash=bindparam("new_hash"))


# The same three statements for the stdlib sqlite3 driver, run on the session's own connection (and
# so in its transaction) without SQLAlchemy's per-statement work: the group commit's hot path.
_SQLITE_ADVANCE = "UPDATE audit_head SET seq = seq + ? WHERE id = 1 RETURNING seq, hash"
_SQLITE_INSERT = f"INSERT INTO audit_log ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"  # noqa: S608 - the model's column names; values are bound
_SQLITE_SET_HASH = "UPDATE audit_head SET hash = ? WHERE id = 1"
_PG_INSERT = (
    f"INSERT INTO audit_log ({', '.join(_COLUMNS)}) VALUES ({', '.join(f'${i}' for i in range(1, len(_COLUMNS) + 1))})"  # noqa: S608 - the model's column names; values are bound
)
_PG_SET_HASH = "UPDATE audit_head SET hash = $1 WHERE id = 1"


def audit_columns() -> tuple[str, ...]:
    """The audit_log columns in the order every raw statement here uses."""
    return _COLUMNS


def _sqlite_driver(session: Session) -> sqlite3.Connection | None:
    """The stdlib sqlite3 connection under ``session``, if that is what it runs on (not aiosqlite)."""
    found = session.connection().connection.driver_connection
    return found if isinstance(found, sqlite3.Connection) else None


def _clip(v: Any, n: int) -> str | None:
    return None if v is None else str(v)[:n]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed record, kept outside the database, that the chain held ``seq`` rows ending in ``hash``.
    ``keyed_from`` is the first keyed row (rows from there on must all be keyed)."""

    seq: int
    hash: str
    keyed_from: int | None
    ts: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    rows: int
    first_bad_seq: int | None = None
    problem: str | None = None
    keyed_rows: int = field(default=0, compare=False)
    keyed_from: int | None = field(default=None, compare=False)
    head_hash: str = field(default=GENESIS, compare=False)
    checkpoint_seq: int | None = field(default=None, compare=False)


async def _head(session: AsyncSession) -> tuple[int, str] | None:
    # Columns, not the mapped object: a second read must not come from the session's identity map.
    q = select(AuditHeadRow.seq, AuditHeadRow.hash).where(AuditHeadRow.id == 1)
    r = (await session.execute(q)).first()
    return None if r is None else (int(r[0]), str(r[1]))


async def verify_chain(
    session: AsyncSession,
    *,
    key: ChainKey | None = None,
    checkpoint: Checkpoint | None = None,
    resume: bool = False,
    batch: int = 5000,
) -> ChainReport:
    """Walk the chain from the start up to the head; report the first broken link.

    The head is read first and only rows up to it are walked, so rows that other writers commit
    while the walk runs (PostgreSQL, READ COMMITTED) are left for the next run instead of being
    mistaken for tampering. Every committed state has ``max(seq) == head.seq``; a row beyond the
    head is therefore forged.

    A row links either with ``key`` (keyed) or without (rows from before the chain was keyed); once
    a keyed row is seen, or from the checkpoint's ``keyed_from`` on, every row must be keyed. With a
    ``checkpoint`` the chain must reach it and its row must carry its hash: otherwise the tail was
    truncated or the history rewritten. ``resume`` starts the walk at the checkpoint (its row is
    still checked) instead of at the first row.
    """
    head = await _head(session)
    if head is None:
        return ChainReport(False, 0, None, "the chain head row is missing")
    top, top_hash = head
    prev, last, keyed_from, keyed = GENESIS, 0, None, 0
    if checkpoint is not None:
        keyed_from = checkpoint.keyed_from
        anchor = await session.scalar(select(AuditRow.row_hash).where(AuditRow.seq == checkpoint.seq))
        if checkpoint.seq > 0 and (top < checkpoint.seq or anchor is None):
            return ChainReport(
                False, min(top, checkpoint.seq), top + 1, f"truncated: the checkpoint covers {checkpoint.seq} rows"
            )
        if checkpoint.seq > 0 and anchor != checkpoint.hash:
            return ChainReport(
                False, 0, checkpoint.seq, "history rewritten: the row differs from the signed checkpoint"
            )
        if resume:
            prev, last = checkpoint.hash, checkpoint.seq
    expected, count = last + 1, last
    while True:
        rows = (
            await session.scalars(
                select(AuditRow)
                .where(AuditRow.seq > last, AuditRow.seq <= top)
                .order_by(AuditRow.seq)
                .limit(batch)
                .execution_options(populate_existing=True)
            )
        ).all()
        for row in rows:
            if row.seq != expected:
                return ChainReport(False, count, expected, f"row {expected} is missing")
            if row.prev_hash != prev:
                return ChainReport(False, count, row.seq, "prev_hash does not match the previous row")
            if key is not None and key.row_hash(prev, row) == row.row_hash:
                keyed += 1
                keyed_from = row.seq if keyed_from is None else keyed_from
            elif row_hash(prev, row) != row.row_hash:
                hint = "" if key is not None else " (or it is keyed and no chain key was given)"
                return ChainReport(False, count, row.seq, "row contents do not match its hash" + hint)
            elif keyed_from is not None and row.seq >= keyed_from:
                return ChainReport(False, count, row.seq, "history rewritten: an unkeyed row where the chain is keyed")
            prev, expected, count, last = row.row_hash, expected + 1, count + 1, row.seq
        if len(rows) < batch:
            break
    if count != top:
        return ChainReport(False, count, count + 1, "rows after the last one were removed (head mismatch)")
    if prev != top_hash:
        return ChainReport(False, count, top, "the last row does not match the chain head")
    highest = await session.scalar(select(func.max(AuditRow.seq)))
    now = await _head(session)
    if highest is not None and (now is None or highest > now[0]):
        return ChainReport(False, count, top + 1, "rows beyond the chain head were inserted")
    cp_seq = checkpoint.seq if checkpoint is not None else None
    return ChainReport(True, count, keyed_rows=keyed, keyed_from=keyed_from, head_hash=prev, checkpoint_seq=cp_seq)


async def query(
    session: AsyncSession,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
    action: str | None = None,
    result: str | None = None,
    trace_id: str | None = None,
    before_seq: int | None = None,
    limit: int = 100,
) -> list[AuditRow]:
    """Newest first; page with ``before_seq`` (the last seq of the previous page)."""
    q = select(AuditRow).order_by(AuditRow.seq.desc()).limit(min(max(limit, 1), 1000))
    for col, val in (
        (AuditRow.actor, actor),
        (AuditRow.action, action),
        (AuditRow.result, result),
        (AuditRow.trace_id, trace_id),
    ):
        if val is not None:
            q = q.where(col == val)
    if since is not None:
        q = q.where(AuditRow.ts >= since)
    if until is not None:
        q = q.where(AuditRow.ts < until)
    if before_seq is not None:
        q = q.where(AuditRow.seq < before_seq)
    return list((await session.scalars(q)).all())


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(AuditRow)) or 0)
