"""Storage helpers shared by the servers: portable upserts and encrypted JSON/text fields."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import AuditEvent, AuditLog
from storage.crypto.columns import EncryptedColumn
from storage.crypto.field import FieldCipher, FieldContext
from storage.db import Database
from storage.models.base import utcnow


def table_of(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


async def upsert(session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]], key: str) -> None:
    """Insert ``rows``, or update every non-key column of a row whose ``key`` already exists.

    ``INSERT ... ON CONFLICT DO UPDATE`` on both SQLite and PostgreSQL: a re-run stores no duplicates.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table)
    columns = [c for c in rows[0] if c != key]
    stmt = stmt.on_conflict_do_update(index_elements=[key], set_={c: stmt.excluded[c] for c in columns})
    await session.execute(stmt, [dict(r) for r in rows])


class Sealer:
    """Encrypts and decrypts one table's columns, each bound to its own context (table, column, row
    id): the context a data-key rotation rewraps it under. One sealer per table, so two tables with a
    column of the same name never share a context."""

    def __init__(self, cipher: FieldCipher, columns: Sequence[EncryptedColumn], *, table: str) -> None:
        self._cipher = cipher
        self._cols = {c.column: c for c in columns if c.table == table}
        if not self._cols:
            raise ValueError(f"no encrypted columns are declared for table {table!r}")

    def _ctx(self, column: str, row_id: str) -> tuple[str, FieldContext]:
        spec = self._cols[column]
        return spec.domain, FieldContext(spec.table, spec.column, row_id)

    def seal(self, column: str, row_id: str, text: str) -> bytes:
        domain, ctx = self._ctx(column, row_id)
        return self._cipher.encrypt_text(domain, ctx, text)

    def seal_opt(self, column: str, row_id: str, text: str | None) -> bytes | None:
        return None if text is None else self.seal(column, row_id, text)

    def seal_json(self, column: str, row_id: str, value: Any) -> bytes:
        return self.seal(column, row_id, json.dumps(value, separators=(",", ":"), sort_keys=True, default=str))

    def open(self, column: str, row_id: str, blob: bytes) -> str:
        domain, ctx = self._ctx(column, row_id)
        return self._cipher.decrypt_text(domain, ctx, bytes(blob))

    def open_opt(self, column: str, row_id: str, blob: bytes | None) -> str | None:
        return None if blob is None else self.open(column, row_id, blob)

    def open_json(self, column: str, row_id: str, blob: bytes) -> Any:
        return json.loads(self.open(column, row_id, blob))


M = TypeVar("M", bound=BaseModel)


class OwnerSettings(Generic[M]):
    """The owner's settings for one integration: a single encrypted JSON document in a table with
    ``id``, ``body`` and ``updated_at`` columns, saved with its audit row in one transaction."""

    OWNER = "owner"

    def __init__(self, db: Database, audit: AuditLog, sealer: Sealer, row: type[Any], model: type[M]) -> None:
        self._db, self._audit, self._sealer, self._row, self._model = db, audit, sealer, row, model

    async def get(self) -> M:
        async with self._db.transaction() as s:
            row = await s.get(self._row, self.OWNER)
        if row is None:
            return self._model()
        return self._model.model_validate(self._sealer.open_json("body", self.OWNER, row.body))

    async def save(self, settings: M, event: AuditEvent) -> None:
        body = self._sealer.seal_json("body", self.OWNER, settings.model_dump(mode="json"))
        async with self._db.transaction() as s:
            await upsert(s, table_of(self._row), [{"id": self.OWNER, "body": body, "updated_at": utcnow()}], "id")
            await self._audit.append(s, event)
