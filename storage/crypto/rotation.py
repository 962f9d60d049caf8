"""Domain-key rotation with a resumable background rewrap.

1. :func:`start_rotation` makes a new active key version (old versions become decrypt-only) and
   records a rotation row, in one transaction.
2. :func:`run_rotation` re-encrypts every value of the domain's columns in small batches. Each batch
   commits its rows together with the cursor, so a crash loses at most one uncommitted batch and the
   run resumes from the cursor. Every row stays readable throughout: old versions still decrypt.
3. A final pass re-checks every row (catching writers that used a stale keyring), then retires the
   old versions in the same transaction.
4. A writer that was already mid-write when the old versions were retired (an MCP server's sync
   started before the rotation) can still seal a value under a retired version.
   :func:`sweep_late_writes` re-encrypts those under the active version; the broker runs it a while
   after each rotation and at every start.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto.columns import EncryptedColumn
from storage.crypto.errors import KeyUnavailable
from storage.crypto.field import FieldCipher, kid_of
from storage.crypto.keystore import add_version, load_keyring, retire_older
from storage.crypto.master import KeyEncryptionKey
from storage.db import Database
from storage.models import Base, KeyRotationRow
from storage.models.base import utcnow

Progress = Callable[[int], None]


async def start_rotation(db: Database, kek: KeyEncryptionKey, domain: str) -> int:
    async with db.transaction() as session:
        running = await session.scalar(
            select(KeyRotationRow).where(KeyRotationRow.domain == domain, KeyRotationRow.state == "running")
        )
        if running is not None:
            return running.id
        kid = await add_version(session, kek, domain)
        row = KeyRotationRow(domain=domain, target_kid=kid, state="running", column_index=0, rows_done=0)
        session.add(row)
        await session.flush()
        return row.id


async def pending_rotations(db: Database) -> list[int]:
    async with db.transaction() as session:
        return list((await session.scalars(select(KeyRotationRow.id).where(KeyRotationRow.state == "running"))).all())


async def count_rows(db: Database, columns: Sequence[EncryptedColumn]) -> int:
    total = 0
    async with db.transaction() as session:
        for spec in columns:
            table = _table(spec)
            total += (
                await session.scalar(select(func.count()).select_from(table).where(table.c[spec.column].is_not(None)))
                or 0
            )
    return total


async def run_rotation(
    db: Database,
    kek: KeyEncryptionKey,
    rotation_id: int,
    columns: Sequence[EncryptedColumn],
    *,
    batch_size: int = 200,
    progress: Progress | None = None,
) -> int:
    """Rewrap until done. Returns the number of values re-encrypted by this call."""
    async with db.transaction() as session:
        rot = await session.get(KeyRotationRow, rotation_id)
        if rot is None:
            raise ValueError(f"no key rotation {rotation_id}")
        if rot.state == "done":
            return 0
        cipher = FieldCipher(await load_keyring(session, kek))
        domain, target = rot.domain, rot.target_kid
    specs = [c for c in columns if c.domain == domain]
    done = 0
    while True:
        async with db.transaction() as session:
            rot = await session.get(KeyRotationRow, rotation_id, with_for_update=True)
            assert rot is not None
            if rot.column_index >= len(specs):
                done += await _final_pass(session, cipher, specs, target)
                await retire_older(session, domain, target)
                rot.state, rot.finished_at = "done", utcnow()
                return done
            spec = specs[rot.column_index]
            rows = await _batch(session, spec, rot.cursor, batch_size)
            changed = await _rewrap_rows(session, cipher, spec, rows, target)
            if len(rows) < batch_size:
                rot.column_index, rot.cursor = rot.column_index + 1, None
            else:
                rot.cursor = str(rows[-1][spec.pk])
            rot.rows_done += len(rows)
            done += changed
        if progress is not None:
            progress(len(rows))


def _table(spec: EncryptedColumn) -> Table:
    return Base.metadata.tables[spec.table]


def cursor_value(kind: type[Any], cursor: str) -> Any:
    """The stored cursor (the last key rewrapped, as text) back as the key column's own type."""
    if issubclass(kind, date):  # datetime too
        return kind.fromisoformat(cursor)
    return kind(cursor)


async def _batch(session: AsyncSession, spec: EncryptedColumn, cursor: str | None, n: int) -> list[Any]:
    table = _table(spec)
    pk = table.c[spec.pk]
    cols = [pk, table.c[spec.column]]
    if spec.owner:
        cols.append(table.c[spec.owner])
    q = select(*cols).order_by(pk).limit(n)
    if cursor is not None:
        q = q.where(pk > cursor_value(pk.type.python_type, cursor))
    return [r._mapping for r in (await session.execute(q)).all()]


async def _rewrap_rows(
    session: AsyncSession, cipher: FieldCipher, spec: EncryptedColumn, rows: Sequence[Any], target: str
) -> int:
    table = _table(spec)
    changed = 0
    for row in rows:
        blob = row[spec.column]
        if blob is None or kid_of(blob) == target:
            continue
        ctx = spec.context(dict(row))
        plain = cipher.decrypt(spec.domain, ctx, blob)
        new = cipher.encrypt(spec.domain, ctx, plain)
        if kid_of(new) != target:
            raise KeyUnavailable(f"keyring does not hold the rotation target {target}")
        await session.execute(update(table).where(table.c[spec.pk] == row[spec.pk]).values({spec.column: new}))
        changed += 1
    return changed


async def _final_pass(
    session: AsyncSession, cipher: FieldCipher, specs: Sequence[EncryptedColumn], target: str, batch: int = 1000
) -> int:
    """Re-check every row in the rotation's last transaction, in batches."""
    changed = 0
    for spec in specs:
        cursor: str | None = None
        while True:
            rows = await _batch(session, spec, cursor, batch)
            changed += await _rewrap_rows(session, cipher, spec, rows, target)
            if len(rows) < batch:
                break
            cursor = str(rows[-1][spec.pk])
    return changed


async def sweep_late_writes(
    db: Database, kek: KeyEncryptionKey, columns: Sequence[EncryptedColumn], *, now: datetime, within: timedelta
) -> int:
    """Re-encrypt under the active version every value sealed with a retired one, in the domains
    whose rotation finished within ``within`` of ``now``. Returns the number of values changed."""
    async with db.transaction() as session:
        finished = await session.scalars(
            select(KeyRotationRow).where(KeyRotationRow.state == "done", KeyRotationRow.finished_at.is_not(None))
        )
        domains = {r.domain for r in finished if r.finished_at is not None and _aware(r.finished_at) >= now - within}
        if not domains:
            return 0
        keyring = await load_keyring(session, kek, open_retired=True)
        cipher = FieldCipher(keyring)
        changed = 0
        for domain in sorted(domains):
            specs = [c for c in columns if c.domain == domain]
            changed += await _final_pass(session, cipher, specs, keyring.active_kid(domain))
        return changed


def _aware(t: datetime) -> datetime:
    """SQLite hands back naive datetimes; the columns hold UTC."""
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)
